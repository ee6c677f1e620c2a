//! Connection caps: at most `chat.connections.per_address` open connections
//! from one address and `chat.connections.per_room` in one room.
//!
//! Each is a counter in the limits table, taken at `$connect` by a
//! conditional `ADD` (so concurrent connects cannot pass the cap) and given
//! back once when the connection's item is deleted (`$disconnect`, or the
//! fan-out pruning a gone connection): O(1) however big the room. A counter
//! expires three hours after the last connection it admitted (API Gateway
//! closes every connection within two), so one left high by lost
//! `$disconnect`s frees itself; a busy room's counter never idles that long,
//! so when a room looks full its connections are counted through the index
//! (at most once a minute) and the counter corrected.

use aws_sdk_dynamodb::types::{AttributeValue, Select};

use crate::ports::{Configured, Slots};
use crate::store::{failed, is_condition_failure, Store, StoreError};

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The address already holds `chat.connections.per_address` connections.
    AddressFull,
    /// The room already holds `chat.connections.per_room` connections.
    RoomFull,
}

/// How long a counter outlives the last connection it admitted.
const COUNTER_TTL_SECONDS: i64 = 3 * 3600;

/// A full room is recounted through its index at most this often.
const RECOUNT_EVERY_SECONDS: i64 = 60;

fn address_slot(address: &str) -> String {
    format!("open#address#{address}")
}

fn room_slot(room: &str) -> String {
    format!("open#room#{room}")
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn dynamo(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    failed(aws_sdk_dynamodb::error::DisplayErrorContext(e))
}

impl Slots for Store {
    /// Takes a slot of the address and one of the room, or neither.
    async fn admit(
        &self,
        address: &str,
        room: &str,
        now: i64,
    ) -> Result<Result<(), Refusal>, StoreError> {
        let settings = self.settings();
        if !self
            .take_slot(
                &address_slot(address),
                settings.connections_per_address,
                now,
            )
            .await?
        {
            return Ok(Err(Refusal::AddressFull));
        }
        let mut taken = self
            .take_slot(&room_slot(room), settings.connections_per_room, now)
            .await?;
        if !taken && self.recount_room(room, now).await? {
            taken = self
                .take_slot(&room_slot(room), settings.connections_per_room, now)
                .await?;
        }
        if !taken {
            self.release_slot(&address_slot(address)).await?;
            return Ok(Err(Refusal::RoomFull));
        }
        Ok(Ok(()))
    }

    /// Gives back the slots [`Slots::admit`] took for a connection.
    async fn release_slots(&self, address: &str, room: &str) -> Result<(), StoreError> {
        self.release_slot(&address_slot(address)).await?;
        self.release_slot(&room_slot(room)).await
    }
}

impl Store {
    /// One more on the counter `key` unless it is at `max`; a counter past
    /// its expiry (TTL deletes lazily) starts again at one.
    async fn take_slot(&self, key: &str, max: u32, now: i64) -> Result<bool, StoreError> {
        let table = &self.settings().limits_table;
        let expires = n(now + COUNTER_TTL_SECONDS);
        // Two first connections at once race to create the counter: the
        // loser counts again rather than being refused.
        for _ in 0..3 {
            let counted = self
                .client()
                .update_item()
                .table_name(table)
                .key("key", s(key))
                .update_expression("ADD #open :one SET expires_at = :expires")
                .condition_expression("#open < :max AND expires_at > :now")
                .expression_attribute_names("#open", "open")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":max", n(i64::from(max)))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":expires", expires.clone())
                .send()
                .await;
            match counted {
                Ok(_) => return Ok(true),
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(dynamo(e)),
            }
            let restarted = self
                .client()
                .update_item()
                .table_name(table)
                .key("key", s(key))
                .update_expression("SET #open = :one, expires_at = :expires")
                .condition_expression("attribute_not_exists(#open) OR expires_at <= :now")
                .expression_attribute_names("#open", "open")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":expires", expires.clone())
                .send()
                .await;
            match restarted {
                Ok(_) => return Ok(true),
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(dynamo(e)),
            }
        }
        Ok(false)
    }

    /// One less on the counter `key`, never below zero.
    async fn release_slot(&self, key: &str) -> Result<(), StoreError> {
        let released = self
            .client()
            .update_item()
            .table_name(&self.settings().limits_table)
            .key("key", s(key))
            .update_expression("ADD #open :minus")
            .condition_expression("#open > :zero")
            .expression_attribute_names("#open", "open")
            .expression_attribute_values(":minus", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match released {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(dynamo(e)),
        }
    }

    /// Corrects a full-looking room's counter from its index, at most once
    /// a minute; true when the room has room after all.
    async fn recount_room(&self, room: &str, now: i64) -> Result<bool, StoreError> {
        let settings = self.settings();
        let key = room_slot(room);
        let claimed = self
            .client()
            .update_item()
            .table_name(&settings.limits_table)
            .key("key", s(&key))
            .update_expression("SET recounted_at = :now")
            .condition_expression("attribute_not_exists(recounted_at) OR recounted_at < :stale")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":stale", n(now - RECOUNT_EVERY_SECONDS))
            .send()
            .await;
        match claimed {
            Ok(_) => {}
            Err(e) if is_condition_failure(&e) => return Ok(false),
            Err(e) => return Err(dynamo(e)),
        }
        let cap = settings.connections_per_room;
        let count = self.count_in_room(room, cap).await?;
        self.client()
            .update_item()
            .table_name(&settings.limits_table)
            .key("key", s(&key))
            .update_expression("SET #open = :count")
            .expression_attribute_names("#open", "open")
            .expression_attribute_values(":count", n(i64::from(count)))
            .send()
            .await
            .map_err(dynamo)?;
        Ok(count < cap)
    }

    /// The connections in `room`, counted up to `cap` (reading no more).
    async fn count_in_room(&self, room: &str, cap: u32) -> Result<u32, StoreError> {
        let settings = self.settings();
        let mut count: u32 = 0;
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(&settings.connections_table)
                .index_name(&settings.connections_room_index)
                .key_condition_expression("room = :room")
                .expression_attribute_values(":room", s(room))
                .select(Select::Count)
                .limit(cap.saturating_sub(count).max(1) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(dynamo)?;
            count = count.saturating_add(out.count().max(0) as u32);
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() && count < cap => start = Some(key),
                _ => return Ok(count),
            }
        }
    }
}
