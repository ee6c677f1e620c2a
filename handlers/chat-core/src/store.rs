//! DynamoDB storage of messages and connections.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use crate::model::{Connection, Message};
use crate::ports::{Configured, ConnectionStore, MessageStore, Slots};
use crate::settings::Settings;

/// Edits and deletions are allowed this long after sending.
pub use chat_limits::EDIT_WINDOW_SECONDS;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The caller may not change this message (not the author, or too late, or gone).
    #[error("not allowed")]
    Forbidden,
    #[error("storage failed: {0}")]
    Failed(String),
}

pub(crate) fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Failed(e.to_string())
}

/// Who may change a message: its author, within the edit window. One rule
/// for edits and deletes.
const AUTHOR_WITHIN_WINDOW: &str = "author = :author AND created_at >= :cutoff";

/// An edit or delete's outcome: a failed condition means not allowed.
fn authorised<O, E, R>(
    result: Result<O, aws_sdk_dynamodb::error::SdkError<E, R>>,
) -> Result<(), StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_condition_failure(&e) => Err(StoreError::Forbidden),
        Err(e) => Err(failed(aws_sdk_dynamodb::error::DisplayErrorContext(e))),
    }
}

pub(crate) fn is_condition_failure<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

/// A page of history: newest first, and the cursor for the page before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub messages: Vec<Message>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    settings: Settings,
}

impl Store {
    pub fn new(client: Client, settings: Settings) -> Store {
        Store { client, settings }
    }

    /// The DynamoDB client, for the storage modules beside this one.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }
}

impl Configured for Store {
    /// The function's settings, read once from its environment.
    fn settings(&self) -> &Settings {
        &self.settings
    }
}

impl ConnectionStore for Store {
    async fn put_connection(&self, connection: &Connection) -> Result<(), StoreError> {
        let mut stored = connection.clone();
        if let Some(secret) = &self.settings.token_key {
            let key = crate::sealed::TokenKey::from_secret(&secret.0);
            stored.token_sealed = Some(
                key.seal(&connection.connection_id, &connection.token)
                    .map_err(failed)?,
            );
            stored.token.clear();
        }
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(&stored).map_err(failed)?;
        self.client
            .put_item()
            .table_name(&self.settings.connections_table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| failed(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    async fn get_connection(&self, connection_id: &str) -> Result<Option<Connection>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.settings.connections_table)
            .key("connection_id", s(connection_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failed(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let mut connection: Connection = serde_dynamo::from_item(item).map_err(failed)?;
        if let (Some(sealed), Some(secret)) =
            (connection.token_sealed.take(), &self.settings.token_key)
        {
            let key = crate::sealed::TokenKey::from_secret(&secret.0);
            connection.token = key
                .open(&connection.connection_id, &sealed)
                .ok_or_else(|| {
                    failed("a sealed author token did not open: was TOKEN_KEY changed?")
                })?;
        }
        Ok(Some(connection))
    }

    /// Removes a connection and gives back its slots, once: only
    /// the call that actually deleted the item releases it, so `$disconnect`
    /// and the fan-out's pruning of a gone connection never both do.
    async fn delete_connection(&self, connection_id: &str) -> Result<(), StoreError> {
        self.remove_connection(connection_id, None)
            .await
            .map(|_| ())
    }

    async fn prune_connection(&self, connection_id: &str, now: i64) -> Result<bool, StoreError> {
        let cutoff = crate::connect::handshake_over_by(now);
        self.remove_connection(connection_id, Some(cutoff)).await
    }

    /// Every connection in a room, through the `by-room-keys` index.
    async fn connections_in_room(&self, room: &str) -> Result<Vec<String>, StoreError> {
        let index = &self.settings.connections_room_index;
        let items = self
            .room_in_index(index, room, None, |query| {
                query.projection_expression("connection_id")
            })
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| match item.get("connection_id") {
                Some(AttributeValue::S(id)) => Some(id.clone()),
                _ => None,
            })
            .collect())
    }
}

impl Store {
    /// A room's items in one of the connections table's indexes, page
    /// after page, until `limit` are found (when given) or the room ends;
    /// `shape` adds the query's projection or filter.
    async fn room_in_index(
        &self,
        index: &str,
        room: &str,
        limit: Option<usize>,
        shape: impl Fn(QueryFluentBuilder) -> QueryFluentBuilder,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let query = self
                .client
                .query()
                .table_name(&self.settings.connections_table)
                .index_name(index)
                .key_condition_expression("room = :room")
                .expression_attribute_values(":room", s(room))
                .set_limit(limit.map(|limit| (limit - found.len()) as i32))
                .set_exclusive_start_key(start.take());
            let out = shape(query)
                .send()
                .await
                .map_err(|e| failed(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            found.extend(out.items.unwrap_or_default());
            let wanting = limit.is_none_or(|limit| found.len() < limit);
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() && wanting => start = Some(key),
                _ => return Ok(found),
            }
        }
    }

    /// Deletes a connection (only if its `expires_at` is at most
    /// `expiring_by`, when given) and gives back its slots if this call
    /// deleted it. Whether it did.
    async fn remove_connection(
        &self,
        connection_id: &str,
        expiring_by: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.settings.connections_table)
            .key("connection_id", s(connection_id))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld);
        if let Some(cutoff) = expiring_by {
            delete = delete
                .condition_expression("expires_at <= :cutoff")
                .expression_attribute_values(":cutoff", n(cutoff));
        }
        let out = match delete.send().await {
            Ok(out) => out,
            Err(e) if is_condition_failure(&e) => return Ok(false),
            Err(e) => return Err(failed(aws_sdk_dynamodb::error::DisplayErrorContext(e))),
        };
        let Some(old) = out.attributes() else {
            return Ok(false);
        };
        let field = |name: &str| match old.get(name) {
            Some(AttributeValue::S(value)) => Some(value.as_str()),
            _ => None,
        };
        // Only connections admitted with slots (they record their client) give any back.
        if let (Some(address), Some(room)) = (field("client"), field("room")) {
            self.release_slots(address, room).await?;
        }
        Ok(true)
    }
}

