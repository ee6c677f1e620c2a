//! Change sets: what a deployment would do, shown before it is done.

use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::{
    Capability, ChangeAction, ChangeSetStatus, ChangeSetType, Parameter, Replacement,
};
use aws_sdk_cloudformation::Client;

use crate::aws::aws_error;
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
    kind: ChangeSetType,
    template: &TemplateSource,
    parameters: Vec<Parameter>,
) -> Result<Option<ChangeSet>> {
    let name = format!("chatctl-{}", unix_millis());
    let mut request = cfn
        .create_change_set()
        .stack_name(stack)
        .change_set_name(&name)
        .change_set_type(kind)
        .set_parameters(Some(parameters))
        .capabilities(Capability::CapabilityIam)
        .description("created by chatctl launch");
    request = match template {
        TemplateSource::Body(body) => request.template_body(body),
        TemplateSource::Url(url) => request.template_url(url),
    };
    let created = request
        .send()
        .await
        .map_err(|e| aws_error(&format!("creating a change set for stack {stack}"), e))?;
    let id = created.id().unwrap_or(&name).to_string();

    let deadline = Instant::now() + Duration::from_secs(15 * 60);
    loop {
        let mut changes = Vec::new();
        let mut next: Option<String> = None;
        let mut status;
        let mut reason;
        loop {
            let page = cfn
                .describe_change_set()
                .change_set_name(&id)
                .stack_name(stack)
                .set_next_token(next.clone())
                .send()
                .await
                .map_err(|e| aws_error("reading the change set", e))?;
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
                if reason.contains("didn't contain changes")
                    || reason.contains("No updates are to be performed")
                {
                    delete(cfn, stack, &id).await;
                    return Ok(None);
                }
                delete(cfn, stack, &id).await;
                return Err(Error::Failed(format!(
                    "CloudFormation refused the change set for stack {stack}: {reason}"
                )));
            }
            _ if Instant::now() > deadline => {
                return Err(Error::Failed(format!(
                    "the change set for stack {stack} was not ready after 15 minutes"
                )))
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// Deletes a change set chatctl created and will not execute, so none pile up.
pub async fn delete(cfn: &Client, stack: &str, id: &str) {
    // Best effort: a leftover change set is harmless and listed in the console.
    let _ = cfn
        .delete_change_set()
        .stack_name(stack)
        .change_set_name(id)
        .send()
        .await;
}

pub async fn execute(cfn: &Client, stack: &str, id: &str) -> Result<()> {
    cfn.execute_change_set()
        .stack_name(stack)
        .change_set_name(id)
        .send()
        .await
        .map_err(|e| aws_error(&format!("executing the change set of stack {stack}"), e))?;
    Ok(())
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

fn unix_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}
