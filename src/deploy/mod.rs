//! `chatctl launch`: build, upload, deploy, sync the site, invalidate, and
//! print the URLs, idempotently: a second launch with nothing changed makes
//! no AWS write at all.

pub mod artifacts;
pub mod changeset;
pub mod checkpoint;
pub mod code;
pub mod edge;
pub mod indexes;
pub mod invalidation;
pub mod origin;
pub mod poll;
pub mod retained;
pub mod stack;

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::{ChangeSetType, Parameter, StackStatus, TemplateStage};
use serde_json::{json, Value};

use crate::aws::{aws_error, Aws, Identity};
use crate::build;
use crate::config::Project;
use crate::error::{Error, Result};
use crate::handlers;
use crate::site::{self, SyncReport};
use crate::template::{self, Template};
use crate::ui::Ui;
use changeset::TemplateSource;
use checkpoint::Stage;

/// CloudFormation's limit for an inline template body, in bytes.
const INLINE_TEMPLATE_LIMIT: usize = 51_200;

#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    pub preview: bool,
    pub allow_replace: bool,
    pub wait: bool,
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

/// A DNS record to create for a custom domain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DnsRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The target: the distribution's domain name.
    pub value: String,
    /// For Route 53 alias records: CloudFront's hosted zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias_hosted_zone_id: Option<String>,
    pub note: String,
}

/// The hosted zone id of every CloudFront distribution, for Route 53 aliases.
/// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-cloudfront-distribution.html>
pub const CLOUDFRONT_HOSTED_ZONE_ID: &str = "Z2FDTNDATAQYW2";

