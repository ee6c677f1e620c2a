//! An in-memory chat behind the ports, for the handlers' unit tests: the
//! same rules as the DynamoDB store (the author within the edit window,
//! expired messages unseen, caps and budgets per counter), kept simple, and
//! a record of every call so a test can say what a request touched. The
//! DynamoDB expressions themselves are tested against the emulator
//! (`tests/store.rs`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use crate::delivery::{Delivery, Posted};
use crate::limits::{window, Client, Verdict};
use crate::model::{Connection, Message};
use crate::ports::{
    ClientLimits, Configured, ConnectionStore, DeliveryQueue, MessageStore, Poster, QueueMarks,
    Slots, SnapshotBucket,
};
use crate::settings::Settings;
use crate::slots::Refusal;
use crate::store::{Page, StoreError, EDIT_WINDOW_SECONDS};

/// The tables, in memory.
#[derive(Debug, Default)]
pub struct Memory {
    pub settings: Settings,
    pub connections: Mutex<BTreeMap<String, Connection>>,
    pub messages: Mutex<BTreeMap<(String, String), Message>>,
    /// Open connections per `address#…` and `room#…`.
    pub open: Mutex<HashMap<String, u32>>,
    /// Requests per counter and window.
    pub hits: Mutex<HashMap<String, u32>>,
    pub queued_until: Mutex<HashMap<String, i64>>,
    /// Push subscriptions by room and id.
    pub subscriptions: Mutex<BTreeMap<(String, String), crate::subscriptions::Subscription>>,
    /// Every call, by the port method's name, in order.
    pub calls: Mutex<Vec<&'static str>>,
    /// Calls that fail (by name), as a storage outage would.
    pub failing: Mutex<HashSet<&'static str>>,
}

impl Memory {
    pub fn new(settings: Settings) -> Memory {
        Memory {
            settings,
            ..Memory::default()
        }
    }

    /// Records the call, and fails it when asked to.
    fn call(&self, name: &'static str) -> Result<(), StoreError> {
        lock(&self.calls).push(name);
        if lock(&self.failing).contains(name) {
            return Err(StoreError::Failed(format!("{name}: injected failure")));
        }
        Ok(())
    }

    pub fn fail(&self, name: &'static str) {
        lock(&self.failing).insert(name);
    }

    pub fn calls(&self) -> Vec<&'static str> {
        lock(&self.calls).clone()
    }

    pub fn stored_messages(&self) -> Vec<Message> {
        lock(&self.messages).values().cloned().collect()
    }

    /// Stores a live message of Ada's with a chosen `id` (ids order
    /// history, and the ULIDs of one millisecond need not sort).
    pub fn said(&self, room: &str, id: &str, text: &str) -> Message {
        let now = crate::now_seconds();
        let message = Message {
            room: room.to_string(),
            id: id.to_string(),
            name: "Ada".into(),
            text: text.to_string(),
            created_at: now,
            edited_at: None,
            author: Some("a".repeat(64)),
            expires_at: now + 86_400,
            source: Some(crate::model::Source::Live),
            verified: false,
        };
        lock(&self.messages).insert((room.to_string(), id.to_string()), message.clone());
        message
    }

    pub fn open_slots(&self, key: &str) -> u32 {
        lock(&self.open).get(key).copied().unwrap_or(0)
    }

    fn writable(&self, room: &str, id: &str, author: &str, now: i64) -> Result<(), StoreError> {
        match lock(&self.messages).get(&(room.to_string(), id.to_string())) {
            Some(m)
                if m.author.as_deref() == Some(author)
                    && m.created_at >= now - EDIT_WINDOW_SECONDS =>
            {
                Ok(())
            }
            _ => Err(StoreError::Forbidden),
        }
    }
}

mod push;
pub use push::PushServices;

/// A poisoned lock means a test already panicked; carry on with its data.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Configured for Memory {
    fn settings(&self) -> &Settings {
        &self.settings
    }
}

impl ConnectionStore for Memory {
    async fn put_connection(&self, connection: &Connection) -> Result<(), StoreError> {
        self.call("put_connection")?;
        lock(&self.connections).insert(connection.connection_id.clone(), connection.clone());
        Ok(())
    }

    async fn get_connection(&self, connection_id: &str) -> Result<Option<Connection>, StoreError> {
        self.call("get_connection")?;
        Ok(lock(&self.connections).get(connection_id).cloned())
    }

