//! One change set applied: created (the template inline, or by S3 URL
//! past CloudFormation's inline limit), shown, refused when it would lose
//! data, executed and awaited, and its failure explained. The refusal and
//! the failure's words are pure functions, tested without AWS.

use aws_sdk_cloudformation::types::{ChangeSetType, StackStatus};

use super::artifacts;
use super::changeset::{self, Change, TemplateSource};
use super::checkpoint::Stage;
use super::{stack, Deployed, LaunchOptions, LaunchResult, Target};
use crate::aws::{Aws, Identity};
use crate::build;
use crate::error::{Error, Result};
use crate::ui::Ui;

/// CloudFormation's limit for an inline template body, in bytes.
const INLINE_TEMPLATE_LIMIT: usize = 51_200;

/// One change set for `target`: created, shown, checked for data loss,
/// executed and awaited.
pub(super) async fn apply(
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
        .map_err(|e| Error::failed(format!("cannot encode the template: {e}")))?;
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
            if let Some(refusal) = data_loss_refusal(&change_set.changes, options.allow_replace) {
                changeset::delete(cfn, stack_name, &change_set.id).await;
                return Err(refusal);
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
                // CloudFormation's event for a failed pre-deployment
                // validation has no code: its reason text points at
                // DescribeEvents, where the findings are.
                if cause.contains("DescribeEvents") {
                    let findings = stack::validation_failures(cfn, stack_name).await;
                    if !findings.is_empty() {
                        cause = findings.join("; ");
                    }
                }
                return Err(failure(stack_name, &status, &cause));
            }
        }
    }
    Ok(Deployed::Done)
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

/// The refusal of a change that would replace or remove a table or bucket
/// (`changeset::data_risks`), unless `--allow-replace` said so.
pub fn data_loss_refusal(changes: &[Change], allow_replace: bool) -> Option<Error> {
    let risks = changeset::data_risks(changes);
    if risks.is_empty() || allow_replace {
        return None;
    }
    let names: Vec<String> = risks
        .iter()
        .map(|c| {
            let what = if c.action == "Remove" {
                "removed"
            } else {
                "replaced"
            };
            format!("{} ({}, {what})", c.logical_id, c.resource_type)
        })
        .collect();
    Some(Error::failed(format!(
        "refusing to deploy: this change would replace or remove {}, losing its data; nothing was changed. Re-run with --allow-replace if that is intended",
        names.join(", ")
    )))
}

/// The error for a deployment that ended in `status` because of `cause`:
/// rolled back (exit 3), or not even that, with the way out (exit 1).
pub fn failure(stack_name: &str, status: &StackStatus, cause: &str) -> Error {
    if matches!(
        status,
        StackStatus::UpdateRollbackFailed | StackStatus::RollbackFailed
    ) {
        return Error::failed(format!(
            "deployment of {stack_name} failed and so did its rollback ({}): {cause}. Finish the rollback with `aws cloudformation continue-update-rollback --stack-name {stack_name}` (or delete a stack that never deployed), then launch again",
            status.as_str()
        ));
    }
    Error::RolledBack(format!(
        "deployment of {stack_name} failed and was rolled back ({}): {cause}",
        status.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(logical_id: &str, kind: &str, action: &str, replacement: Option<&str>) -> Change {
        Change {
            logical_id: logical_id.into(),
            resource_type: kind.into(),
            action: action.into(),
            replacement: replacement.map(str::to_string),
        }
    }

    #[test]
    fn a_change_losing_a_table_or_bucket_is_refused_unless_allowed() {
        let changes = [
            change(
                "MessagesTable",
                "AWS::DynamoDB::Table",
                "Modify",
                Some("True"),
            ),
            change("SiteBucket", "AWS::S3::Bucket", "Remove", None),
            change("HttpFunction", "AWS::Lambda::Function", "Remove", None),
            change(
                "ConnectionsTable",
                "AWS::DynamoDB::Table",
                "Modify",
                Some("False"),
            ),
        ];
        let refusal = data_loss_refusal(&changes, false)
            .expect("refused")
            .to_string();
        assert!(
            refusal.contains("MessagesTable (AWS::DynamoDB::Table, replaced), SiteBucket (AWS::S3::Bucket, removed)")
                && refusal.contains("--allow-replace"),
            "{refusal}"
        );
        assert!(!refusal.contains("HttpFunction") && !refusal.contains("ConnectionsTable"));
        assert!(data_loss_refusal(&changes, true).is_none());
        assert!(data_loss_refusal(&changes[2..], false).is_none());
    }

    #[test]
    fn a_rolled_back_deployment_and_a_failed_rollback_are_told_apart() {
        let rolled_back = failure("chat-dev", &StackStatus::UpdateRollbackComplete, "boom");
        assert!(matches!(rolled_back, Error::RolledBack(_)), "{rolled_back}");
        let stuck = failure("chat-dev", &StackStatus::UpdateRollbackFailed, "boom");
        assert!(matches!(stuck, Error::Failed { .. }), "{stuck}");
        assert!(stuck
            .to_string()
            .contains("continue-update-rollback --stack-name chat-dev"));
    }
}