/// What points `domain` at the distribution: a CNAME (any DNS provider, but
/// not at a zone's apex), or Route 53 alias A and AAAA records (apex too;
/// the distribution serves IPv6).
pub fn dns_records(domain: &str, distribution_domain: &str) -> Vec<DnsRecord> {
    let alias = |kind: &str| DnsRecord {
        name: domain.to_string(),
        kind: kind.to_string(),
        value: distribution_domain.to_string(),
        alias_hosted_zone_id: Some(CLOUDFRONT_HOSTED_ZONE_ID.to_string()),
        note: "Route 53 alias (works at a zone apex too); or the CNAME".to_string(),
    };
    vec![
        DnsRecord {
            name: domain.to_string(),
            kind: "CNAME".to_string(),
            value: distribution_domain.to_string(),
            alias_hosted_zone_id: None,
            note: "any DNS provider, for a name below the zone apex; or the two aliases"
                .to_string(),
        },
        alias("A"),
        alias("AAAA"),
    ]
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
            Error::Failed(format!("the build produced no zip for {}", handler.name))
        })?;
        let key = zip.artifact_key(&handler.name);
        if !artifacts::object_exists(&s3, &bucket, &key).await? {
            let body = std::fs::read(&zip.zip)
                .map_err(|e| Error::Failed(format!("cannot read {}: {e}", zip.zip.display())))?;
            artifacts::upload(&s3, &bucket, &key, body).await?;
            ui.info(format!("uploaded {} ({} bytes)", key, zip.size));
            result.uploaded_zips.push(key.clone());
        }
        parameters.push(parameter(&Template::code_key_parameter(handler), &key));
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
        .ok_or_else(|| Error::Failed(format!("stack {stack_name} vanished after deployment")))?;
    result.outputs = aws.browser_outputs(stack::outputs(&deployed));
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
    Error::Failed(format!(
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

/// One change set for `target`: created, shown, checked for data loss,
/// executed and awaited.
async fn apply(
    target: &Target<'_>,
    existing: Option<&aws_sdk_cloudformation::types::Stack>,
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
        bucket,
        identity,
        ..
    } = *target;
    let checkpoint = &options.checkpoint;
    let body = serde_json::to_string(template.as_json())
        .map_err(|e| Error::Failed(format!("cannot encode the template: {e}")))?;
    let source = template_source(aws, &aws.s3(), bucket, identity, body).await?;
    let kind = if existing.is_some() {
        ChangeSetType::Update
    } else {
        ChangeSetType::Create
    };
    for name in changeset::remove_abandoned(cfn, stack_name).await {
        ui.info(format!(
            "deleted change set {name}, left unexecuted by a launch that was killed"
        ));
    }
    let name = changeset::new_name();
    checkpoint.set(Stage::ChangeSet {
        stack: stack_name.to_string(),
        name: name.clone(),
    });
    match changeset::create(
        cfn,
        stack_name,
        &name,
        kind.clone(),
        &source,
        parameters.to_vec(),
    )
    .await?
    {
        None => ui.info(format!("stack {stack_name}: the change set has no changes")),
        Some(change_set) => {
            ui.info(changeset::summary(&change_set.changes).trim_end());
            result.changes = change_set.changes.clone();
            let risks = changeset::data_risks(&change_set.changes);
            if !risks.is_empty() && !options.allow_replace {
                changeset::delete(cfn, stack_name, &change_set.id).await;
                let names: Vec<String> = risks
                    .iter()
                    .map(|c| {
                        format!(
                            "{} ({}, {})",
                            c.logical_id,
                            c.resource_type,
                            if c.action == "Remove" {
                                "removed"
                            } else {
                                "replaced"
                            }
                        )
                    })
                    .collect();
                return Err(Error::Failed(format!(
                    "refusing to deploy: this change would replace or remove {}, losing its data; nothing was changed. Re-run with --allow-replace if that is intended",
                    names.join(", ")
                )));
            }
            if options.preview {
                changeset::delete(cfn, stack_name, &change_set.id).await;
                result.preview_only = true;
                return Ok(Deployed::Preview);
            }
            let after = stack::newest_event_id(cfn, stack_name).await?;
            checkpoint.set(Stage::Executing {
                stack: stack_name.to_string(),
                name: name.clone(),
            });
            if let Err(e) = changeset::execute(cfn, stack_name, &change_set.id).await {
                changeset::delete(cfn, stack_name, &change_set.id).await;
                let now = stack::describe(cfn, stack_name).await?;
                if stack::changed_since(existing, now.as_ref()) {
                    return Ok(Deployed::Raced(e.to_string()));
                }
                return Err(e);
            }
            result.stack_updated = true;
            let total = change_set.changes.len().max(1) as u64;
            let (status, events) =
                stack::wait(cfn, stack_name, after.as_deref(), total, ui).await?;
            let succeeded = matches!(
                status,
                StackStatus::CreateComplete | StackStatus::UpdateComplete
            );
            if !succeeded {
                let mut cause = stack::first_failure(&events, stack_name)
                    .unwrap_or_else(|| "CloudFormation gave no reason".to_string());
                if cause.contains("DescribeEvents") {
                    let findings = stack::validation_failures(cfn, stack_name).await;
                    if !findings.is_empty() {
                        cause = findings.join("; ");
                    }
                }
                if matches!(
                    status,
                    StackStatus::UpdateRollbackFailed | StackStatus::RollbackFailed
                ) {
                    // Not rolled back: exit 1, with the way out.
                    return Err(Error::Failed(format!(
                        "deployment of {stack_name} failed and so did its rollback ({}): {cause}. Finish the rollback with `aws cloudformation continue-update-rollback --stack-name {stack_name}` (or delete a stack that never deployed), then launch again",
                        status.as_str()
                    )));
                }
                return Err(Error::RolledBack(format!(
                    "deployment of {stack_name} failed and was rolled back ({}): {cause}",
                    status.as_str()
                )));
            }
        }
    }
    Ok(Deployed::Done)
}

/// Syncs the site and `config.json`, then invalidates what changed (and
/// what an earlier run left pending in the artifact bucket): the end of
/// `launch`, and all of `update-site`.
pub async fn publish_site(
    project: &Project,
    aws: &Aws,
    outputs: &BTreeMap<String, String>,
    artifact_bucket: &str,
    wait: bool,
    checkpoint: &checkpoint::Checkpoint,
    ui: &Ui,
) -> Result<(SyncReport, Vec<String>)> {
    checkpoint.set(Stage::SyncingSite);
    let site_bucket = output(outputs, "SiteBucketName")?;
    let config_json = site_config(project, outputs);
    let report = site::sync(&aws.s3(), &site_bucket, &project.site_dir(), &config_json).await?;
    if !report.uploaded.is_empty() || !report.deleted.is_empty() {
        ui.info(format!(
            "site: {} uploaded, {} deleted, {} unchanged",
            report.uploaded.len(),
            report.deleted.len(),
            report.unchanged
        ));
    }
    let distribution = output(outputs, "DistributionId")?;
    checkpoint.set(Stage::Invalidating);
    let invalidated = invalidation::invalidate_remembered(
        aws,
        artifact_bucket,
        &distribution,
        report.changed_paths(),
        wait,
        ui,
    )
    .await?;
    Ok((report, invalidated))
}

/// The outputs of a deployed stack; refuses when there is none yet.
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
            Ok(aws.browser_outputs(stack::outputs(&stack)))
        }
        _ => Err(Error::Failed(format!(
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
        Error::Failed(format!(
            "the stack has no `{key}` output: was it deployed by another version of chatctl?"
        ))
    })
}