    async fn delete_connection(&self, connection_id: &str) -> Result<(), StoreError> {
        self.call("delete_connection")?;
        let removed = lock(&self.connections).remove(connection_id);
        if let Some(Connection {
            client: Some(address),
            room,
            ..
        }) = removed
        {
            self.release_slots(&address, &room).await?;
        }
        Ok(())
    }

    async fn prune_connection(&self, connection_id: &str, now: i64) -> Result<bool, StoreError> {
        let cutoff = crate::connect::handshake_over_by(now);
        let old_enough = lock(&self.connections)
            .get(connection_id)
            .is_some_and(|c| c.expires_at <= cutoff);
        if !old_enough {
            self.call("prune_connection")?;
            return Ok(false);
        }
        self.delete_connection(connection_id).await?;
        Ok(true)
    }

    async fn connections_in_room(&self, room: &str) -> Result<Vec<String>, StoreError> {
        self.call("connections_in_room")?;
        Ok(lock(&self.connections)
            .values()
            .filter(|c| c.room == room)
            .map(|c| c.connection_id.clone())
            .collect())
    }
}

impl crate::presence::PresenceStore for Memory {
    async fn people_in_room(
        &self,
        room: &str,
        limit: usize,
        now: i64,
    ) -> Result<Vec<crate::presence::Present>, StoreError> {
        self.call("people_in_room")?;
        Ok(lock(&self.connections)
            .values()
            .filter(|c| c.room == room && c.expires_at > now)
            .take(limit)
            .map(|c| crate::presence::Present {
                connection_id: c.connection_id.clone(),
                room: c.room.clone(),
                name: c.name.clone(),
                author: c.author.clone(),
            })
            .collect())
    }
}

impl Slots for Memory {
    async fn admit(
        &self,
        address: &str,
        room: &str,
        _now: i64,
    ) -> Result<Result<(), Refusal>, StoreError> {
        self.call("admit")?;
        let mut open = lock(&self.open);
        let by_address = open
            .get(&format!("address#{address}"))
            .copied()
            .unwrap_or(0);
        if by_address >= self.settings.connections_per_address {
            return Ok(Err(Refusal::AddressFull));
        }
        let in_room = open.get(&format!("room#{room}")).copied().unwrap_or(0);
        if in_room >= self.settings.connections_per_room {
            return Ok(Err(Refusal::RoomFull));
        }
        *open.entry(format!("address#{address}")).or_default() += 1;
        *open.entry(format!("room#{room}")).or_default() += 1;
        Ok(Ok(()))
    }

    async fn release_slots(&self, address: &str, room: &str) -> Result<(), StoreError> {
        self.call("release_slots")?;
        let mut open = lock(&self.open);
        for key in [format!("address#{address}"), format!("room#{room}")] {
            let count = open.entry(key).or_default();
            *count = count.saturating_sub(1);
        }
        Ok(())
    }
}

impl MessageStore for Memory {
    async fn put_message(&self, message: &Message) -> Result<(), StoreError> {
        self.call("put_message")?;
        let key = (message.room.clone(), message.id.clone());
        let mut messages = lock(&self.messages);
        if messages.contains_key(&key) {
            return Err(StoreError::Failed("the id is taken".into()));
        }
        messages.insert(key, message.clone());
        Ok(())
    }

    async fn edit_message(
        &self,
        room: &str,
        id: &str,
        author: &str,
        text: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.call("edit_message")?;
        self.writable(room, id, author, now)?;
        if let Some(m) = lock(&self.messages).get_mut(&(room.to_string(), id.to_string())) {
            m.text = text.to_string();
            m.edited_at = Some(now);
        }
        Ok(())
    }

    async fn delete_message(
        &self,
        room: &str,
        id: &str,
        author: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.call("delete_message")?;
        match author {
            Some(author) => self.writable(room, id, author, now)?,
            None if !lock(&self.messages).contains_key(&(room.to_string(), id.to_string())) => {
                return Err(StoreError::Forbidden)
            }
            None => {}
        }
        lock(&self.messages).remove(&(room.to_string(), id.to_string()));
        Ok(())
    }

