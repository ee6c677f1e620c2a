//! The plan for the stack a launch finds: none (create it), one to delete
//! and create again, one to wait for, chatctl's own to update (or another
//! tool's, left alone), and whether it already is what the launch brings.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::{Parameter, StackStatus, TemplateStage};
use serde_json::Value;

use super::stack;
use crate::aws::aws_error;
use crate::error::{Error, Result};
use crate::template::{self, Template};
use crate::ui::Ui;

/// Makes the stack ready for a change set: `None` when it must be created.
pub(super) async fn prepare_stack(
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
                return Err(Error::usage(format!(
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
        StackStatus::DeleteFailed => return Err(Error::failed(format!(
            "stack {name} is in DELETE_FAILED: an earlier deletion stopped halfway, and CloudFormation accepts no update to it. Run `chatctl delete` to finish it (it empties the site bucket first; the chat tables are kept), then launch again"
        ))),
        StackStatus::UpdateRollbackFailed => return Err(Error::failed(format!(
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
pub(super) async fn deployed_by_chatctl(
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
pub(super) async fn deployed_matches(
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
pub(super) async fn deployed_template(
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every status CloudFormation documents for a stack, and what a launch
    /// does with it. The emulator cannot produce UPDATE_ROLLBACK_FAILED for
    /// chatctl's stack, so its refusal is checked here.
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
