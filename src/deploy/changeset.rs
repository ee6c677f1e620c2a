//! Change sets: what a deployment would do, shown before it is done.

use std::time::{Duration, Instant};

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{
    Capability, ChangeAction, ChangeSetStatus, ChangeSetType, ExecutionStatus, Parameter,
    Replacement, ResourceToImport,
};
use aws_sdk_cloudformation::Client;

use crate::aws::aws_error;
use crate::deploy::poll::FailedPolls;
use crate::error::{Error, Result};

/// Where CloudFormation reads the template from.
#[derive(Debug, Clone)]
pub enum TemplateSource {
    Body(String),
    Url(String),
}

/// One resource change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub logical_id: String,
    pub resource_type: String,
    pub action: String,
    /// "True", "False" or "Conditional" for modifications.
    pub replacement: Option<String>,
}

impl Change {
    pub fn replaces(&self) -> bool {
        matches!(
            self.replacement.as_deref(),
            Some("True") | Some("Conditional")
        )
    }
}

/// A created change set and its changes.
#[derive(Debug, Clone)]
pub struct ChangeSet {
    pub id: String,
    pub changes: Vec<Change>,
}

/// Resource types whose replacement or removal loses chat data or the site.
pub const STATEFUL_TYPES: &[&str] = &["AWS::DynamoDB::Table", "AWS::S3::Bucket"];

/// Changes that would replace or remove a stateful resource.
pub fn data_risks(changes: &[Change]) -> Vec<&Change> {
    changes
        .iter()
        .filter(|c| STATEFUL_TYPES.contains(&c.resource_type.as_str()))
        .filter(|c| c.action == "Remove" || c.replaces())
        .collect()
}

/// Creates a change set and waits for it. `None` when it has no changes
/// (not an error: the stack is already what the template says); the empty
/// change set is deleted.
pub async fn create(
    cfn: &Client,
    stack: &str,
    name: &str,
    kind: ChangeSetType,
    template: &TemplateSource,
    parameters: Vec<Parameter>,
) -> Result<Option<ChangeSet>> {
    create_with_imports(cfn, stack, name, kind, template, parameters, Vec::new()).await
}

/// An IMPORT change set, ready to execute: its id.
pub async fn create_import(
    cfn: &Client,
    stack: &str,
    name: &str,
    template: &TemplateSource,
    imports: Vec<ResourceToImport>,
) -> Result<String> {
    let kind = ChangeSetType::Import;
    match create_with_imports(cfn, stack, name, kind, template, Vec::new(), imports).await? {
        Some(change_set) => Ok(change_set.id),
        None => Err(Error::failed(format!(
            "CloudFormation found nothing to import into {stack}"
        ))),
    }
}

