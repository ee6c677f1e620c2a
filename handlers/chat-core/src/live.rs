//! The ports over AWS besides the tables (those are `store`): API Gateway's
//! management API as the [`Poster`], the site bucket as the
//! [`SnapshotBucket`], the queues as the [`DeliveryQueue`] and the
//! [`NotifyQueue`]. The notify function's [`Pusher`](crate::ports::Pusher)
//! lives in its own crate, with chat-push.

use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_s3::primitives::ByteStream;

use crate::delivery::{Delivery, Posted};
use crate::notify::NotifyJob;
use crate::ports::{DeliveryQueue, NotifyQueue, Poster, SnapshotBucket};

impl Poster for aws_sdk_apigatewaymanagement::Client {
    async fn post(&self, connection: &str, payload: &str) -> Posted {
        let sent = self
            .post_to_connection()
            .connection_id(connection)
            .data(Blob::new(payload))
            .send()
            .await;
        let Err(e) = sent else {
            return Posted::Delivered;
        };
        let service = e.as_service_error();
        if service.is_some_and(|s| s.is_gone_exception()) {
            Posted::Gone
        } else if service.is_some_and(|s| s.is_limit_exceeded_exception())
            || e.raw_response()
                .is_some_and(|r| r.status().as_u16() == 429 || r.status().is_server_error())
            || matches!(e, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_))
        {
            Posted::Throttled
        } else {
            tracing::warn!(error = %aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e), "delivery failed");
            Posted::Failed
        }
    }
}

impl crate::ports::Disconnector for aws_sdk_apigatewaymanagement::Client {
    async fn disconnect(&self, connection: &str) -> Result<bool, String> {
        match self
            .delete_connection()
            .connection_id(connection)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_gone_exception()) => Ok(false),
            Err(e) => Err(aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e).to_string()),
        }
    }
}

/// The site bucket: room snapshots are written beside the site's files.
#[derive(Debug, Clone)]
pub struct SiteBucket {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
}

impl SnapshotBucket for SiteBucket {
    async fn put(&self, key: &str, body: String, content_type: &str) -> Result<(), String> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .cache_control("no-cache")
            .body(ByteStream::from(body.into_bytes()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())
    }
}

/// The queues: the FIFO delivery queue (`url`), and the notify queue
/// with its dead-letter queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    pub client: aws_sdk_sqs::Client,
    pub url: String,
    pub notify_url: String,
    pub notify_dead_letters_url: String,
}

impl DeliveryQueue for SqsQueue {
    async fn send(&self, group: &str, delivery: &Delivery) -> Result<(), String> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(delivery.to_json())
            .message_group_id(group)
            .message_deduplication_id(delivery.deduplication_id())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
    }
}

/// SQS takes at most ten messages a batch.
const SQS_BATCH: usize = 10;

fn sqs_error(e: impl std::error::Error + Send + Sync + 'static) -> String {
    aws_sdk_sqs::error::DisplayErrorContext(e).to_string()
}

impl NotifyQueue for SqsQueue {
    async fn queue_jobs(&self, jobs: &[NotifyJob], delay_seconds: i32) -> Result<(), String> {
        for chunk in jobs.chunks(SQS_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, job)| {
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(serde_json::to_string(job).unwrap_or_default())
                        .delay_seconds(delay_seconds)
                        .build()
                        .map_err(sqs_error)
                })
                .collect::<Result<Vec<_>, String>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.notify_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(sqs_error)?;
            if let Some(failed) = out.failed().first() {
                return Err(format!(
                    "{} of {} notify jobs not queued: {}",
                    out.failed().len(),
                    chunk.len(),
                    failed.message().unwrap_or(failed.code())
                ));
            }
        }
        Ok(())
    }

    async fn dead_letter(&self, job: &NotifyJob) -> Result<(), String> {
        self.client
            .send_message()
            .queue_url(&self.notify_dead_letters_url)
            .message_body(serde_json::to_string(job).unwrap_or_default())
            .send()
            .await
            .map(|_| ())
            .map_err(sqs_error)
    }
}
