//! Push subscriptions, the notify queue and the push services, in memory:
//! the same rules as DynamoDB's (`subscriptions`), and the answers a test
//! asks each endpoint to give.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::{lock, Memory, Queue};
use crate::notify::{NotifyJob, Pushed};
use crate::ports::{NotifyQueue, Pusher};
use crate::push::Outcome;
use crate::store::StoreError;
use crate::subscriptions::{Stored, Subscription, SubscriptionStore, PUSH_SUBSCRIPTIONS_PER_ROOM};

impl SubscriptionStore for Memory {
    async fn subscribe(&self, subscription: &Subscription) -> Result<Stored, StoreError> {
        self.call("subscribe")?;
        let mut all = lock(&self.subscriptions);
        let key = (subscription.room.clone(), subscription.id.clone());
        let in_room = all
            .keys()
            .filter(|(room, _)| *room == subscription.room)
            .count();
        match all.get(&key) {
            Some(old) if old.author != subscription.author => return Ok(Stored::Taken),
            None if in_room >= PUSH_SUBSCRIPTIONS_PER_ROOM => return Ok(Stored::RoomFull),
            _ => {}
        }
        all.insert(key, subscription.clone());
        Ok(Stored::Stored)
    }

    async fn unsubscribe(
        &self,
        room: &str,
        id: &str,
        author: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.call("unsubscribe")?;
        let mut all = lock(&self.subscriptions);
        let key = (room.to_string(), id.to_string());
        if let (Some(old), Some(author)) = (all.get(&key), author) {
            if old.author != author {
                return Ok(false);
            }
        }
        all.remove(&key);
        Ok(true)
    }

    async fn subscriptions(&self, room: &str, now: i64) -> Result<Vec<Subscription>, StoreError> {
        self.call("subscriptions")?;
        Ok(lock(&self.subscriptions)
            .values()
            .filter(|s| s.room == room && s.expires_at > now)
            .cloned()
            .collect())
    }

    async fn has_subscriptions(&self, room: &str) -> Result<bool, StoreError> {
        self.call("has_subscriptions")?;
        Ok(lock(&self.subscriptions).keys().any(|(r, _)| r == room))
    }
}

impl NotifyQueue for Queue {
    async fn queue_jobs(&self, jobs: &[NotifyJob], delay_seconds: i32) -> Result<(), String> {
        let mut queued = lock(&self.notify);
        queued.extend(jobs.iter().map(|job| (job.clone(), delay_seconds)));
        Ok(())
    }

    async fn dead_letter(&self, job: &NotifyJob) -> Result<(), String> {
        lock(&self.dead_letters).push(job.clone());
        Ok(())
    }
}

/// The browsers' push services: what each endpoint received, and the
/// answers queued for it (then 201).
#[derive(Debug, Default)]
pub struct PushServices {
    pub received: Mutex<BTreeMap<String, Vec<serde_json::Value>>>,
    pub answers: Mutex<HashMap<String, Vec<Outcome>>>,
}

impl PushServices {
    /// The next answers `endpoint` gives, in order.
    pub fn will_answer(&self, endpoint: &str, outcomes: &[Outcome]) {
        lock(&self.answers).insert(endpoint.to_string(), outcomes.to_vec());
    }

    pub fn received_by(&self, endpoint: &str) -> Vec<serde_json::Value> {
        lock(&self.received)
            .get(endpoint)
            .cloned()
            .unwrap_or_default()
    }

    /// How many pushes were tried, accepted or not.
    pub fn tries(&self) -> usize {
        lock(&self.received).values().map(Vec::len).sum()
    }
}

impl Pusher for PushServices {
    async fn push(&self, subscription: &Subscription, payload: &[u8]) -> Pushed {
        let body = serde_json::from_slice(payload).unwrap_or_default();
        lock(&self.received)
            .entry(subscription.endpoint.clone())
            .or_default()
            .push(body);
        let mut answers = lock(&self.answers);
        let next = answers
            .get_mut(&subscription.endpoint)
            .filter(|queued| !queued.is_empty())
            .map(|queued| queued.remove(0));
        Pushed::of(next.unwrap_or(Outcome::Delivered))
    }
}
