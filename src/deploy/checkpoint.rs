//! Where a command is, so that an interruption (Ctrl-C, SIGTERM from a
//! cancelled CI job) can say what was in progress and leave nothing behind
//! that chatctl made and would not use: a change set it created and did not
//! execute is deleted; a stack operation already running is left to
//! CloudFormation, which finishes or rolls it back on its own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudformation::types::ExecutionStatus;

use crate::aws::Aws;
use crate::deploy::changeset;
use crate::ui::Ui;

/// How long the clean-up after an interruption may take.
const CLEANUP_LIMIT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Stage {
    #[default]
    Starting,
    Building,
    UploadingCode,
    /// A change set is being created or reviewed; not executed.
    ChangeSet {
        stack: String,
        name: String,
    },
    /// The change set's execution was requested: CloudFormation owns the stack.
    Executing {
        stack: String,
        name: String,
    },
    SyncingSite,
    Invalidating,
    /// `update-code`: functions are getting new code, each on its own.
    UpdatingCode,
    /// `delete`: the stack, then the buckets, then (if asked) the tables.
    Deleting {
        stack: String,
    },
    /// `logs --follow`: Ctrl-C is how it ends, not a failure.
    Following,
    /// `dev`, between changes: Ctrl-C is how it ends, not a failure.
    Watching,
}

/// Shared between a running command and the interruption handler.
#[derive(Debug, Clone, Default)]
pub struct Checkpoint(Arc<Mutex<Inner>>);

#[derive(Debug, Default)]
struct Inner {
    stage: Stage,
    /// The clients the command uses, once it has them.
    aws: Option<Aws>,
}

impl Checkpoint {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set(&self, stage: Stage) {
        self.inner().stage = stage;
    }

    pub fn get(&self) -> Stage {
        self.inner().stage.clone()
    }

    /// The AWS clients the clean-up may use.
    pub fn connected(&self, aws: &Aws) {
        self.inner().aws = Some(aws.clone());
    }

    /// Cleans up after an interruption and says what state things are in.
    /// Call it only once the command's task has stopped.
    pub async fn interrupted(&self, ui: &Ui) -> String {
        let stage = self.get();
        let aws = self.inner().aws.clone();
        let aws = aws.as_ref();
        let cleanup = async {
            match (&stage, aws) {
                // Never executed: delete it without asking.
                (Stage::ChangeSet { stack, name }, Some(aws)) => delete(aws, stack, name, ui).await,
                // The request may not have reached CloudFormation.
                (Stage::Executing { stack, name }, Some(aws)) => {
                    remove_unexecuted(aws, stack, name, ui).await
                }
                _ => false,
            }
        };
        let removed = tokio::time::timeout(CLEANUP_LIMIT, cleanup)
            .await
            .unwrap_or(false);
        match stage {
            Stage::Starting => "interrupted before anything was changed".to_string(),
            Stage::Building => {
                "interrupted during the build: nothing was deployed".to_string()
            }
            Stage::UploadingCode => "interrupted while uploading handler code: nothing was deployed; zips already uploaded are kept and reused by the next launch".to_string(),
            Stage::ChangeSet { stack, name } => format!(
                "interrupted before the change set was executed: nothing was deployed to {stack}{}",
                if removed { format!("; deleted change set {name}") } else { format!("; change set {name} may be left over (chatctl deletes it on the next launch)") }
            ),
            Stage::Executing { stack, .. } if removed => format!(
                "interrupted before CloudFormation started the update: nothing was deployed to {stack}; the change set was deleted"
            ),
            Stage::Executing { stack, .. } => format!(
                "interrupted while CloudFormation deploys {stack}: the deployment goes on and finishes or rolls back on its own. `chatctl status` shows it; the next `chatctl launch` waits for it and then finishes the job"
            ),
            Stage::SyncingSite => "interrupted during the site upload: the stack is deployed, the site may be part old and part new; run `chatctl update-site` (or `chatctl launch`) to finish it".to_string(),
            Stage::Invalidating => "interrupted while invalidating CloudFront: the site is uploaded and the paths are remembered; the next `chatctl update-site` or `launch` invalidates them".to_string(),
            Stage::UpdatingCode => "interrupted while updating function code: some functions may run the new code and others the old; run `chatctl update-code` again to finish".to_string(),
            Stage::Deleting { stack } => format!(
                "interrupted while deleting {stack}: a stack deletion already started goes on in CloudFormation; run `chatctl delete` again to finish (the chat tables are kept unless --purge-data)"
            ),
            Stage::Following => "stopped following the logs".to_string(),
            Stage::Watching => "stopped watching".to_string(),
        }
    }
}

/// Deletes the change set if CloudFormation has not started executing it.
/// Whether it did.
async fn remove_unexecuted(aws: &Aws, stack: &str, name: &str, ui: &Ui) -> bool {
    let cfn = aws.cloudformation();
    let described = cfn
        .describe_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .send()
        .await;
    let executable = match &described {
        Ok(change_set) => !matches!(
            change_set.execution_status(),
            Some(
                ExecutionStatus::ExecuteInProgress
                    | ExecutionStatus::ExecuteComplete
                    | ExecutionStatus::ExecuteFailed
            )
        ),
        Err(_) => false, // never created, or already gone
    };
    executable && delete(aws, stack, name, ui).await
}

async fn delete(aws: &Aws, stack: &str, name: &str, ui: &Ui) -> bool {
    let deleted = changeset::delete(&aws.cloudformation(), stack, name).await;
    if !deleted {
        ui.detail(format!("could not delete change set {name} of {stack}"));
    }
    deleted
}
