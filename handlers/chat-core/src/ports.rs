//! What the handlers reach, as small traits: the tables (DynamoDB's
//! [`Store`](crate::store::Store) in the functions, an in-memory chat in the
//! unit tests), the WebSocket management API, the site bucket and the
//! delivery queue. Each handler asks only for the traits it uses, so its
//! logic is tested without AWS; the DynamoDB conditions behind
//! `Store`'s implementations keep their tests against the emulator
//! (`tests/store.rs`).

use std::future::Future;

use crate::delivery::{Delivery, Posted};
use crate::limits::{Client, Verdict};
use crate::model::{Connection, Message};
pub use crate::presence::PresenceStore;
use crate::settings::Settings;
use crate::slots::Refusal;
use crate::store::{Page, StoreError};
pub use crate::subscriptions::SubscriptionStore;

/// The settings a store was made with: table names and the chat's limits.
pub trait Configured {
    fn settings(&self) -> &Settings;
}

/// The connections table.
pub trait ConnectionStore: Configured + Sync {
    fn put_connection(
        &self,
        connection: &Connection,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_connection(
        &self,
        connection_id: &str,
    ) -> impl Future<Output = Result<Option<Connection>, StoreError>> + Send;

    /// Removes a connection and gives its slots back, once.
    fn delete_connection(
        &self,
        connection_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes a connection a post found gone (410) and gives its slots
    /// back, unless it was stored within `connect::HANDSHAKE_SECONDS` of
    /// `now` (its `$connect` may still be running: API Gateway answers 410
    /// until the handshake completes). Whether it was removed.
    fn prune_connection(
        &self,
        connection_id: &str,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every connection id in a room.
    fn connections_in_room(
        &self,
        room: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

/// The open-connection caps per address and per room (`slots`).
pub trait Slots: Configured + Sync {
    /// Takes a slot of the address and one of the room, or neither.
    fn admit(
        &self,
        address: &str,
        room: &str,
        now: i64,
    ) -> impl Future<Output = Result<Result<(), Refusal>, StoreError>> + Send;

    /// Gives back the slots `admit` took.
    fn release_slots(
        &self,
        address: &str,
        room: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The messages table.
pub trait MessageStore: Configured + Sync {
    /// Stores a new message; an id already taken fails.
    fn put_message(&self, message: &Message)
        -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Changes one's own message's text within the edit window, or
    /// [`StoreError::Forbidden`].
    fn edit_message(
        &self,
        room: &str,
        id: &str,
        author: &str,
        text: &str,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes one's own message within the edit window (`author`), or
    /// any message of the room, at any time (`None`: a moderator), or
    /// [`StoreError::Forbidden`] (for a moderator: no such message).
    fn delete_message(
        &self,
        room: &str,
        id: &str,
        author: Option<&str>,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The newest `limit` unexpired messages before `before`, newest first,
    /// stopping early once names and texts reach `max_bytes`.
    fn history(
        &self,
        room: &str,
        limit: usize,
        before: Option<&str>,
        now: i64,
        max_bytes: usize,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send;
}

/// The per-client request budget (`limits`).
pub trait ClientLimits: Configured + Sync {
    /// Charges one request to every counter of `client`.
    fn charge(
        &self,
        client: &Client,
        now: i64,
    ) -> impl Future<Output = Result<Verdict, StoreError>> + Send;
}

/// Which rooms have frames on the delivery queue (`queued`).
pub trait QueueMarks: Sync {
    fn mark_queued(
        &self,
        room: &str,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn recently_queued(
        &self,
        room: &str,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Everything the fan-out reads and writes in the tables.
pub trait FanoutStore:
    ConnectionStore + MessageStore + QueueMarks + PresenceStore + SubscriptionStore
{
}

impl<T: ConnectionStore + MessageStore + QueueMarks + PresenceStore + SubscriptionStore> FanoutStore
    for T
{
}

/// API Gateway's management API: one frame to one connection.
pub trait Poster: Sync {
    fn post(&self, connection: &str, payload: &str) -> impl Future<Output = Posted> + Send;
}

/// API Gateway's management API: closing a connection (a moderator's
/// `disconnect`). Whether it was open.
pub trait Disconnector: Sync {
    fn disconnect(&self, connection: &str) -> impl Future<Output = Result<bool, String>> + Send;
}

/// The site bucket the room snapshots are written to.
pub trait SnapshotBucket: Sync {
    fn put(
        &self,
        key: &str,
        body: String,
        content_type: &str,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// The FIFO delivery queue.
pub trait DeliveryQueue: Sync {
    /// Queues one delivery in message group `group`.
    fn send(
        &self,
        group: &str,
        delivery: &Delivery,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// The notify queue (a standard queue: a delay per message).
pub trait NotifyQueue: Sync {
    /// Queues `jobs` for the notify function, `delay_seconds` from now.
    fn queue_jobs(
        &self,
        jobs: &[crate::notify::NotifyJob],
        delay_seconds: i32,
    ) -> impl Future<Output = Result<(), String>> + Send;

    /// Puts a job whose notifications never went out on the dead-letter queue.
    fn dead_letter(
        &self,
        job: &crate::notify::NotifyJob,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// A browser's push service: one notification to one subscription.
pub trait Pusher: Sync {
    fn push(
        &self,
        subscription: &crate::subscriptions::Subscription,
        payload: &[u8],
    ) -> impl Future<Output = crate::notify::Pushed> + Send;
}
