//! Push subscriptions: the browsers to notify of a room's new messages
//! (the notify function), stored by the HTTP API when a person asks for
//! notifications. One item per room and endpoint in the subscriptions
//! table, owned by the author token that stored it: only that token
//! removes or replaces it. A room holds at most
//! [`PUSH_SUBSCRIPTIONS_PER_ROOM`].

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use chat_limits::{PUSH_SUBSCRIPTIONS_PER_ROOM, PUSH_SUBSCRIPTION_DAYS};

use crate::ports::Configured;
use crate::store::{failed, is_condition_failure, Store, StoreError};

/// The longest endpoint accepted (push services' are about 200 bytes).
pub const MAX_ENDPOINT_BYTES: usize = 1_024;

/// A stored subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub room: String,
    /// SHA-256 hex of the endpoint: the item's sort key.
    pub id: String,
    pub endpoint: String,
    /// The browser's P-256 key and auth secret, base64url.
    pub p256dh: String,
    pub auth: String,
    /// The author hash of the token that stored it (`connect::author_key`).
    pub author: String,
    pub expires_at: i64,
}

/// The id of an endpoint's subscription in a room.
pub fn subscription_id(endpoint: &str) -> String {
    Sha256::digest(endpoint.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why a subscription's keys are not a browser's: `p256dh` must be an
/// uncompressed P-256 point (65 bytes), `auth` 16 bytes, both base64url.
pub fn check_keys(p256dh: &str, auth: &str) -> Result<(), &'static str> {
    let decoded = |value: &str| URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).ok();
    match decoded(p256dh) {
        Some(key) if key.len() == 65 && key[0] == 4 => {}
        _ => {
            return Err("keys.p256dh: must be the browser's P-256 public key (65 bytes, base64url)")
        }
    }
    match decoded(auth) {
        Some(secret) if secret.len() == 16 => Ok(()),
        _ => Err("keys.auth: must be the browser's 16-byte auth secret, base64url"),
    }
}

/// What storing a subscription came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Stored,
    /// The room already holds [`PUSH_SUBSCRIPTIONS_PER_ROOM`].
    RoomFull,
    /// Another author token stored this endpoint.
    Taken,
}

/// The subscriptions table.
pub trait SubscriptionStore: Configured + Sync {
    /// Stores (or renews) a subscription, unless the room is full or the
    /// endpoint is another author's.
    fn subscribe(
        &self,
        subscription: &Subscription,
    ) -> impl std::future::Future<Output = Result<Stored, StoreError>> + Send;