async fn create_with_imports(
    cfn: &Client,
    stack: &str,
    name: &str,
    kind: ChangeSetType,
    template: &TemplateSource,
    parameters: Vec<Parameter>,
    imports: Vec<ResourceToImport>,
) -> Result<Option<ChangeSet>> {
    let mut request = cfn
        .create_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .change_set_type(kind)
        .set_parameters((!parameters.is_empty()).then_some(parameters))
        .set_resources_to_import((!imports.is_empty()).then_some(imports))
        .capabilities(Capability::CapabilityIam)
        .description(description());
    request = match template {
        TemplateSource::Body(body) => request.template_body(body),
        TemplateSource::Url(url) => request.template_url(url),
    };
    let id = match request.send().await {
        Ok(created) => created.id().unwrap_or(name).to_string(),
        // The name is fresh, so an existing change set of that name is this
        // very request, retried after its answer was lost.
        Err(e) if e.code() == Some("AlreadyExistsException") => name.to_string(),
        Err(e) => {
            return Err(aws_error(
                &format!("creating a change set for stack {stack}"),
                e,
            ))
        }
    };

    let deadline = Instant::now() + Duration::from_secs(15 * 60);
    let mut failed_polls = FailedPolls::default();
    'poll: loop {
        let mut changes = Vec::new();
        let mut next: Option<String> = None;
        let mut status;
        let mut reason;
        loop {
            let page = match cfn
                .describe_change_set()
                .change_set_name(&id)
                .stack_name(stack)
                .set_next_token(next.clone())
                .send()
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    if failed_polls.retry().await {
                        continue 'poll;
                    }
                    delete(cfn, stack, &id).await;
                    return Err(aws_error("reading the change set", e));
                }
            };
            failed_polls.succeeded();
            status = page.status().cloned();
            reason = page.status_reason().unwrap_or_default().to_string();
            for change in page.changes() {
                if let Some(rc) = change.resource_change() {
                    changes.push(Change {
                        logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                        resource_type: rc.resource_type().unwrap_or_default().to_string(),
                        action: rc
                            .action()
                            .map(ChangeAction::as_str)
                            .unwrap_or("?")
                            .to_string(),
                        replacement: rc
                            .replacement()
                            .map(Replacement::as_str)
                            .map(str::to_string),
                    });
                }
            }
            next = page.next_token().map(str::to_string);
            if next.is_none() {
                break;
            }
        }
        match status {
            Some(ChangeSetStatus::CreateComplete) => return Ok(Some(ChangeSet { id, changes })),
            Some(ChangeSetStatus::Failed) => {
                // An empty change set fails with no code of its own: AWS's
                // status reason (both wordings seen) is all there is, as
                // the AWS CLI's `deploy --no-fail-on-empty-changeset` reads it.
                if reason.contains("didn't contain changes")
                    || reason.contains("No updates are to be performed")
                {
                    delete(cfn, stack, &id).await;
                    return Ok(None);
                }
                delete(cfn, stack, &id).await;
                return Err(Error::failed(format!(
                    "CloudFormation refused the change set for stack {stack}: {reason}"
                )));
            }
            _ if Instant::now() > deadline => {
                return Err(Error::failed(format!(
                    "the change set for stack {stack} was not ready after 15 minutes"
                )))
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// Deletes a change set chatctl created and will not execute, so none pile
/// up; whether it did. Best effort: a leftover change set is harmless, and
/// the next launch removes it.
pub async fn delete(cfn: &Client, stack: &str, id: &str) -> bool {
    cfn.delete_change_set()
        .stack_name(stack)
        .change_set_name(id)
        .send()
        .await
        .is_ok()
}

pub async fn execute(cfn: &Client, stack: &str, id: &str) -> Result<()> {
    let Err(e) = cfn
        .execute_change_set()
        .stack_name(stack)
        .change_set_name(id)
        .send()
        .await
    else {
        return Ok(());
    };
    // A retry after a lost answer finds the change set already executing.
    let executing = cfn
        .describe_change_set()
        .stack_name(stack)
        .change_set_name(id)
        .send()
        .await
        .ok()
        .and_then(|c| c.execution_status().cloned());
    match executing {
        Some(ExecutionStatus::ExecuteInProgress | ExecutionStatus::ExecuteComplete) => Ok(()),
        _ => Err(aws_error(
            &format!("executing the change set of stack {stack}"),
            e,
        )),
    }
}

/// The summary printed before executing: one line per change.
pub fn summary(changes: &[Change]) -> String {
    let count = |action: &str| changes.iter().filter(|c| c.action == action).count();
    let replaced = changes.iter().filter(|c| c.replaces()).count();
    let mut text = format!(
        "changes: {} to add, {} to modify ({} replaced), {} to remove\n",
        count("Add"),
        count("Modify"),
        replaced,
        count("Remove")
    );
    for change in changes {
        let marker = match change.action.as_str() {
            "Add" => "+",
            "Remove" => "-",
            _ if change.replaces() => "!",
            _ => "~",
        };
        let replacement = if change.replaces() {
            format!(
                " (replacement: {})",
                change.replacement.as_deref().unwrap_or("")
            )
        } else {
            String::new()
        };
        text.push_str(&format!(
            "  {marker} {:<36} {}{replacement}\n",
            change.logical_id, change.resource_type
        ));
    }
    text
}

/// Names the process that created a change set, so a later launch can tell
/// one left behind by a killed launch from one another launch is using.
fn description() -> String {
    format!(
        "created by chatctl launch on {} (pid {})",
        hostname(),
        std::process::id()
    )
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// How long a live launch may keep a change set before executing it: the
/// create wait above, plus margin.
const LIVE_LIMIT: Duration = Duration::from_secs(20 * 60);

/// Deletes the change sets chatctl created and never executed because the
/// launch that made them was killed (a launch that is only interrupted
/// deletes its own). Names of those deleted. Best effort: a failure to list
/// or delete leaves a harmless change set.
pub async fn remove_abandoned(cfn: &Client, stack: &str) -> Vec<String> {
    let Ok(listed) = cfn.list_change_sets().stack_name(stack).send().await else {
        return Vec::new();
    };
    let host = hostname();
    let mut removed = Vec::new();
    for summary in listed.summaries() {
        let name = summary.change_set_name().unwrap_or_default();
        let unexecuted = matches!(
            summary.execution_status(),
            Some(ExecutionStatus::Available | ExecutionStatus::Unavailable) | None
        );
        if !name.starts_with(NAME_PREFIX) || !unexecuted {
            continue;
        }
        let creator_gone = creator(summary.description().unwrap_or_default())
            .is_some_and(|(h, pid)| h == host && !crate::process::exists(pid));
        let too_old = summary
            .creation_time()
            .and_then(|t| std::time::SystemTime::try_from(*t).ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > LIVE_LIMIT);
        if (creator_gone || too_old) && delete(cfn, stack, name).await {
            removed.push(name.to_string());
        }
    }
    removed
}

/// `(host, pid)` from a description written by `description()`.
fn creator(description: &str) -> Option<(&str, u32)> {
    let rest = description.strip_prefix("created by chatctl launch on ")?;
    let (host, pid) = rest.rsplit_once(" (pid ")?;
    Some((host, pid.strip_suffix(')')?.parse().ok()?))
}

/// A fresh change set name, known before the change set is created so an
/// interruption can delete it even when the create call's answer was lost.
pub fn new_name() -> String {
    format!("{NAME_PREFIX}{}", unix_millis())
}

/// Every change set chatctl creates is named `chatctl-MILLIS`.
pub const NAME_PREFIX: &str = "chatctl-";

fn unix_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(logical_id: &str, resource_type: &str, action: &str, replacement: &str) -> Change {
        Change {
            logical_id: logical_id.into(),
            resource_type: resource_type.into(),
            action: action.into(),
            replacement: Some(replacement.into()).filter(|r: &String| !r.is_empty()),
        }
    }

    #[test]
    fn replacing_or_removing_a_table_or_bucket_is_a_data_risk_and_nothing_else_is() {
        let changes = [
            change("MessagesTable", "AWS::DynamoDB::Table", "Modify", "True"),
            change(
                "ConnectionsTable",
                "AWS::DynamoDB::Table",
                "Modify",
                "Conditional",
            ),
            change("SiteBucket", "AWS::S3::Bucket", "Remove", ""),
            change("MessagesTable2", "AWS::DynamoDB::Table", "Modify", "False"),
            change("MessageFunction", "AWS::Lambda::Function", "Modify", "True"),
            change("NewTable", "AWS::DynamoDB::Table", "Add", ""),
        ];
        let risky: Vec<&str> = data_risks(&changes)
            .iter()
            .map(|c| c.logical_id.as_str())
            .collect();
        assert_eq!(risky, ["MessagesTable", "ConnectionsTable", "SiteBucket"]);
    }

    #[test]
    fn the_creator_is_read_back_from_the_description() {
        let text = description();
        let (host, pid) = creator(&text).expect("parsed");
        assert_eq!(host, hostname());
        assert_eq!(pid, std::process::id());
        assert!(crate::process::exists(pid));
        assert_eq!(creator("created by someone else"), None);
        assert_eq!(creator("created by chatctl launch on h (pid x)"), None);
    }
}
