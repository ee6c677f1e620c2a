//! Who is in a room. The connections table is the truth: its
//! `by-room-people` index lists a room's connections with their names and
//! authors, and its stream tells the fan-out when one opens or goes (a
//! `$disconnect`, a post answered 410 Gone, or the item's TTL). A person is
//! an author token, so one person with several tabs counts once.
//!
//! Live `presence` frames cost a post to everyone in the room per change,
//! so they go only where the room is small enough to be listed
//! (`PRESENCE_LIST_MAX` connections, the size the fan-out posts inline),
//! only when someone arrives (their first tab) or leaves (their last), and
//! once per room per stream batch however many joined in it. A bigger room
//! shows its count with the first history page and in the snapshot.

use std::collections::{BTreeMap, BTreeSet};

use aws_lambda_events::dynamodb::EventRecord;
use serde::{Deserialize, Serialize};

use futures::stream::{self, StreamExt};

use crate::delivery::inline::InlineBudget;
use crate::fanout::{broadcast, Audience, Fanout, FanoutError, ROOMS_AT_ONCE};
use crate::frames::Frame;
use crate::model::Connection;
use crate::ports::{DeliveryQueue, FanoutStore, Poster};
use crate::store::StoreError;

pub use chat_limits::work::PRESENCE_LIST_MAX;

/// One open connection, as the `by-room-people` index holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Present {
    pub connection_id: String,
    pub room: String,
    pub name: String,
    /// SHA-256 of the connection's author token: one per person.
    pub author: String,
}

/// What clients are told of a room's people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// People (author tokens) connected; in a room of more than
    /// `PRESENCE_LIST_MAX` connections, those among the first read.
    pub count: usize,
    /// Their names, sorted.
    pub people: Vec<String>,
    /// False when the room has more connections than were read: `count`
    /// is then a lower bound.
    pub complete: bool,
}

impl Presence {
    /// The people among `connections`, each author once, under the name of
    /// its connection whose id sorts first: every reader names them alike.
    pub fn of(connections: &[Present], complete: bool) -> Presence {
        let mut by_author: BTreeMap<&str, &str> = BTreeMap::new();
        let mut ordered: Vec<&Present> = connections.iter().collect();
        ordered.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
        for connection in ordered {
            by_author
                .entry(connection.author.as_str())
                .or_insert(connection.name.as_str());
        }
        let mut people: Vec<String> = by_author.values().map(|name| name.to_string()).collect();
        people.sort_by_key(|name| name.to_lowercase());
        Presence {
            count: people.len(),
            people,
            complete,
        }
    }

    pub fn frame(self, room: &str) -> Frame {
        Frame::Presence {
            room: room.to_string(),
            count: self.count,
            people: self.people,
            complete: self.complete,
        }
    }
}

/// The connections table's `by-room-people` index.
pub trait PresenceStore: Sync {
    /// At most `limit` of a room's connections, without those expired at
    /// `now` (DynamoDB's TTL deletes them only later, within days).
    fn people_in_room(
        &self,
        room: &str,
        limit: usize,
        now: i64,
    ) -> impl std::future::Future<Output = Result<Vec<Present>, StoreError>> + Send;
}

/// A room's connections as far as they can be listed, and whether that is
/// all of them: one query of at most `PRESENCE_LIST_MAX + 1` items, however
/// big the room.
pub async fn read<S: PresenceStore>(
    store: &S,
    room: &str,
) -> Result<(Vec<Present>, bool), StoreError> {
    let mut connections = store
        .people_in_room(room, PRESENCE_LIST_MAX + 1, crate::now_seconds())
        .await?;
    let complete = connections.len() <= PRESENCE_LIST_MAX;
    connections.truncate(PRESENCE_LIST_MAX);
    Ok((connections, complete))
}

/// The room's people for a caller's first history page, the caller among
/// them (the index may not list yet a connection made a moment ago).
pub async fn with_caller<S: PresenceStore>(
    store: &S,
    caller: &Connection,
) -> Result<Presence, StoreError> {
    let (mut connections, complete) = read(store, &caller.room).await?;
    if !connections
        .iter()
        .any(|c| c.connection_id == caller.connection_id)
    {
        connections.push(Present {
            connection_id: caller.connection_id.clone(),
            room: caller.room.clone(),
            name: caller.name.clone(),
            author: caller.author.clone(),
        });
    }
    Ok(Presence::of(&connections, complete))
}

/// Whether a stream record is the connections table's (the fan-out reads
/// both tables' streams).
pub fn is_connection_record(record: &EventRecord) -> bool {
    record.change.new_image.get("connection_id").is_some()
        || record.change.old_image.get("connection_id").is_some()
}

/// One connection's part in a stream batch.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Change {
    author: String,
    /// It was open before the batch (its first record is not an insert).
    before: bool,
    /// Its state after the batch's last record about it.
    after: Option<Present>,
}

/// One room's connection changes in a stream batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomChanges {
    changes: BTreeMap<String, Change>,
    /// The records' sequence numbers, reported failed if the room's update fails.
    pub sequences: Vec<String>,
}

