//! Which rooms have frames on the delivery queue. A room whose frames were
//! queued (a big room, or a small one whose posts were throttled) is not
//! delivered inline again until a minute after its last queuing: otherwise a
//! later message posted at once could reach a connection before an earlier
//! one still waiting on the queue. One item per room in the limits table.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::ports::{Configured, QueueMarks};
use crate::store::{failed, Store, StoreError};

/// How long a room stays on the queue's path after frames were queued for
/// it: far longer than a queued delivery waits unless throttled, and every
/// requeue of a throttled rest marks the room again.
pub const QUEUED_SECONDS: i64 = 60;

fn queued_key(room: &str) -> String {
    format!("queued#{room}")
}

fn dynamo(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    failed(aws_sdk_dynamodb::error::DisplayErrorContext(e))
}

impl QueueMarks for Store {
    /// Notes that frames of `room` were queued at `now`.
    async fn mark_queued(&self, room: &str, now: i64) -> Result<(), StoreError> {
        let until = AttributeValue::N((now + QUEUED_SECONDS).to_string());
        self.client()
            .update_item()
            .table_name(&self.settings().limits_table)
            .key("key", AttributeValue::S(queued_key(room)))
            .update_expression("SET #until = :until, expires_at = :until")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":until", until)
            .send()
            .await
            .map(|_| ())
            .map_err(dynamo)
    }

    /// Whether frames of `room` were queued less than [`QUEUED_SECONDS`]
    /// before `now`. A strongly consistent read: the stream invocation
    /// before this one may have marked it a moment ago.
    async fn recently_queued(&self, room: &str, now: i64) -> Result<bool, StoreError> {
        let item = self
            .client()
            .get_item()
            .table_name(&self.settings().limits_table)
            .key("key", AttributeValue::S(queued_key(room)))
            .consistent_read(true)
            .projection_expression("#until")
            .expression_attribute_names("#until", "until")
            .send()
            .await
            .map_err(dynamo)?;
        let until = item
            .item
            .as_ref()
            .and_then(|item| item.get("until"))
            .and_then(|value| value.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok());
        Ok(until.is_some_and(|until| until > now))
    }
}
