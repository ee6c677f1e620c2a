//! What the tables hold.

use serde::{Deserialize, Serialize};

/// A chat message; `id` is a ULID, so ids sort by time and stay unique
/// under concurrent sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub room: String,
    pub id: String,
    pub name: String,
    pub text: String,
    /// Seconds since the epoch.
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<i64>,
    /// SHA-256 of the author's token; absent for form posts and SNS, which cannot edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// DynamoDB TTL.
    pub expires_at: i64,
    /// Where it came from; absent on messages stored before sources existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// Sent by a signed-in person (sign-in on): the name is theirs.
    #[serde(default, skip_serializing_if = "is_false")]
    pub verified: bool,
}

fn is_false(value: &bool) -> bool {
    !value
}

/// The way a message entered the chat, shown as a badge: names are not
/// authenticated, but a reader can tell a live message from a form post or
/// one published to the SNS topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Sent over the WebSocket.
    Live,
    /// Posted over HTTP: the room page's form, or JSON.
    Form,
    /// Published to the chat's SNS topic.
    Sns,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Live => "live",
            Source::Form => "form",
            Source::Sns => "sns",
        }
    }
}

/// What clients see of a message: never the author key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicMessage {
    pub id: String,
    pub room: String,
    pub name: String,
    pub text: String,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub verified: bool,
}

impl From<&Message> for PublicMessage {
    fn from(m: &Message) -> Self {
        PublicMessage {
            id: m.id.clone(),
            room: m.room.clone(),
            name: m.name.clone(),
            text: m.text.clone(),
            created_at: m.created_at,
            edited_at: m.edited_at,
            source: m.source,
            verified: m.verified,
        }
    }
}

/// An open WebSocket connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub connection_id: String,
    pub room: String,
    pub name: String,
    /// SHA-256 of the connection's author token.
    pub author: String,
    /// The token itself, handed to the client with its history so it can
    /// keep editing its messages after reconnecting. In the table it is
    /// sealed (`token_sealed`, see `sealed`) when the stack has a key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sealed: Option<String>,
    pub expires_at: i64,
    /// The hashed source address whose connection slot this holds
    /// (`limits::address_key`); absent on connections from before limits
    /// per address, which hold none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The signed-in person's `sub` (sign-in on); absent when anonymous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A member of the `moderators` group when the connection was made.
    #[serde(default, skip_serializing_if = "is_false")]
    pub moderator: bool,
}