/// Makes the stack ready for a change set: `None` when it must be created.
async fn prepare_stack(
    cfn: &aws_sdk_cloudformation::Client,
    name: &str,
    ui: &Ui,
) -> Result<Option<aws_sdk_cloudformation::types::Stack>> {
    loop {
        let Some(existing) = stack::describe(cfn, name).await? else {
            return Ok(None);
        };
        let status = stack::status(&existing);
        match plan_for(name, &status)? {
            StackPlan::Create => return Ok(None),
            StackPlan::Recreate => {
                ui.info(format!(
                    "stack {name} is in {} after a failed first deployment or import: it holds no resources and can only be deleted; deleting it and creating it again",
                    status.as_str()
                ));
                cfn.delete_stack()
                    .stack_name(name)
                    .send()
                    .await
                    .map_err(|e| aws_error(&format!("deleting the failed stack {name}"), e))?;
                let after = stack::newest_event_id(cfn, name).await?;
                stack::wait(cfn, name, after.as_deref(), 1, ui).await?;
                return Ok(None);
            }
            StackPlan::Wait => {
                ui.info(format!(
                    "stack {name} is busy ({}): another deployment is running; waiting for it to finish",
                    status.as_str()
                ));
                let after = stack::newest_event_id(cfn, name).await?;
                stack::wait(cfn, name, after.as_deref(), 1, ui).await?;
            }
            StackPlan::Update if !deployed_by_chatctl(cfn, &existing).await? => {
                return Err(Error::Usage(format!(
                    "stack {name} exists but was not deployed by chatctl (its template's description does not say so): chatctl will not replace another tool's resources. Pick another `app` or stage so the stack name differs, or delete that stack yourself"
                )))
            }
            StackPlan::Update => return Ok(Some(existing)),
        }
    }
}

/// What a launch does with a stack, by its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StackPlan {
    /// No resources yet: create it with a CREATE change set.
    Create,
    /// A failed first create, or a failed import of kept tables into a new
    /// stack (no resources left, only deletable): delete, then create (and
    /// reattach the kept tables again; they are `Retain`, so the delete keeps them).
    Recreate,
    /// Another operation runs: wait for it, then look again.
    Wait,
    /// Settled: update it with an UPDATE change set.
    Update,
}