    /// Removes `id` from `room` if `author` stored it (or it is not there);
    /// whether it is gone. With no author (a push service said it is gone),
    /// whoever stored it.
    fn unsubscribe(
        &self,
        room: &str,
        id: &str,
        author: Option<&str>,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;

    /// A room's unexpired subscriptions, at most
    /// [`PUSH_SUBSCRIPTIONS_PER_ROOM`].
    fn subscriptions(
        &self,
        room: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<Vec<Subscription>, StoreError>> + Send;

    /// Whether a room has any subscription (the fan-out queues a message
    /// for the notify function only then).
    fn has_subscriptions(
        &self,
        room: &str,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn dynamo(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    failed(aws_sdk_dynamodb::error::DisplayErrorContext(e))
}

type Item = HashMap<String, AttributeValue>;

impl Store {
    /// A room's subscription items, page after page, until `up_to` are
    /// found or the room ends; `shape` adds the query's projection or filter.
    async fn room_subscriptions(
        &self,
        room: &str,
        up_to: usize,
        shape: impl Fn(QueryFluentBuilder) -> QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let query = self
                .client()
                .query()
                .table_name(&self.settings().subscriptions_table)
                .key_condition_expression("room = :room")
                .expression_attribute_values(":room", s(room))
                .limit((up_to - found.len()) as i32)
                .set_exclusive_start_key(start.take());
            let out = shape(query).send().await.map_err(dynamo)?;
            found.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() && found.len() < up_to => start = Some(key),
                _ => return Ok(found),
            }
        }
    }

    /// How many subscriptions `room` holds, counting up to `up_to`.
    async fn count_subscriptions(&self, room: &str, up_to: usize) -> Result<usize, StoreError> {
        let ids = self
            .room_subscriptions(room, up_to, |query| query.projection_expression("id"))
            .await?;
        Ok(ids.len())
    }
}

impl SubscriptionStore for Store {
    async fn subscribe(&self, subscription: &Subscription) -> Result<Stored, StoreError> {
        let item = serde_dynamo::to_item(subscription).map_err(failed)?;
        let full = self
            .count_subscriptions(&subscription.room, PUSH_SUBSCRIPTIONS_PER_ROOM)
            .await?
            >= PUSH_SUBSCRIPTIONS_PER_ROOM;
        // A full room still renews its own subscriptions.
        let condition = if full {
            "attribute_exists(id) AND author = :author"
        } else {
            "attribute_not_exists(id) OR author = :author"
        };
        let put = self
            .client()
            .put_item()
            .table_name(&self.settings().subscriptions_table)
            .set_item(Some(item))
            .condition_expression(condition)
            .expression_attribute_values(":author", s(&subscription.author))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Stored::Stored),
            Err(e) if is_condition_failure(&e) && full => Ok(Stored::RoomFull),
            Err(e) if is_condition_failure(&e) => Ok(Stored::Taken),
            Err(e) => Err(dynamo(e)),
        }
    }

    async fn unsubscribe(
        &self,
        room: &str,
        id: &str,
        author: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut delete = self
            .client()
            .delete_item()
            .table_name(&self.settings().subscriptions_table)
            .key("room", s(room))
            .key("id", s(id));
        if let Some(author) = author {
            delete = delete
                .condition_expression("attribute_not_exists(id) OR author = :author")
                .expression_attribute_values(":author", s(author));
        }
        match delete.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(dynamo(e)),
        }
    }

    async fn subscriptions(&self, room: &str, now: i64) -> Result<Vec<Subscription>, StoreError> {
        let items = self
            .room_subscriptions(room, PUSH_SUBSCRIPTIONS_PER_ROOM, |query| {
                // DynamoDB's TTL deletes days late: lapsed ones are skipped.
                query
                    .filter_expression("expires_at > :now")
                    .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            })
            .await?;
        Ok(items
            .into_iter()
            .filter_map(
                |item| match serde_dynamo::from_item::<_, Subscription>(item) {
                    Ok(subscription) => Some(subscription),
                    Err(e) => {
                        tracing::warn!(room, error = %e, "unreadable subscription skipped");
                        None
                    }
                },
            )
            .collect())
    }

    async fn has_subscriptions(&self, room: &str) -> Result<bool, StoreError> {
        Ok(self.count_subscriptions(room, 1).await? > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_a_browsers() {
        let point = URL_SAFE_NO_PAD.encode([[4u8].as_slice(), &[9u8; 64]].concat());
        let auth = URL_SAFE_NO_PAD.encode([1u8; 16]);
        assert_eq!(check_keys(&point, &auth), Ok(()));
        assert!(check_keys(&point, "short").is_err_and(|e| e.starts_with("keys.auth")));
        assert!(check_keys("AAAA", &auth).is_err_and(|e| e.starts_with("keys.p256dh")));
        let compressed = URL_SAFE_NO_PAD.encode([[2u8].as_slice(), &[9u8; 64]].concat());
        assert!(check_keys(&compressed, &auth).is_err());
    }

    #[test]
    fn an_endpoint_has_one_id() {
        let id = subscription_id("https://push.example.net/a");
        assert_eq!(id.len(), 64);
        assert_eq!(id, subscription_id("https://push.example.net/a"));
        assert_ne!(id, subscription_id("https://push.example.net/b"));
    }
}
