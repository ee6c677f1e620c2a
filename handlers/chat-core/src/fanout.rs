//! The Messages stream: every insert, edit and delete becomes a frame for
//! each connection in the room, posted at once in a small room or carried
//! by bounded deliveries through the delivery queue (`delivery`), and the
//! room's snapshot is rewritten.

use std::collections::BTreeMap;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{Error, LambdaEvent};

use futures::stream::{self, StreamExt};

use crate::delivery::{self, inline, inline::InlineBudget};

use crate::frames::{Frame, MAX_OUTBOUND_FRAME_BYTES};
use crate::model::{Message, PublicMessage};
use crate::notify::NotifyJob;
use crate::ports::{DeliveryQueue, FanoutStore, NotifyQueue, Poster, SnapshotBucket};
use crate::render;
use crate::store::StoreError;

/// What the fan-out reaches: the tables, the WebSocket connections, the
/// site bucket that holds the room snapshots and the delivery queue.
#[derive(Debug, Clone)]
pub struct Fanout<S, P, B, Q> {
    pub store: S,
    pub poster: P,
    pub site: B,
    pub queue: Q,
}

/// Why a stream record or a room's fan-out failed (the records are then
/// reported failed and retried).
#[derive(Debug, thiserror::Error)]
pub enum FanoutError {
    #[error("unreadable stream record: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("snapshot not written: {key}: {reason}")]
    Snapshot { key: String, reason: String },
    #[error("queueing a delivery: {0}")]
    Queue(String),
}

/// The function's two event sources: the Messages stream (plan and queue
/// the deliveries, rewrite the snapshots) and the delivery queue (post one
/// delivery). One function, so each keeps the same role and logs.
pub async fn handle_any<S, P, B, Q>(
    fanout: &Fanout<S, P, B, Q>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, Error>
where
    S: FanoutStore,
    P: Poster,
    B: SnapshotBucket,
    Q: DeliveryQueue + NotifyQueue,
{
    let (payload, context) = event.into_parts();
    let from_queue = payload["Records"][0]["eventSource"] == "aws:sqs";
    let response = if from_queue {
        let sqs: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(payload)?;
        serde_json::to_value(delivery::handle(fanout, LambdaEvent::new(sqs, context)).await?)?
    } else {
        let stream: Event = serde_json::from_value(payload)?;
        serde_json::to_value(handle(fanout, LambdaEvent::new(stream, context)).await?)?
    };
    Ok(response)
}

/// The frame a stream record becomes, with its room.
pub fn frame_of(record: &EventRecord) -> Result<(String, Frame), FanoutError> {
    let image = |item: &serde_dynamo::Item| -> Result<Message, FanoutError> {
        serde_dynamo::from_item(item.clone()).map_err(|e| FanoutError::Unreadable(e.to_string()))
    };
    match record.event_name.as_str() {
        "INSERT" => {
            let message = image(&record.change.new_image)?;
            Ok((
                message.room.clone(),
                Frame::Message {
                    message: Box::new(PublicMessage::from(&message)),
                },
            ))
        }
        "MODIFY" => {
            let message = image(&record.change.new_image)?;
            Ok((
                message.room.clone(),
                Frame::Edited {
                    message: Box::new(PublicMessage::from(&message)),
                },
            ))
        }
        "REMOVE" => {
            let message = image(&record.change.old_image)?;
            Ok((
                message.room.clone(),
                Frame::Deleted {
                    room: message.room,
                    id: message.id,
                },
            ))
        }
        other => Err(FanoutError::Unreadable(format!("unknown event {other}"))),
    }
}

/// Who a room's frames go to, and whether earlier ones are still queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience {
    pub connections: Vec<String>,
    pub recently_queued: bool,
    pub now: i64,
}

/// Reads a room's [`Audience`]: its connection ids and its queued mark.
pub async fn audience<S: FanoutStore>(store: &S, room: &str) -> Result<Audience, FanoutError> {
    let now = crate::now_seconds();
    let (connections, recently_queued) = tokio::join!(
        store.connections_in_room(room),
        store.recently_queued(room, now)
    );
    Ok(Audience {
        connections: connections?,
        recently_queued: recently_queued?,
        now,
    })
}

/// How a room's frames went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broadcast {
    /// Posted from this invocation (a small room); `requeued` deliveries
    /// were still owed after throttling and went on the queue.
    Inline {
        counts: delivery::Counts,
        requeued: usize,
    },
    /// Queued as this many deliveries (a big room, or the inline budget spent).
    Queued(usize),
}