    async fn history(
        &self,
        room: &str,
        limit: usize,
        before: Option<&str>,
        now: i64,
        max_bytes: usize,
    ) -> Result<Page, StoreError> {
        self.call("history")?;
        let limit = limit.clamp(1, 100);
        let mut bytes = 0;
        let mut messages: Vec<Message> = Vec::new();
        let mut more = false;
        for m in lock(&self.messages).values().rev() {
            if m.room != room || m.expires_at <= now || before.is_some_and(|b| m.id.as_str() >= b) {
                continue;
            }
            if messages.len() == limit || bytes >= max_bytes {
                more = true;
                break;
            }
            bytes += m.text.len() + m.name.len();
            messages.push(m.clone());
        }
        let next_cursor = more
            .then(|| messages.last().map(|m| m.id.clone()))
            .flatten();
        Ok(Page {
            messages,
            next_cursor,
        })
    }
}

impl ClientLimits for Memory {
    async fn charge(&self, client: &Client, now: i64) -> Result<Verdict, StoreError> {
        self.call("charge")?;
        let (index, retry_after) = window(now, self.settings.rate_limit_seconds);
        let mut subjects = vec![format!("address#{}", client.address)];
        subjects.extend(client.author.iter().map(|a| format!("author#{a}")));
        let mut hits = lock(&self.hits);
        let mut over = false;
        for subject in subjects {
            let count = hits.entry(format!("{subject}#{index}")).or_default();
            *count += 1;
            over |= *count > self.settings.rate_limit_messages;
        }
        Ok(if over {
            Verdict::Limited { retry_after }
        } else {
            Verdict::Allowed
        })
    }
}

impl QueueMarks for Memory {
    async fn mark_queued(&self, room: &str, now: i64) -> Result<(), StoreError> {
        self.call("mark_queued")?;
        lock(&self.queued_until).insert(room.to_string(), now + crate::queued::QUEUED_SECONDS);
        Ok(())
    }

    async fn recently_queued(&self, room: &str, now: i64) -> Result<bool, StoreError> {
        self.call("recently_queued")?;
        Ok(lock(&self.queued_until)
            .get(room)
            .is_some_and(|until| *until > now))
    }
}

/// The WebSocket connections: what was posted to each; the ones listed
/// in `gone` answer 410.
#[derive(Debug, Default)]
pub struct Sockets {
    pub posted: Mutex<Vec<(String, String)>>,
    pub gone: Mutex<HashSet<String>>,
    /// The connections a moderator closed, in order.
    pub closed: Mutex<Vec<String>>,
}

impl Sockets {
    /// The frames (parsed) posted to `connection`, in order.
    pub fn frames_to(&self, connection: &str) -> Vec<serde_json::Value> {
        lock(&self.posted)
            .iter()
            .filter(|(to, _)| to == connection)
            .filter_map(|(_, payload)| serde_json::from_str(payload).ok())
            .collect()
    }
}

impl Poster for Sockets {
    async fn post(&self, connection: &str, payload: &str) -> Posted {
        if lock(&self.gone).contains(connection) {
            return Posted::Gone;
        }
        lock(&self.posted).push((connection.to_string(), payload.to_string()));
        Posted::Delivered
    }
}

impl crate::ports::Disconnector for Sockets {
    async fn disconnect(&self, connection: &str) -> Result<bool, String> {
        let open = lock(&self.gone).insert(connection.to_string());
        lock(&self.closed).push(connection.to_string());
        Ok(open)
    }
}

/// The site bucket: the snapshots written, by key.
#[derive(Debug, Default)]
pub struct Bucket {
    pub files: Mutex<BTreeMap<String, (String, String)>>,
    pub failing: Mutex<bool>,
}

impl SnapshotBucket for Bucket {
    async fn put(&self, key: &str, body: String, content_type: &str) -> Result<(), String> {
        if *lock(&self.failing) {
            return Err("injected failure".into());
        }
        lock(&self.files).insert(key.to_string(), (content_type.to_string(), body));
        Ok(())
    }
}

/// The queues: deliveries with their message group, notify jobs with
/// their delay, and the notify jobs dead-lettered.
#[derive(Debug, Default)]
pub struct Queue {
    pub sent: Mutex<Vec<(String, Delivery)>>,
    pub notify: Mutex<Vec<(crate::notify::NotifyJob, i32)>>,
    pub dead_letters: Mutex<Vec<crate::notify::NotifyJob>>,
}

impl DeliveryQueue for Queue {
    async fn send(&self, group: &str, delivery: &Delivery) -> Result<(), String> {
        lock(&self.sent).push((group.to_string(), delivery.clone()));
        Ok(())
    }
}
