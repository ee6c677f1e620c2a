//! Bounded fan-out: a room's frames travel to its connections in deliveries
//! of at most [`POSTS_PER_DELIVERY`] posts, one SQS message each, so no
//! invocation's work grows with the room and one huge or flooded room never
//! holds up the stream for the others (docs/performance.md derives the
//! numbers).
//!
//! The stream side (`fanout::handle`) plans the deliveries of each room and
//! posts a small room's at once ([`inline`]) or queues them; the queue side
//! ([`handle`]) posts one delivery. A post that
//! API Gateway throttles (`LimitExceededException`, 429) is retried after a
//! back-off, and what is still owed after the back-off budget goes back on
//! the queue as a new, smaller delivery: a retry never re-sends to the
//! connections that already have the frame.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use base64::Engine;
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub mod inline;

use crate::fanout::{Fanout, FanoutError};
use crate::ports::{ConnectionStore, DeliveryQueue, FanoutStore, Poster};

/// Posts one delivery may make (connections x frames): at API Gateway's
/// usual 10 to 50 ms a post and [`POST_CONCURRENCY`] at once, about a second
/// and a half at worst, far inside the function's timeout.
pub const POSTS_PER_DELIVERY: usize = chat_limits::work::POSTS_PER_DELIVERY;

/// Frame bytes (base64) one delivery carries, under SQS's 256 KB message.
pub const FRAME_BYTES_PER_DELIVERY: usize = 180 * 1024;

/// Posts in flight at once, per delivery.
pub const POST_CONCURRENCY: usize = 32;

/// Throttled posts are retried in the invocation for this long before the
/// rest goes back on the queue.
pub const BACKOFF_BUDGET: Duration = Duration::from_secs(2);

/// A delivery goes back on the queue at most this many times; then what is
/// still owed is dropped with an error line (those clients catch up from
/// history when they reconnect).
pub const MAX_ATTEMPTS: u32 = 5;

/// One SQS message: some frames for some connections of one room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub room: String,
    /// Frame payloads (JSON text), base64: their size is then known in advance.
    pub frames: Vec<String>,
    pub connections: Vec<String>,
    /// The first frame still owed to a connection, when not the first.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resume: BTreeMap<String, usize>,
    #[serde(default)]
    pub attempt: u32,
}

impl Delivery {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The FIFO queue's deduplication id: the same delivery queued twice
    /// (a stream batch retried after its snapshot failed) is sent once.
    pub fn deduplication_id(&self) -> String {
        Sha256::digest(self.to_json().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// A room's connections fall into this many message groups (by a hash of
/// the connection id, so one connection always lands in the same group):
/// SQS keeps each group in order, so every connection gets the room's
/// frames in order, while up to this many deliveries of one room run at once.
pub const GROUPS_PER_ROOM: usize = 16;

/// The message group of a connection of `room`.
pub fn group_of(room: &str, connection: &str) -> String {
    let bucket = Sha256::digest(connection.as_bytes())[0] as usize % GROUPS_PER_ROOM;
    format!("{room}#{bucket}")
}

/// Splits a room's frames and connections into deliveries of at most
/// [`POSTS_PER_DELIVERY`] posts and [`FRAME_BYTES_PER_DELIVERY`] bytes of
/// frames, each with its message group, in the order they must be queued.
/// Every connection gets every frame exactly once, in order, across the
/// deliveries. Pure: tested without AWS.
pub fn plan(room: &str, payloads: &[String], connections: &[String]) -> Vec<(String, Delivery)> {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bundles: Vec<Vec<String>> = Vec::new();
    let mut bytes = 0;
    for payload in payloads {
        let encoded = engine.encode(payload.as_bytes());
        let full = bundles.last().is_none_or(|bundle| {
            bundle.len() >= POSTS_PER_DELIVERY || bytes + encoded.len() > FRAME_BYTES_PER_DELIVERY
        });
        if full {
            bundles.push(Vec::new());
            bytes = 0;
        }
        bytes += encoded.len();
        if let Some(bundle) = bundles.last_mut() {
            bundle.push(encoded);
        }
    }
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for connection in connections {
        groups
            .entry(group_of(room, connection))
            .or_default()
            .push(connection.clone());
    }
    let mut deliveries = Vec::new();
    for (group, members) in &groups {
        for frames in &bundles {
            let per_delivery = (POSTS_PER_DELIVERY / frames.len()).max(1);
            for chunk in members.chunks(per_delivery) {
                deliveries.push((
                    group.clone(),
                    Delivery {
                        room: room.to_string(),
                        frames: frames.clone(),
                        connections: chunk.to_vec(),
                        resume: BTreeMap::new(),
                        attempt: 0,
                    },
                ));
            }
        }
    }
    deliveries
}

/// What one post came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    Delivered,
    /// 410: the connection is gone; prune it and send it nothing more.
    Gone,
    /// Throttled or briefly unavailable: worth another try later.
    Throttled,
    /// Refused for good (for example 413): counted, not retried.
    Failed,
}

/// Where frames go: API Gateway's management API in the function, a fake
/// in the unit tests.
pub trait Connections {
    fn post(&self, connection: &str, payload: &str) -> impl std::future::Future<Output = Posted>;
    fn prune(&self, connection: &str) -> impl std::future::Future<Output = ()>;
}

/// Delivery counts, for the log line and the benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub delivered: usize,
    pub pruned: usize,
    pub failed: usize,
    pub throttled: usize,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Self) {
        self.delivered += other.delivered;
        self.pruned += other.pruned;
        self.failed += other.failed;
        self.throttled += other.throttled;
    }
}