/// Plans the deliveries of `frames` to every connection in `room`, then
/// posts them at once when the room is small and `budget` allows
/// (`delivery::inline`), or queues them: the stream's work per room is one
/// read of its connection ids and either a few posts or a message per
/// thousand posts, whatever the room size.
pub async fn broadcast<S, P, B, Q>(
    fanout: &Fanout<S, P, B, Q>,
    room: &str,
    frames: &[Frame],
    audience: Audience,
    budget: &InlineBudget,
) -> Result<Broadcast, FanoutError>
where
    S: FanoutStore,
    P: Poster,
    Q: DeliveryQueue,
{
    let Audience {
        connections,
        recently_queued,
        now,
    } = audience;
    // A frame API Gateway would refuse (413) is not sent at all; the limits
    // (frames::MAX_MESSAGE_BYTES_LIMIT) keep every real one under it.
    let (payloads, oversized): (Vec<String>, Vec<String>) = frames
        .iter()
        .map(Frame::to_json)
        .partition(|payload| payload.len() <= MAX_OUTBOUND_FRAME_BYTES);
    for payload in &oversized {
        tracing::error!(
            bytes = payload.len(),
            limit = MAX_OUTBOUND_FRAME_BYTES,
            "a frame over API Gateway's limit was not sent"
        );
    }
    let deliveries = delivery::plan(room, &payloads, &connections);
    // A room with frames still on the queue stays on the queue's path, so
    // no frame overtakes an earlier one (`queued`).
    if recently_queued || !budget.take(connections.len() * payloads.len()) {
        let queued = deliveries.len();
        if queued > 0 {
            fanout.store.mark_queued(room, now).await?;
        }
        delivery::enqueue(&fanout.queue, deliveries).await?;
        return Ok(Broadcast::Queued(queued));
    }
    let live = delivery::Live {
        poster: &fanout.poster,
        store: &fanout.store,
    };
    let (counts, owed) = inline::deliver_now(&live, deliveries, budget).await;
    let requeued = owed.len();
    if requeued > 0 {
        // Some posts went out already: failing the records would re-send
        // them on the stream's retry. What cannot be queued is dropped with
        // an error line instead, as after the queue's last attempt (those
        // clients catch up from history).
        let queued = match fanout.store.mark_queued(room, now).await {
            Ok(()) => delivery::enqueue(&fanout.queue, owed).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = queued {
            tracing::error!(room, error = %e, "frames still owed could not be queued: dropped");
        }
    }
    Ok(Broadcast::Inline { counts, requeued })
}

/// Rewrites `rooms/ROOM.json` and `rooms/ROOM.html`.
pub async fn write_snapshot<S: FanoutStore, B: SnapshotBucket>(
    store: &S,
    site: &B,
    room: &str,
) -> Result<(), FanoutError> {
    let settings = store.settings();
    let (page, people) = tokio::join!(
        store.history(
            room,
            settings.history_length,
            None,
            crate::now_seconds(),
            usize::MAX,
        ),
        crate::presence::read(store, room)
    );
    // Who is here is the page's extra: a failed read leaves it out rather
    // than hold the room's messages back.
    let presence = match people {
        Ok((people, complete)) => Some(crate::presence::Presence::of(&people, complete)),
        Err(e) => {
            tracing::warn!(room, error = %e, "snapshot written without who is here");
            None
        }
    };
    let page = page?;
    let oldest_first: Vec<Message> = page.messages.into_iter().rev().collect();
    let files = [
        (
            format!("rooms/{room}.json"),
            render::snapshot_json(room, &oldest_first, presence.as_ref()),
            "application/json; charset=utf-8",
        ),
        (
            format!("rooms/{room}.html"),
            render::snapshot_html(
                room,
                &oldest_first,
                settings.max_message_bytes,
                presence.as_ref(),
                settings.auth.is_some(),
            ),
            "text/html; charset=utf-8",
        ),
    ];
    // Both files at once: the room's live delivery waits for them.
    let writes = files.map(|(key, body, content_type)| async move {
        site.put(&key, body, content_type)
            .await
            .map_err(|reason| FanoutError::Snapshot { key, reason })
    });
    futures::future::try_join_all(writes).await?;
    Ok(())
}

/// Rooms of one stream batch handled side by side.
pub(crate) const ROOMS_AT_ONCE: usize = 8;

/// The new message of an insert record, for the notify function.
pub fn job_of(record: &EventRecord) -> Option<NotifyJob> {
    if record.event_name != "INSERT" {
        return None;
    }
    let message: Message = serde_dynamo::from_item(record.change.new_image.clone()).ok()?;
    Some(NotifyJob::of(&message))
}

/// A room's new messages queued for the notify function, when anyone in
/// the room asked for notifications: one read of the subscriptions table a
/// room and batch, and nothing queued for the rooms nobody subscribed to.
async fn queue_notifications<S: FanoutStore, Q: NotifyQueue>(
    store: &S,
    queue: &Q,
    room: &str,
    jobs: &[NotifyJob],
) -> Result<(), FanoutError> {
    if jobs.is_empty() || !store.has_subscriptions(room).await? {
        return Ok(());
    }
    queue.queue_jobs(jobs, 0).await.map_err(FanoutError::Queue)
}

/// One room of a stream batch: the snapshot and the notify queue first, so
/// that a failure there is retried with its records before any frame went
/// out (a retry after an inline delivery would send it twice), then the
/// frames.
async fn publish<S, P, B, Q>(
    fanout: &Fanout<S, P, B, Q>,
    room: &str,
    batch: &RoomBatch,
    budget: &InlineBudget,
) -> Result<(), FanoutError>
where
    S: FanoutStore,
    P: Poster,
    B: SnapshotBucket,
    Q: DeliveryQueue + NotifyQueue,
{
    // The room's connections are read while the snapshot is written.
    let (written, queued, audience) = tokio::join!(
        write_snapshot(&fanout.store, &fanout.site, room),
        queue_notifications(&fanout.store, &fanout.queue, room, &batch.jobs),
        audience(&fanout.store, room)
    );
    written?;
    queued?;
    let frames = &batch.frames;
    // Deliveries that could not be queued are retried with their records;
    // the queue's deduplication drops the ones already queued.
    match broadcast(fanout, room, frames, audience?, budget).await? {
        Broadcast::Queued(queued) => tracing::info!(room, queued, "fanned out"),
        Broadcast::Inline { counts, requeued } => tracing::info!(
            room,
            delivered = counts.delivered,
            pruned = counts.pruned,
            failed = counts.failed,
            throttled = counts.throttled,
            requeued,
            "delivered inline"
        ),
    }
    Ok(())
}

/// A room's share of a stream batch.
#[derive(Debug, Default)]
struct RoomBatch {
    frames: Vec<Frame>,
    sequences: Vec<String>,
    /// Its new messages, for the notify function.
    jobs: Vec<NotifyJob>,
}

pub async fn handle<S, P, B, Q>(
    fanout: &Fanout<S, P, B, Q>,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Error>
where
    S: FanoutStore,
    P: Poster,
    B: SnapshotBucket,
    Q: DeliveryQueue + NotifyQueue,
{
    let mut failures = Vec::new();
    // The fan-out reads two streams: the connections table's (presence)
    // and the messages table's.
    let (connections, messages): (Vec<&EventRecord>, Vec<&EventRecord>) = event
        .payload
        .records
        .iter()
        .partition(|record| crate::presence::is_connection_record(record));
    let budget = InlineBudget::default();
    failures.extend(crate::presence::announce(fanout, &connections, &budget).await);
    // Rooms in order of first appearance; frames in stream order.
    let mut rooms: BTreeMap<String, RoomBatch> = BTreeMap::new();
    for record in messages {
        let sequence = record.change.sequence_number.clone().unwrap_or_default();
        match frame_of(record) {
            Ok((room, frame)) => {
                let entry = rooms.entry(room).or_default();
                entry.frames.push(frame);
                entry.sequences.push(sequence);
                entry.jobs.extend(job_of(record));
            }
            Err(e) => {
                tracing::error!(error = %e, sequence, "record skipped");
                failures.push(sequence);
            }
        }
    }
    let failed_rooms: Vec<Vec<String>> = stream::iter(&rooms)
        .map(|(room, batch)| {
            let budget = &budget;
            async move {
                match publish(fanout, room, batch, budget).await {
                    Ok(()) => Vec::new(),
                    Err(e) => {
                        tracing::error!(room, error = %e, "fan-out failed");
                        batch.sequences.clone()
                    }
                }
            }
        })
        .buffer_unordered(ROOMS_AT_ONCE)
        .collect()
        .await;
    failures.extend(failed_rooms.into_iter().flatten());
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failures
        .into_iter()
        .map(|sequence| {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence);
            failure
        })
        .collect();
    Ok(response)
}

#[cfg(test)]
mod tests;
