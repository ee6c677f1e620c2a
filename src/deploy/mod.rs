//! `chatctl launch`: build, upload, deploy, sync the site, invalidate, and
//! print the URLs, idempotently: a second launch with nothing changed makes
//! no AWS write at all.

mod apply;
pub mod artifacts;
pub mod changeset;
pub mod checkpoint;
pub mod code;
pub mod dns;
pub mod edge;
mod existing;
pub mod indexes;
pub mod invalidation;
pub mod origin;
pub mod poll;
mod publish;
pub mod retained;
pub mod stack;
pub mod status;
pub mod teardown;
pub mod vapid;

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::{Parameter, StackStatus};

use crate::aws::{Aws, Identity};
use crate::build;
use crate::config::Project;
use crate::error::{Error, Result};
use crate::handlers;
use crate::site::{self, SyncReport};
use crate::template::{self, Template};
use crate::ui::Ui;
use apply::apply;
use checkpoint::Stage;
pub use dns::{dns_records, DnsRecord};
use existing::{deployed_matches, deployed_template, prepare_stack};
pub use publish::{publish_site, site_config};

#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    pub preview: bool,
    pub allow_replace: bool,
    pub wait: bool,
    /// How a browser reaches the stack: `config.json` and the outputs use it.
    pub browser: crate::local::Browser,
    /// Where the launch is, for an interruption to report and clean up.
    pub checkpoint: checkpoint::Checkpoint,
}

/// What a launch did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LaunchResult {
    pub stack: String,
    pub uploaded_zips: Vec<String>,
    pub changes: Vec<changeset::Change>,
    pub stack_updated: bool,
    pub site: SyncReport,
    pub invalidated: Vec<String>,
    pub outputs: BTreeMap<String, String>,
    pub preview_only: bool,
    /// Tables kept by an earlier delete and imported into this stack.
    pub reattached_tables: Vec<String>,
    /// With `domain.name`: the DNS records that point it at the distribution.
    pub dns_records: Vec<DnsRecord>,
}

impl LaunchResult {
    /// Nothing was written anywhere.
    pub fn up_to_date(&self) -> bool {
        self.uploaded_zips.is_empty()
            && !self.stack_updated
            && self.site.uploaded.is_empty()
            && self.site.deleted.is_empty()
            && self.invalidated.is_empty()
    }
}

pub async fn launch(
    project: &Project,
    aws: &Aws,
    ui: &Ui,
    options: &LaunchOptions,
) -> Result<LaunchResult> {
    // Bad input is reported before anything is built or deployed.
    site::check(&project.site_dir())?;
    handlers::discover(&project.handlers_dir())?;
    let identity = aws.identity().await?;
    let stack_name = project.stack_name();
    ui.info(format!(
        "launching {stack_name} in account {} ({})",
        identity.account, identity.region
    ));

    let checkpoint = &options.checkpoint;
    let architecture = project.config.architecture;
    checkpoint.set(Stage::Building);
    let built = tokio::task::block_in_place(|| build::build(project, &[], architecture, ui))?;
    let crates = handlers::discover(&project.handlers_dir())?;

    checkpoint.set(Stage::UploadingCode);
    let s3 = aws.s3();
    let bucket = artifacts::bucket_name(&identity, &stack_name);
    if artifacts::ensure_bucket(&s3, &bucket, &identity).await? {
        ui.info(format!("created the artifact bucket {bucket}"));
    }
    let mut result = LaunchResult {
        stack: stack_name.clone(),
        ..LaunchResult::default()
    };
    let mut parameters = vec![parameter("ArtifactBucket", &bucket)];
    for handler in &crates {
        let zip = built.manifest.handlers.get(&handler.name).ok_or_else(|| {
            Error::failed(format!("the build produced no zip for {}", handler.name))
        })?;
        let key = zip.artifact_key(&handler.name);
        if !artifacts::object_exists(&s3, &bucket, &key).await? {
            let body = std::fs::read(&zip.zip).map_err(|e| Error::read(&zip.zip, e))?;
            artifacts::upload(&s3, &bucket, &key, body).await?;
            ui.info(format!("uploaded {} ({} bytes)", key, zip.size));
            result.uploaded_zips.push(key.clone());
        }
        parameters.push(parameter(&Template::code_key_parameter(handler), &key));
    }

    // Under --local the hosted UI sends people back to the site proxy.
    if let (Some(_), crate::local::Browser::Local(local)) = (&project.config.auth, &options.browser)
    {
        parameters.push(parameter(
            template::auth::SITE_URL_PARAMETER,
            &format!("http://127.0.0.1:{}", local.site_port),
        ));
    }
    let template = template::generate(project, &crates)?;
    let cfn = aws.cloudformation();
    let edge_aws = aws.in_region(edge::REGION);
    if project.config.protection.waf {
        let base = Target {
            aws,
            project,
            cfn: &cfn,
            stack_name: &stack_name,
            template: &template,
            parameters: &[],
            bucket: &bucket,
            identity: &identity,
        };
        let edge = edge::deploy(&edge_aws, &stack_name, &base, options, ui).await?;
        result.stack_updated |= edge.stack_updated;
        result.preview_only |= edge.preview_only;
        parameters.push(parameter(
            template::edge::WEB_ACL_PARAMETER,
            &edge.web_acl_arn,
        ));
    }
    let target = Target {
        aws,
        project,
        cfn: &cfn,
        stack_name: &stack_name,
        template: &template,
        parameters: &parameters,
        bucket: &bucket,
        identity: &identity,
    };
    match deploy_until_settled(&target, options, &mut result, ui).await? {
        Deployed::Done if result.preview_only => return Ok(result),
        Deployed::Done => {}
        Deployed::Preview => return Ok(result),
        Deployed::Raced(reason) => return Err(kept_racing(&stack_name, &reason)),
    }
    if !project.config.protection.waf && !options.preview {
        // Turned off: the distribution no longer uses the web ACL, so its
        // stack can go.
        result.stack_updated |= edge::remove(&edge_aws, &stack_name, ui).await?;
    }

    let deployed = stack::describe(&cfn, &stack_name)
        .await?
        .ok_or_else(|| Error::failed(format!("stack {stack_name} vanished after deployment")))?;
    result.outputs = options.browser.outputs(stack::outputs(&deployed));
    if let (Some(domain), Some(target)) = (
        &project.config.domain,
        result.outputs.get("DistributionDomainName"),
    ) {
        result.dns_records = dns_records(&domain.name.0, target);
    }
    (result.site, result.invalidated) = publish_site(
        project,
        aws,
        &result.outputs,
        &bucket,
        options.wait,
        checkpoint,
        ui,
    )
    .await?;
    Ok(result)
}