/// Posts `delivery`, retrying throttled posts with back-off for at most
/// `budget`; returns the counts and what is still owed (`None` when
/// nothing is).
pub async fn deliver<C: Connections>(
    connections: &C,
    delivery: &Delivery,
    budget: Duration,
) -> (Counts, Option<Delivery>) {
    let engine = base64::engine::general_purpose::STANDARD;
    let payloads: Vec<String> = delivery
        .frames
        .iter()
        .map(|f| {
            engine
                .decode(f)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .unwrap_or_default()
        })
        .collect();
    let mut owed: BTreeMap<String, usize> = delivery
        .connections
        .iter()
        .map(|c| (c.clone(), delivery.resume.get(c).copied().unwrap_or(0)))
        .collect();
    let mut counts = Counts::default();
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        let round: Vec<(String, usize, Counts)> = stream::iter(owed.clone())
            .map(|(connection, from)| {
                let payloads = &payloads;
                async move {
                    let mut counts = Counts::default();
                    let mut next = from;
                    while next < payloads.len() {
                        match connections.post(&connection, &payloads[next]).await {
                            Posted::Delivered => counts.delivered += 1,
                            Posted::Failed => counts.failed += 1,
                            Posted::Gone => {
                                connections.prune(&connection).await;
                                counts.pruned += 1;
                                next = payloads.len();
                                break;
                            }
                            Posted::Throttled => {
                                counts.throttled += 1;
                                break;
                            }
                        }
                        next += 1;
                    }
                    (connection, next, counts)
                }
            })
            .buffer_unordered(POST_CONCURRENCY)
            .collect()
            .await;
        owed.clear();
        for (connection, next, round_counts) in round {
            counts += round_counts;
            if next < payloads.len() {
                owed.insert(connection, next);
            }
        }
        if owed.is_empty() {
            return (counts, None);
        }
        if started.elapsed() + pause > budget {
            break;
        }
        // Full jitter: throttled senders must not all come back at once.
        tokio::time::sleep(pause.mul_f64(0.5 + fastrand_unit() / 2.0)).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
    let rest = Delivery {
        room: delivery.room.clone(),
        frames: delivery.frames.clone(),
        connections: owed.keys().cloned().collect(),
        resume: owed.into_iter().filter(|(_, from)| *from > 0).collect(),
        attempt: delivery.attempt + 1,
    };
    (counts, Some(rest))
}