/// The plan for a stack in `status`; an error when no launch can proceed.
fn plan_for(name: &str, status: &StackStatus) -> Result<StackPlan> {
    Ok(match status {
        StackStatus::ReviewInProgress | StackStatus::DeleteComplete => StackPlan::Create,
        StackStatus::RollbackComplete
        | StackStatus::RollbackFailed
        | StackStatus::ImportRollbackComplete
        | StackStatus::ImportRollbackFailed => StackPlan::Recreate,
        // A deletion stopped halfway (on AWS, typically a bucket that was not
        // empty): CloudFormation refuses any update until it is deleted.
        StackStatus::DeleteFailed => return Err(Error::Failed(format!(
            "stack {name} is in DELETE_FAILED: an earlier deletion stopped halfway, and CloudFormation accepts no update to it. Run `chatctl delete` to finish it (it empties the site bucket first; the chat tables are kept), then launch again"
        ))),
        StackStatus::UpdateRollbackFailed => return Err(Error::Failed(format!(
            "stack {name} is in UPDATE_ROLLBACK_FAILED: finish the rollback first with `aws cloudformation continue-update-rollback --stack-name {name}` (add --resources-to-skip for resources that cannot roll back), then launch again"
        ))),
        // Another launch, or one that was interrupted: CloudFormation
        // finishes it on its own; deploying on top is only possible after.
        s if stack::in_progress(s) => StackPlan::Wait,
        _ => StackPlan::Update,
    })
}

/// Whether chatctl made this stack: its description says so. The stack's
/// own Description field carries the template's on AWS; the emulator leaves
/// it empty for stacks made by change sets, so the template is read then.
async fn deployed_by_chatctl(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &aws_sdk_cloudformation::types::Stack,
) -> Result<bool> {
    let marked = |text: &str| text.contains(template::DESCRIPTION_MARK);
    if stack.description().is_some_and(marked) {
        return Ok(true);
    }
    let body = deployed_template(cfn, stack.stack_name().unwrap_or_default()).await?;
    // JSON or YAML; a template that does not parse is not chatctl's.
    let description = body
        .and_then(|text| serde_yaml::from_str::<serde_yaml::Value>(&text).ok())
        .and_then(|t| {
            t.get("Description")
                .and_then(|d| d.as_str())
                .map(str::to_string)
        });
    Ok(description.as_deref().is_some_and(marked))
}

/// Whether the deployed template and parameters are exactly these, so no
/// change set is needed (creating one is already a write).
async fn deployed_matches(
    cfn: &aws_sdk_cloudformation::Client,
    name: &str,
    stack: &aws_sdk_cloudformation::types::Stack,
    template: &Template,
    parameters: &[Parameter],
) -> Result<bool> {
    let status = stack::status(stack);
    if !matches!(
        status,
        StackStatus::CreateComplete | StackStatus::UpdateComplete
    ) {
        return Ok(false);
    }
    let deployed: BTreeMap<&str, &str> = stack
        .parameters()
        .iter()
        .filter_map(|p| Some((p.parameter_key()?, p.parameter_value()?)))
        .collect();
    let wanted: BTreeMap<&str, &str> = parameters
        .iter()
        .filter_map(|p| Some((p.parameter_key()?, p.parameter_value()?)))
        .collect();
    if deployed != wanted {
        return Ok(false);
    }
    let deployed: Option<Value> = deployed_template(cfn, name)
        .await?
        .and_then(|text| serde_json::from_str(&text).ok());
    Ok(deployed.as_ref() == Some(template.as_json()))
}

/// The template the stack was last deployed with, as it was sent.
async fn deployed_template(
    cfn: &aws_sdk_cloudformation::Client,
    name: &str,
) -> Result<Option<String>> {
    let body = cfn
        .get_template()
        .stack_name(name)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .map_err(|e| aws_error(&format!("reading the template of stack {name}"), e))?;
    Ok(body.template_body().map(str::to_string))
}

/// Inline when small enough, otherwise uploaded to the artifact bucket.
async fn template_source(
    aws: &Aws,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    identity: &Identity,
    body: String,
) -> Result<TemplateSource> {
    if body.len() <= INLINE_TEMPLATE_LIMIT {
        return Ok(TemplateSource::Body(body));
    }
    let key = format!(
        "templates/{}.json",
        build::package::sha256_hex(body.as_bytes())
    );
    artifacts::upload(s3, bucket, &key, body.into_bytes()).await?;
    let url = match aws.custom_endpoint() {
        Some(endpoint) => format!("{}/{bucket}/{key}", endpoint.trim_end_matches('/')),
        None => format!(
            "https://{bucket}.s3.{}.{}/{key}",
            identity.region,
            identity.dns_suffix()
        ),
    };
    Ok(TemplateSource::Url(url))
}