/// Deploys `target`, again when another launch executed first (its change
/// set is then obsolete): it waits for the winner and computes its change
/// set again, against the stack the winner left; at most three times.
async fn deploy_until_settled(
    target: &Target<'_>,
    options: &LaunchOptions,
    result: &mut LaunchResult,
    ui: &Ui,
) -> Result<Deployed> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match deploy_stack(target, options, result, ui).await? {
            Deployed::Raced(reason) if attempts < 3 => ui.info(format!(
                "another deployment of {} started first ({reason}); waiting for it, then deploying again",
                target.stack_name
            )),
            settled => return Ok(settled),
        }
    }
}

fn kept_racing(stack_name: &str, reason: &str) -> Error {
    Error::failed(format!(
        "other deployments of {stack_name} kept starting first ({reason}); nothing of this launch was deployed. Run `chatctl launch` again when they are done"
    ))
}

/// What a launch deploys to, and with what.
#[derive(Clone, Copy)]
struct Target<'a> {
    aws: &'a Aws,
    project: &'a Project,
    cfn: &'a aws_sdk_cloudformation::Client,
    stack_name: &'a str,
    template: &'a Template,
    parameters: &'a [Parameter],
    bucket: &'a str,
    identity: &'a Identity,
}

enum Deployed {
    Done,
    Preview,
    /// Another deployment executed first; ours was not executed.
    Raced(String),
}

/// Brings the stack to the template: nothing when it already matches,
/// otherwise a change set, shown, checked for data loss, executed, awaited.
async fn deploy_stack(
    target: &Target<'_>,
    options: &LaunchOptions,
    result: &mut LaunchResult,
    ui: &Ui,
) -> Result<Deployed> {
    let Target {
        aws,
        cfn,
        stack_name,
        template,
        parameters,
        ..
    } = *target;
    let mut existing = prepare_stack(cfn, stack_name, ui).await?;
    if existing.is_none() {
        let kept = retained::find(aws, stack_name).await?;
        if !kept.is_empty() {
            result.reattached_tables = kept.values().cloned().collect();
            if options.preview {
                ui.info(format!(
                    "the launch would reattach the kept chat tables {}",
                    result.reattached_tables.join(", ")
                ));
            } else {
                retained::reattach(aws, stack_name, template, &kept, ui).await?;
                existing = stack::describe(cfn, stack_name).await?;
            }
        }
    }
    let up_to_date = match &existing {
        Some(stack) => deployed_matches(cfn, stack_name, stack, template, parameters).await?,
        None => false,
    };
    if up_to_date {
        ui.info(format!("stack {stack_name} is up to date"));
        return Ok(Deployed::Done);
    }
    if existing.is_some() {
        for step in indexes::steps_for(target, options, ui).await? {
            ui.info(format!(
                "adding the index {} to {} first, in an update of its own: AWS creates or deletes one index per update",
                step.index, step.table
            ));
            let step_template = Template::from_json(step.template);
            let previous = indexes::previous_parameters(existing.as_ref());
            let step_target = Target {
                template: &step_template,
                parameters: &previous,
                ..*target
            };
            match apply(&step_target, existing.as_ref(), options, result, ui).await? {
                Deployed::Done => {}
                other => return Ok(other),
            }
            indexes::wait_until_active(aws, stack_name, &step.table, &step.index, ui).await?;
            existing = stack::describe(cfn, stack_name).await?;
        }
    }
    apply(target, existing.as_ref(), options, result, ui).await
}

/// The outputs of a deployed stack, as AWS gives them; refuses when there
/// is none yet.
pub async fn deployed_outputs(aws: &Aws, project: &Project) -> Result<BTreeMap<String, String>> {
    let name = project.stack_name();
    let found = stack::describe(&aws.cloudformation(), &name).await?;
    match found {
        Some(stack)
            if !matches!(
                stack::status(&stack),
                StackStatus::ReviewInProgress | StackStatus::RollbackComplete
            ) =>
        {
            Ok(stack::outputs(&stack))
        }
        _ => Err(Error::failed(format!(
            "stack {name} is not deployed in {}: run `chatctl launch` first, or pass the --region it was launched in",
            aws.region().unwrap_or("this region")
        ))),
    }
}

fn parameter(key: &str, value: &str) -> Parameter {
    Parameter::builder()
        .parameter_key(key)
        .parameter_value(value)
        .build()
}

pub fn output(outputs: &BTreeMap<String, String>, key: &str) -> Result<String> {
    outputs.get(key).cloned().ok_or_else(|| {
        Error::failed(format!(
            "the stack has no `{key}` output: was it deployed by another version of chatctl?"
        ))
    })
}