impl MessageStore for Store {
    async fn put_message(&self, message: &Message) -> Result<(), StoreError> {
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(message).map_err(failed)?;
        self.client
            .put_item()
            .table_name(&self.settings.messages_table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await
            .map_err(|e| failed(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Changes the text of one's own message within the edit window.
    async fn edit_message(
        &self,
        room: &str,
        id: &str,
        author: &str,
        text: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.settings.messages_table)
            .key("room", s(room))
            .key("id", s(id))
            .update_expression("SET #text = :text, edited_at = :now")
            .condition_expression(AUTHOR_WITHIN_WINDOW)
            .expression_attribute_names("#text", "text")
            .expression_attribute_values(":text", s(text))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":author", s(author))
            .expression_attribute_values(":cutoff", n(now - EDIT_WINDOW_SECONDS))
            .send()
            .await;
        authorised(result)
    }

    /// Removes one's own message within the edit window.
    async fn delete_message(
        &self,
        room: &str,
        id: &str,
        author: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.settings.messages_table)
            .key("room", s(room))
            .key("id", s(id));
        let delete = match author {
            Some(author) => delete
                .condition_expression(AUTHOR_WITHIN_WINDOW)
                .expression_attribute_values(":author", s(author))
                .expression_attribute_values(":cutoff", n(now - EDIT_WINDOW_SECONDS)),
            // A moderator's: any message that is there.
            None => delete.condition_expression("attribute_exists(id)"),
        };
        authorised(delete.send().await)
    }

    /// The newest `limit` messages of a room older than `before` (a message
    /// id) that have not expired at `now`. DynamoDB deletes expired items
    /// lazily (days later), so they are filtered out here; the filter runs
    /// after `Limit`, so pages are read until one more than `limit` is found
    /// (which says there is a page before this one) or the room ends.
    /// Reading stops too once the names and texts read reach `max_bytes`:
    /// the caller cannot send more than that (escaping only adds), and
    /// reading 100 large messages to send four costs time and read units.
    async fn history(
        &self,
        room: &str,
        limit: usize,
        before: Option<&str>,
        now: i64,
        max_bytes: usize,
    ) -> Result<Page, StoreError> {
        /// Items read per Query: at most 25 x 32 KB, under DynamoDB's 1 MB page.
        const READ_CHUNK: usize = 25;
        let limit = limit.clamp(1, 100);
        let mut bytes = 0;
        let mut messages: Vec<Message> = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        let more = loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.settings.messages_table)
                .scan_index_forward(false)
                .limit((limit + 1).min(READ_CHUNK) as i32)
                .filter_expression("expires_at > :now")
                .expression_attribute_values(":room", s(room))
                .expression_attribute_values(":now", n(now))
                .set_exclusive_start_key(start.take());
            query = match before {
                Some(cursor) => query
                    .key_condition_expression("room = :room AND id < :before")
                    .expression_attribute_values(":before", s(cursor)),
                None => query.key_condition_expression("room = :room"),
            };
            let out = query
                .send()
                .await
                .map_err(|e| failed(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            let page: Vec<Message> =
                serde_dynamo::from_items(out.items.unwrap_or_default()).map_err(failed)?;
            bytes += page
                .iter()
                .map(|m| m.text.len() + m.name.len())
                .sum::<usize>();
            messages.extend(page);
            let last_key = out.last_evaluated_key.filter(|key| !key.is_empty());
            if messages.len() > limit {
                break true;
            }
            if bytes >= max_bytes {
                break last_key.is_some();
            }
            match last_key {
                Some(key) => start = Some(key),
                None => break false,
            }
        };
        messages.truncate(limit);
        let next_cursor = if more {
            messages.last().map(|m| m.id.clone())
        } else {
            None
        };
        Ok(Page {
            messages,
            next_cursor,
        })
    }
}

impl crate::presence::PresenceStore for Store {
    /// At most `limit` of a room's unexpired connections, through
    /// `by-room-people` (its keys, `name`, `author` and `expires_at`; never
    /// tokens). The filter runs after `Limit`: a page of expired items
    /// reads on, up to `limit` found.
    async fn people_in_room(
        &self,
        room: &str,
        limit: usize,
        now: i64,
    ) -> Result<Vec<crate::presence::Present>, StoreError> {
        let index = &self.settings.connections_people_index;
        let items = self
            .room_in_index(index, room, Some(limit), |query| {
                query
                    .filter_expression("expires_at > :now")
                    .expression_attribute_values(":now", n(now))
            })
            .await?;
        serde_dynamo::from_items(items).map_err(failed)
    }
}