/// A batch's connection records by room; a record that cannot be read is
/// returned as its sequence number.
pub fn changes_by_room(records: &[&EventRecord]) -> (BTreeMap<String, RoomChanges>, Vec<String>) {
    let mut rooms: BTreeMap<String, RoomChanges> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for record in records {
        let sequence = record.change.sequence_number.clone().unwrap_or_default();
        let image = match record.event_name.as_str() {
            "REMOVE" => &record.change.old_image,
            _ => &record.change.new_image,
        };
        let Ok(present) = serde_dynamo::from_item::<_, Present>(image.clone()) else {
            tracing::error!(sequence, "unreadable connection record skipped");
            unreadable.push(sequence);
            continue;
        };
        let room = rooms.entry(present.room.clone()).or_default();
        room.sequences.push(sequence);
        let inserted = record.event_name == "INSERT";
        let change = room
            .changes
            .entry(present.connection_id.clone())
            .or_insert(Change {
                author: present.author.clone(),
                before: !inserted,
                after: None,
            });
        change.after = (record.event_name != "REMOVE").then_some(present);
    }
    (rooms, unreadable)
}

impl RoomChanges {
    /// The room's connections after the batch: what the index returned,
    /// corrected by the batch's own records (the index may lag them).
    pub fn apply(&self, read: Vec<Present>) -> Vec<Present> {
        let mut connections: Vec<Present> = read
            .into_iter()
            .filter(|c| !self.changes.contains_key(&c.connection_id))
            .collect();
        connections.extend(self.changes.values().filter_map(|c| c.after.clone()));
        connections
    }

    /// Whether someone arrived (their first connection opened) or left
    /// (their last closed): a second tab, or one of two closing, changes
    /// nobody's presence.
    pub fn someone_came_or_went(&self, now: &[Present]) -> bool {
        let mut authors: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
        for change in self.changes.values() {
            let counts = authors.entry(change.author.as_str()).or_default();
            match (change.before, change.after.is_some()) {
                (false, true) => counts.0 += 1,
                (true, false) => counts.1 += 1,
                _ => {}
            }
        }
        authors.into_iter().any(|(author, (opened, closed))| {
            let after = now.iter().filter(|c| c.author == author).count() as i64;
            let before = after - opened + closed;
            (before > 0) != (after > 0)
        })
    }

    /// Who is told: everyone connected after the batch but those who
    /// connected in it, who learn the room from their first history page
    /// (and whose `$connect` may not have finished: a post to them could
    /// answer 410 and prune them).
    pub fn recipients(&self, now: &[Present]) -> Vec<String> {
        let new: BTreeSet<&str> = self
            .changes
            .iter()
            .filter(|(_, change)| !change.before)
            .map(|(id, _)| id.as_str())
            .collect();
        now.iter()
            .map(|c| c.connection_id.as_str())
            .filter(|id| !new.contains(id))
            .map(str::to_string)
            .collect()
    }
}

/// The fan-out's work for the connections table's stream: each room whose
/// people changed, if small enough to list, is sent its new `presence`
/// through the same bounded broadcast as messages (`fanout::broadcast`).
/// Returns the sequence numbers of the records to retry.
pub async fn announce<S, P, B, Q>(
    fanout: &Fanout<S, P, B, Q>,
    records: &[&EventRecord],
    budget: &InlineBudget,
) -> Vec<String>
where
    S: FanoutStore,
    P: Poster,
    Q: DeliveryQueue,
{
    let (rooms, mut failures) = changes_by_room(records);
    let failed: Vec<Vec<String>> = stream::iter(&rooms)
        .map(|(room, changes)| async move {
            match announce_room(fanout, room, changes, budget).await {
                Ok(()) => Vec::new(),
                Err(e) => {
                    tracing::error!(room, error = %e, "presence not announced");
                    changes.sequences.clone()
                }
            }
        })
        .buffer_unordered(ROOMS_AT_ONCE)
        .collect()
        .await;
    failures.extend(failed.into_iter().flatten());
    failures
}

async fn announce_room<S, P, B, Q>(
    fanout: &Fanout<S, P, B, Q>,
    room: &str,
    changes: &RoomChanges,
    budget: &InlineBudget,
) -> Result<(), FanoutError>
where
    S: FanoutStore,
    P: Poster,
    Q: DeliveryQueue,
{
    let (read, complete) = read(&fanout.store, room).await?;
    let now = changes.apply(read);
    if !complete || now.len() > PRESENCE_LIST_MAX || !changes.someone_came_or_went(&now) {
        return Ok(());
    }
    let audience = Audience {
        connections: changes.recipients(&now),
        recently_queued: false,
        now: crate::now_seconds(),
    };
    let frame = Presence::of(&now, true).frame(room);
    let outcome = broadcast(fanout, room, &[frame], audience, budget).await?;
    tracing::info!(room, ?outcome, "presence announced");
    Ok(())
}

#[cfg(test)]
mod tests;
