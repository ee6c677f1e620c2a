//! The Messages stream: every insert, edit and delete becomes a frame for
//! each connection in the room, carried by bounded deliveries through the
//! delivery queue (`delivery`), and the room's snapshot is rewritten.

use std::collections::BTreeMap;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_s3::primitives::ByteStream;
use lambda_runtime::{Error, LambdaEvent};

use crate::delivery;

use crate::frames::{Frame, MAX_OUTBOUND_FRAME_BYTES};
use crate::model::{Message, PublicMessage};
use crate::render;
use crate::store::Store;

/// What the fan-out reaches: the tables, the WebSocket connections, the
/// site bucket that holds the room snapshots and the delivery queue.
#[derive(Debug, Clone)]
pub struct Fanout {
    pub store: Store,
    pub management: aws_sdk_apigatewaymanagement::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
}

/// The function's two event sources: the Messages stream (plan and queue
/// the deliveries, rewrite the snapshots) and the delivery queue (post one
/// delivery). One function, so each keeps the same role and logs.
pub async fn handle_any(
    fanout: &Fanout,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, Error> {
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
pub fn frame_of(record: &EventRecord) -> Result<(String, Frame), String> {
    let image = |item: &serde_dynamo::Item| -> Result<Message, String> {
        serde_dynamo::from_item(item.clone()).map_err(|e| format!("unreadable image: {e}"))
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
        other => Err(format!("unknown stream event {other}")),
    }
}

/// Plans the deliveries of `frames` to every connection in `room` and
/// queues them (`delivery`): the stream's work per room is one read of its
/// connection ids and a message per thousand posts, whatever the room size.
/// Returns how many deliveries were queued.
pub async fn broadcast(fanout: &Fanout, room: &str, frames: &[Frame]) -> Result<usize, String> {
    let connections = fanout
        .store
        .connections_in_room(room)
        .await
        .map_err(|e| e.to_string())?;
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
    let queued = deliveries.len();
    delivery::enqueue(
        &fanout.sqs,
        &fanout.store.settings().delivery_queue_url,
        deliveries,
    )
    .await?;
    Ok(queued)
}

/// Rewrites `rooms/ROOM.json` and `rooms/ROOM.html`.
pub async fn write_snapshot(fanout: &Fanout, room: &str) -> Result<(), String> {
    let settings = fanout.store.settings();
    let page = fanout
        .store
        .history(
            room,
            settings.history_length,
            None,
            crate::now_seconds(),
            usize::MAX,
        )
        .await
        .map_err(|e| e.to_string())?;
    let oldest_first: Vec<Message> = page.messages.into_iter().rev().collect();
    let files = [
        (
            format!("rooms/{room}.json"),
            render::snapshot_json(room, &oldest_first),
            "application/json; charset=utf-8",
        ),
        (
            format!("rooms/{room}.html"),
            render::snapshot_html(room, &oldest_first, settings.max_message_bytes),
            "text/html; charset=utf-8",
        ),
    ];
    for (key, body, content_type) in files {
        fanout
            .s3
            .put_object()
            .bucket(&settings.site_bucket)
            .key(&key)
            .content_type(content_type)
            .cache_control("no-cache")
            .body(ByteStream::from(body.into_bytes()))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "writing {key}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })?;
    }
    Ok(())
}

pub async fn handle(
    fanout: &Fanout,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Error> {
    let mut failures = Vec::new();
    // Rooms in order of first appearance; frames in stream order.
    let mut rooms: BTreeMap<String, (Vec<Frame>, Vec<String>)> = BTreeMap::new();
    for record in &event.payload.records {
        let sequence = record.change.sequence_number.clone().unwrap_or_default();
        match frame_of(record) {
            Ok((room, frame)) => {
                let entry = rooms.entry(room).or_default();
                entry.0.push(frame);
                entry.1.push(sequence);
            }
            Err(e) => {
                tracing::error!(error = %e, sequence, "unreadable stream record");
                failures.push(sequence);
            }
        }
    }
    for (room, (frames, sequences)) in &rooms {
        // Deliveries that could not be queued are retried with their
        // records; the queue's deduplication drops the ones already queued.
        match broadcast(fanout, room, frames).await {
            Ok(queued) => tracing::info!(room, queued, "fanned out"),
            Err(e) => {
                tracing::error!(room, error = %e, "fan-out failed");
                failures.extend(sequences.iter().cloned());
                continue;
            }
        }
        // A snapshot that could not be written is retried with its records.
        if let Err(e) = write_snapshot(fanout, room).await {
            tracing::error!(room, error = %e, "snapshot not written");
            failures.extend(sequences.iter().cloned());
        }
    }
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
