//! The notify function: each new message of a room with push subscriptions
//! reaches it through the notify queue (queued by the fan-out), and goes to
//! the room's subscribed browsers as a Web Push notification, except the
//! author's and those of people connected to the room at that moment (they
//! see it live). A push service that says the subscription is gone (404,
//! 410) has it removed; one that says "later" (429, 5xx) is tried again
//! after a pause, then from the queue with a growing delay; what still
//! fails lands on the dead-letter queue.

use std::collections::HashSet;
use std::time::Duration;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures::stream::{self, StreamExt};
use lambda_runtime::{Error, LambdaEvent};
use serde::{Deserialize, Serialize};

use crate::frames::cut;
use crate::model::Message;
use crate::ports::{NotifyQueue, PresenceStore, Pusher};
use crate::push::Outcome;
use crate::subscriptions::{Subscription, SubscriptionStore};

pub use chat_limits::PUSH_TEXT_CHARS;

/// A message for the notify function: what the notification shows, who
/// wrote it, and (when retrying) the subscriptions still owed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyJob {
    pub room: String,
    pub id: String,
    pub name: String,
    pub text: String,
    /// The author hash of the sender (none for HTTP and SNS posts).
    #[serde(default)]
    pub author: Option<String>,
    /// Subscription ids still owed this message; none means every one.
    #[serde(default)]
    pub only: Option<Vec<String>>,
    /// How many times this job came back from the queue.
    #[serde(default)]
    pub attempt: u32,
}

impl NotifyJob {
    pub fn of(message: &Message) -> NotifyJob {
        NotifyJob {
            room: message.room.clone(),
            id: message.id.clone(),
            name: message.name.clone(),
            text: cut(&message.text, PUSH_TEXT_CHARS),
            author: message.author.clone(),
            only: None,
            attempt: 0,
        }
    }

    /// What the service worker gets (README, "Notifications").
    pub fn payload(&self) -> Vec<u8> {
        serde_json::json!({
            "type": "message",
            "room": self.room,
            "id": self.id,
            "name": self.name,
            "text": self.text,
        })
        .to_string()
        .into_bytes()
    }
}

/// Times a job comes back from the queue for the subscriptions a push
/// service keeps refusing with 429 or 5xx before it is dead-lettered.
pub const QUEUE_ATTEMPTS: u32 = 4;

/// The queue's delay before attempt `attempt` (1-based): 30 s, 60 s,
/// 120 s, at most SQS's 15 minutes.
pub fn retry_delay_seconds(attempt: u32) -> i32 {
    (30i32 << attempt.saturating_sub(1).min(5)).min(900)
}

/// What the notify function reaches.
#[derive(Debug)]
pub struct Notify<S, P, Q> {
    pub store: S,
    pub pusher: P,
    pub queue: Q,
    /// The pause before the one retry within an invocation, unless the
    /// push service's `Retry-After` asks for longer (up to
    /// [`MAX_PAUSE`]).
    pub pause: Duration,
}

/// The longest an invocation waits for a push service's `Retry-After`.
pub const MAX_PAUSE: Duration = Duration::from_secs(5);

/// Sends at once, per invocation.
const PUSHES_AT_ONCE: usize = 16;

/// Pushes one job sends at most: the rest of a bigger room's subscribers
/// go back on the queue as a job of their own, at once, so an invocation
/// takes seconds whatever the room (a room holds up to 1,000).
pub const PUSHES_PER_JOB: usize = 200;

/// How one message's notifications went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sent {
    pub delivered: usize,
    pub removed: usize,
    pub refused: usize,
    /// Subscription ids a push service still refuses with 429 or 5xx.
    pub owed: Vec<String>,
}

pub async fn handle<S, P, Q>(
    notify: &Notify<S, P, Q>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error>
where
    S: SubscriptionStore + PresenceStore,
    P: Pusher,
    Q: NotifyQueue,
{
    let mut response = SqsBatchResponse::default();
    for record in &event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        let job: NotifyJob = match serde_json::from_str(record.body.as_deref().unwrap_or("")) {
            Ok(job) => job,
            Err(e) => {
                // Retried, then dead-lettered by the queue's redrive policy.
                tracing::error!(error = %e, message = id, "unreadable notify job");
                response.batch_item_failures.push(failure(id));
                continue;
            }
        };
        if let Err(e) = notify_one(notify, &job).await {
            tracing::error!(room = job.room, error = %e, "notifications not sent; retried");
            response.batch_item_failures.push(failure(id));
        }
    }
    Ok(response)
}

fn failure(id: String) -> BatchItemFailure {
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = id;
    failure
}