/// A number in [0, 1) for jitter, without a random-number crate.
fn fastrand_unit() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    f64::from(nanos % 1000) / 1000.0
}

/// The management API as [`Connections`], pruning gone ones from the
/// connections table.
pub struct Live<'a, P, S> {
    pub poster: &'a P,
    pub store: &'a S,
}

impl<P: Poster, S: ConnectionStore> Connections for Live<'_, P, S> {
    async fn post(&self, connection: &str, payload: &str) -> Posted {
        self.poster.post(connection, payload).await
    }

    async fn prune(&self, connection: &str) {
        match self
            .store
            .prune_connection(connection, crate::now_seconds())
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::info!(
                "a 410 from a connection still in its handshake, or gone already: kept"
            ),
            Err(e) => tracing::warn!(error = %e, "could not prune a gone connection"),
        }
    }
}

/// Queues deliveries on the FIFO delivery queue: in order within each
/// message group (one after another), groups side by side.
pub async fn enqueue<Q: DeliveryQueue>(
    queue: &Q,
    deliveries: Vec<(String, Delivery)>,
) -> Result<(), FanoutError> {
    let mut groups: BTreeMap<String, Vec<Delivery>> = BTreeMap::new();
    for (group, delivery) in deliveries {
        groups.entry(group).or_default().push(delivery);
    }
    let sent: Vec<Result<(), FanoutError>> = stream::iter(groups)
        .map(|(group, deliveries)| async move {
            for delivery in deliveries {
                queue
                    .send(&group, &delivery)
                    .await
                    .map_err(FanoutError::Queue)?;
            }
            Ok(())
        })
        .buffer_unordered(10)
        .collect()
        .await;
    sent.into_iter().collect()
}

/// The delivery queue's handler: one delivery per message. A message that
/// cannot be read is dropped with an error (it never will be); one whose
/// remainder could not be queued again is reported failed, and so is every
/// message after it, as a FIFO queue requires.
pub async fn handle<S: FanoutStore, P: Poster, B, Q: DeliveryQueue>(
    fanout: &Fanout<S, P, B, Q>,
    event: lambda_runtime::LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let live = Live {
        poster: &fanout.poster,
        store: &fanout.store,
    };
    let mut response = SqsBatchResponse::default();
    let mut failing = false;
    for record in &event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        if failing {
            response.batch_item_failures.push(failure(id));
            continue;
        }
        let Some(delivery) = record
            .body
            .as_deref()
            .and_then(|body| serde_json::from_str::<Delivery>(body).ok())
        else {
            tracing::error!(message_id = id, "unreadable delivery dropped");
            continue;
        };
        let (counts, rest) = deliver(&live, &delivery, BACKOFF_BUDGET).await;
        tracing::info!(
            room = delivery.room,
            attempt = delivery.attempt,
            delivered = counts.delivered,
            pruned = counts.pruned,
            failed = counts.failed,
            throttled = counts.throttled,
            "delivered"
        );
        let Some(rest) = rest else { continue };
        if rest.attempt > MAX_ATTEMPTS {
            tracing::error!(
                room = rest.room,
                connections = rest.connections.len(),
                "throttled past every retry: frames dropped for these connections"
            );
            continue;
        }
        // Back into the message group it came from, behind what followed it.
        let group = record
            .attributes
            .get("MessageGroupId")
            .cloned()
            .unwrap_or_else(|| {
                group_of(
                    &rest.room,
                    rest.connections
                        .first()
                        .map(String::as_str)
                        .unwrap_or_default(),
                )
            });
        // The room stays on the queue's path while its rest waits.
        let room = rest.room.clone();
        let queued = match fanout.store.mark_queued(&room, crate::now_seconds()).await {
            Ok(()) => enqueue(&fanout.queue, vec![(group, rest)]).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = queued {
            tracing::error!(error = %e, "the undelivered rest could not be queued; the message is retried");
            response.batch_item_failures.push(failure(id));
            failing = true;
        }
    }
    Ok(response)
}

fn failure(id: String) -> BatchItemFailure {
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = id;
    failure
}

#[cfg(test)]
mod tests;