/// `config.json` for the site: endpoints from the stack, limits from the configuration.
pub fn site_config(project: &Project, outputs: &BTreeMap<String, String>) -> Vec<u8> {
    let chat = &project.config.chat;
    let config = json!({
        "websocketUrl": outputs.get("WebSocketUrl"),
        "httpApiUrl": outputs.get("HttpApiUrl"),
        "apiPath": "/api",
        "defaultRoom": "general",
        "maxMessageBytes": chat.max_message_bytes.0,
        "historyLength": chat.history_length.0,
        "rateLimit": {"messages": chat.rate_limit.messages.0, "perSeconds": chat.rate_limit.per_seconds.0},
    });
    let mut text = serde_json::to_vec_pretty(&config).unwrap_or_default();
    text.push(b'\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every status CloudFormation documents for a stack, and what a launch
    /// does with it. The emulator cannot produce UPDATE_ROLLBACK_FAILED for
    /// chatctl's stack, so its refusal is checked here.
    #[test]
    fn a_custom_domain_gets_a_cname_and_route_53_aliases_to_the_distribution() {
        let records = super::dns_records("chat.example.com", "d111.cloudfront.net");
        let kinds: Vec<(&str, &str, &str, Option<&str>)> = records
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.kind.as_str(),
                    r.value.as_str(),
                    r.alias_hosted_zone_id.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("chat.example.com", "CNAME", "d111.cloudfront.net", None),
                (
                    "chat.example.com",
                    "A",
                    "d111.cloudfront.net",
                    Some("Z2FDTNDATAQYW2")
                ),
                (
                    "chat.example.com",
                    "AAAA",
                    "d111.cloudfront.net",
                    Some("Z2FDTNDATAQYW2")
                ),
            ]
        );
    }

    #[test]
    fn each_stack_status_has_a_plan_and_a_failed_rollback_is_refused_with_the_way_out() {
        let plans = [
            ("REVIEW_IN_PROGRESS", Some(StackPlan::Create)),
            ("DELETE_COMPLETE", Some(StackPlan::Create)),
            ("ROLLBACK_COMPLETE", Some(StackPlan::Recreate)),
            ("ROLLBACK_FAILED", Some(StackPlan::Recreate)),
            ("CREATE_IN_PROGRESS", Some(StackPlan::Wait)),
            ("UPDATE_IN_PROGRESS", Some(StackPlan::Wait)),
            ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", Some(StackPlan::Wait)),
            ("UPDATE_ROLLBACK_IN_PROGRESS", Some(StackPlan::Wait)),
            ("ROLLBACK_IN_PROGRESS", Some(StackPlan::Wait)),
            ("DELETE_IN_PROGRESS", Some(StackPlan::Wait)),
            ("IMPORT_IN_PROGRESS", Some(StackPlan::Wait)),
            ("CREATE_COMPLETE", Some(StackPlan::Update)),
            ("UPDATE_COMPLETE", Some(StackPlan::Update)),
            ("UPDATE_ROLLBACK_COMPLETE", Some(StackPlan::Update)),
            ("IMPORT_COMPLETE", Some(StackPlan::Update)),
            ("IMPORT_ROLLBACK_COMPLETE", Some(StackPlan::Recreate)),
            ("IMPORT_ROLLBACK_FAILED", Some(StackPlan::Recreate)),
            ("UPDATE_ROLLBACK_FAILED", None),
            ("DELETE_FAILED", None),
        ];
        for (status, wanted) in plans {
            let plan = plan_for("chat-prod", &StackStatus::from(status));
            match wanted {
                Some(wanted) => assert_eq!(plan.ok(), Some(wanted), "{status}"),
                None => {
                    let error = plan.expect_err(status);
                    assert_eq!(error.exit_status(), crate::ExitStatus::Failed);
                    let way_out = if status == "DELETE_FAILED" {
                        "Run `chatctl delete` to finish it"
                    } else {
                        "aws cloudformation continue-update-rollback --stack-name chat-prod"
                    };
                    assert!(error.to_string().contains(way_out), "{error}");
                }
            }
        }
    }
}
