//! Waiting on AWS: a wait reads the same thing again and again, and one read
//! failing (after the SDK's own retries) should not end a deployment that is
//! going fine. Every wait counts its failed reads in a row the same way.

use std::time::Duration;

/// Reads in a row that may fail before a wait gives up.
const MAX_FAILED_POLLS: u32 = 5;
/// The pause after a failed read, before reading again.
const AFTER_FAILURE: Duration = Duration::from_secs(2);

/// Failed reads in a row during one wait.
#[derive(Debug, Default)]
pub struct FailedPolls(u32);

impl FailedPolls {
    /// A read succeeded: the count starts again.
    pub fn succeeded(&mut self) {
        self.0 = 0;
    }

    /// A read failed: pauses and returns true when the wait may read again,
    /// false when too many failed in a row and the error should stand.
    pub async fn retry(&mut self) -> bool {
        if self.0 >= MAX_FAILED_POLLS {
            return false;
        }
        self.0 += 1;
        tokio::time::sleep(AFTER_FAILURE).await;
        true
    }
}