/// The subscriptions owed `job`: the room's, less the author's and those
/// of people connected to the room (when a read of who is here fails,
/// nobody is skipped: a notification too many beats one missed).
pub async fn recipients<S: SubscriptionStore + PresenceStore>(
    store: &S,
    job: &NotifyJob,
) -> Result<Vec<Subscription>, crate::store::StoreError> {
    let now = crate::now_seconds();
    let (subscriptions, present) = tokio::join!(
        store.subscriptions(&job.room, now),
        crate::presence::read(store, &job.room)
    );
    let connected: HashSet<String> = match present {
        Ok((people, _complete)) => people.into_iter().map(|p| p.author).collect(),
        Err(e) => {
            tracing::warn!(room = job.room, error = %e, "who is here unread: nobody skipped");
            HashSet::new()
        }
    };
    Ok(subscriptions?
        .into_iter()
        .filter(|s| job.author.as_deref() != Some(s.author.as_str()))
        .filter(|s| !connected.contains(&s.author))
        .filter(|s| job.only.as_ref().is_none_or(|only| only.contains(&s.id)))
        .collect())
}

/// Sends `job` to its recipients, removes the gone, and queues again (or
/// dead-letters) what is still owed. An error means nothing was settled:
/// the queue delivers the job again.
pub async fn notify_one<S, P, Q>(notify: &Notify<S, P, Q>, job: &NotifyJob) -> Result<Sent, Error>
where
    S: SubscriptionStore + PresenceStore,
    P: Pusher,
    Q: NotifyQueue,
{
    let mut targets = recipients(&notify.store, job).await?;
    if targets.len() > PUSHES_PER_JOB {
        // Queued before any push: if this fails, the job is retried whole
        // and nobody got it twice.
        let rest = NotifyJob {
            only: Some(
                targets
                    .split_off(PUSHES_PER_JOB)
                    .into_iter()
                    .map(|s| s.id)
                    .collect(),
            ),
            ..job.clone()
        };
        notify.queue.queue_jobs(&[rest], 0).await?;
    }
    let payload = job.payload();
    let outcomes: Vec<(Subscription, Outcome)> = stream::iter(targets)
        .map(|subscription| {
            let payload = &payload;
            async move {
                let outcome = push_with_one_retry(notify, &subscription, payload).await;
                (subscription, outcome)
            }
        })
        .buffer_unordered(PUSHES_AT_ONCE)
        .collect()
        .await;
    let mut sent = Sent::default();
    for (subscription, outcome) in outcomes {
        match outcome {
            Outcome::Delivered => sent.delivered += 1,
            Outcome::Gone => {
                match notify
                    .store
                    .unsubscribe(&job.room, &subscription.id, None)
                    .await
                {
                    Ok(_) => sent.removed += 1,
                    Err(e) => {
                        tracing::warn!(room = job.room, error = %e, "a gone subscription stays")
                    }
                }
            }
            Outcome::Refused => sent.refused += 1,
            Outcome::Retry => sent.owed.push(subscription.id),
        }
    }
    if !sent.owed.is_empty() {
        let again = NotifyJob {
            only: Some(sent.owed.clone()),
            attempt: job.attempt + 1,
            ..job.clone()
        };
        if again.attempt <= QUEUE_ATTEMPTS {
            let delay = retry_delay_seconds(again.attempt);
            notify.queue.queue_jobs(&[again], delay).await?;
        } else {
            tracing::error!(
                room = job.room,
                owed = sent.owed.len(),
                "notifications dead-lettered"
            );
            notify.queue.dead_letter(&again).await?;
        }
    }
    tracing::info!(
        room = job.room,
        delivered = sent.delivered,
        removed = sent.removed,
        refused = sent.refused,
        owed = sent.owed.len(),
        attempt = job.attempt,
        "notified"
    );
    Ok(sent)
}

/// One push, and after a pause one more if the push service said "later".
async fn push_with_one_retry<S, P: Pusher, Q>(
    notify: &Notify<S, P, Q>,
    subscription: &Subscription,
    payload: &[u8],
) -> Outcome {
    let first = notify.pusher.push(subscription, payload).await;
    if first.outcome != Outcome::Retry {
        return first.outcome;
    }
    let asked = first
        .retry_after
        .map(Duration::from_secs)
        .unwrap_or_default();
    tokio::time::sleep(notify.pause.max(asked).min(MAX_PAUSE)).await;
    notify.pusher.push(subscription, payload).await.outcome
}

/// A push service's answer to one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    pub outcome: Outcome,
    /// Its `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
}

impl Pushed {
    pub fn of(outcome: Outcome) -> Pushed {
        Pushed {
            outcome,
            retry_after: None,
        }
    }
}

#[cfg(test)]
mod tests;
