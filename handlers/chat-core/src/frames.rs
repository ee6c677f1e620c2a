//! WebSocket frames: what clients send (`action`) and what they receive (`type`).

use serde::{Deserialize, Serialize};

use crate::model::PublicMessage;
use crate::presence::Presence;

/// The largest frame a client may send, in bytes: API Gateway's WebSocket
/// frame size quota.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>
pub const MAX_FRAME_BYTES: usize = 32 * 1024;

/// The largest message API Gateway delivers to a client ("Message payload
/// size: 128 KB" on the same page); a larger PostToConnection answers 413
/// and the client gets nothing.
pub const MAX_OUTBOUND_FRAME_BYTES: usize = 128 * 1024;

/// A history frame is filled with messages up to this many bytes of JSON
/// (escaping counted), well under `MAX_OUTBOUND_FRAME_BYTES`.
pub const HISTORY_FRAME_BUDGET_BYTES: usize = 100 * 1024;

/// The largest `chat.max_message_bytes` a deployment may set: the text must
/// fit a client's 32 KB edit frame (its JSON around the text is under 100
/// bytes), and escaped (control characters are refused, so at most twice as
/// long) with a name, one message stays far under the history budget and
/// the 128 KB a client can receive. chatctl's configuration refuses more.
pub const MAX_MESSAGE_BYTES_LIMIT: usize = chat_limits::MAX_MESSAGE_BYTES.max as usize;

/// A client's request, chosen by its `action`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase", deny_unknown_fields)]
pub enum Request {
    Send {
        text: String,
    },
    Edit {
        id: String,
        text: String,
    },
    Delete {
        id: String,
    },
    History {
        #[serde(default)]
        cursor: Option<String>,
        #[serde(default)]
        limit: Option<usize>,
    },
    /// A keep-alive: API Gateway closes a connection idle for 10 minutes.
    Ping,
    /// A moderator's action (sign-in on, the `moderators` group only):
    /// delete any message of the room (`id`), or disconnect everyone
    /// connected to the room under a name (`name`).
    Moderate {
        op: ModerateOp,
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        name: Option<String>,
    },
}

/// What a moderator does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModerateOp {
    Delete,
    Disconnect,
}

impl ModerateOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ModerateOp::Delete => "delete",
            ModerateOp::Disconnect => "disconnect",
        }
    }
}

/// Who the caller is, sent with the history so a client learns its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub name: String,
    pub token: String,
    /// Signed in (sign-in on): the name is theirs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verified: bool,
    /// May moderate (`moderate`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub moderator: bool,
}

/// Everything a client can receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    // Boxed: a message is most of a frame, and errors (small) travel in
    // the same type.
    Message {
        message: Box<PublicMessage>,
    },
    Edited {
        message: Box<PublicMessage>,
    },
    Deleted {
        room: String,
        id: String,
    },
    Sent {
        id: String,
    },
    History {
        room: String,
        /// Oldest first.
        messages: Vec<PublicMessage>,
        next_cursor: Option<String>,
        // Boxed to keep the frame type small, as a message is.
        #[serde(skip_serializing_if = "Option::is_none")]
        you: Option<Box<Me>>,
        /// The server's clock (Unix seconds): a client counts the edit
        /// window with it, not with its own clock, which may be off.
        now: i64,
        /// Who is in the room, with the first page only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        presence: Option<Box<Presence>>,
    },
    /// Who is in the room, after someone arrived or left.
    Presence {
        room: String,
        count: usize,
        people: Vec<String>,
        complete: bool,
    },
    Error {
        code: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        field: Option<String>,
        message: String,
        /// Seconds to wait before trying again (`rate_limited` only).
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after: Option<i64>,
    },
    /// The answer to a ping.
    Pong,
    /// A moderator's action done: `target` (the message id or the name)
    /// and how many messages or connections it removed.
    Moderated {
        op: ModerateOp,
        target: String,
        count: usize,
    },
}

/// The messages of a history page that fit in `budget` bytes of JSON, oldest
/// first, and the cursor of the page before them. `newest_first` is what
/// storage returned, `more` whether older messages lie beyond it. At least
/// one message is kept (a maximal message always fits), so a client paging
/// with the cursor always advances.
pub fn fit_history(
    newest_first: &[PublicMessage],
    more: bool,
    budget: usize,
) -> (Vec<PublicMessage>, Option<String>) {
    let mut used = 2; // the brackets
    let mut count = 0;
    for message in newest_first {
        let size = serde_json::to_string(message).map_or(usize::MAX / 2, |s| s.len()) + 1;
        if count > 0 && used + size > budget {
            break;
        }
        used += size;
        count += 1;
    }
    let kept = &newest_first[..count];
    let next_cursor = if count < newest_first.len() || more {
        kept.last().map(|m| m.id.clone())
    } else {
        None
    };
    (kept.iter().rev().cloned().collect(), next_cursor)
}

/// The `history` frame for the caller: as many messages as fit in
/// `HISTORY_FRAME_BUDGET_BYTES` with the caller's identity, so the client
/// always learns its token, however large the messages.
pub fn history_frame(
    room: &str,
    newest_first: &[PublicMessage],
    more: bool,
    you: Me,
    now: i64,
    presence: Option<Presence>,
) -> Frame {
    let envelope = Frame::History {
        room: room.to_string(),
        messages: Vec::new(),
        next_cursor: Some("0".repeat(26)),
        you: Some(Box::new(you.clone())),
        now,
        presence: presence.clone().map(Box::new),
    }
    .to_json()
    .len();
    let budget = HISTORY_FRAME_BUDGET_BYTES.saturating_sub(envelope);
    let (messages, next_cursor) = fit_history(newest_first, more, budget);
    Frame::History {
        room: room.to_string(),
        messages,
        next_cursor,
        you: Some(Box::new(you)),
        now,
        presence: presence.map(Box::new),
    }
}

impl Request {
    /// The action's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Send { .. } => "send",
            Request::Edit { .. } => "edit",
            Request::Delete { .. } => "delete",
            Request::History { .. } => "history",
            Request::Ping => "ping",
            Request::Moderate { .. } => "moderate",
        }
    }
}

impl Frame {
    /// The frame's type, or an error's code, for logs.
    pub fn kind(&self) -> &str {
        match self {
            Frame::Message { .. } => "message",
            Frame::Edited { .. } => "edited",
            Frame::Deleted { .. } => "deleted",
            Frame::Sent { .. } => "sent",
            Frame::History { .. } => "history",
            Frame::Presence { .. } => "presence",
            Frame::Pong => "pong",
            Frame::Moderated { .. } => "moderated",
            Frame::Error { code, .. } => code,
        }
    }

    pub fn error(code: &str, field: Option<&str>, message: impl Into<String>) -> Frame {
        Frame::Error {
            code: code.to_string(),
            field: field.map(str::to_string),
            message: message.into(),
            retry_after: None,
        }
    }

    /// Over a per-client limit: when to try again, in seconds.
    pub fn rate_limited(retry_after: i64, messages: u32, per_seconds: i64) -> Frame {
        Frame::Error {
            code: "rate_limited".to_string(),
            field: None,
            message: format!(
                "at most {messages} requests in {per_seconds} seconds from one client; try again in {retry_after} s"
            ),
            retry_after: Some(retry_after),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"error","code":"internal","message":"unencodable frame"}"#.to_string()
        })
    }
}

/// Parses a client frame; every rejection is an error frame, never a panic.
pub fn parse_request(body: Option<&str>) -> Result<Request, Frame> {
    let body = body.unwrap_or("");
    if body.len() > MAX_FRAME_BYTES {
        return Err(Frame::error(
            "too_large",
            None,
            format!("frames are limited to {MAX_FRAME_BYTES} bytes"),
        ));
    }
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| Frame::error("bad_request", None, format!("the frame is not JSON: {e}")))?;
    let action = value
        .get("action")
        .and_then(|a| a.as_str())
        .unwrap_or("")
        .to_string();
    if !["send", "edit", "delete", "history", "ping", "moderate"].contains(&action.as_str()) {
        return Err(Frame::error(
            "unknown_action",
            Some("action"),
            format!(
                "unknown action `{}`: use send, edit, delete, history or ping",
                cut(&action, 40)
            ),
        ));
    }
    let request = serde_json::from_value(value)
        .map_err(|e| Frame::error("bad_request", None, cut(&format!("{action}: {e}"), 200)))?;
    checked(request)
}

/// Whether `text` is a message id: a ULID, 26 characters of Crockford's
/// base 32. Ids and cursors become DynamoDB keys, where a long one is a
/// ValidationException (a 500): they are checked first.
pub fn is_message_id(text: &str) -> bool {
    text.len() == 26 && ulid::Ulid::from_string(text).is_ok()
}

/// The request, its ids and cursor checked to be message ids.
fn checked(request: Request) -> Result<Request, Frame> {
    let (field, value) = match &request {
        Request::Edit { id, .. } | Request::Delete { id } => ("id", Some(id)),
        Request::Moderate { id, .. } => ("id", id.as_ref()),
        Request::History { cursor, .. } => ("cursor", cursor.as_ref()),
        _ => return Ok(request),
    };
    match value {
        Some(value) if !is_message_id(value) => Err(Frame::error(
            "invalid",
            Some(field),
            format!(
                "{field}: `{}` is not a message id (26 characters, a ULID)",
                cut(value, 40)
            ),
        )),
        _ => Ok(request),
    }
}

/// At most `max` characters of `text`, marked when cut: what a client sent
/// goes back in errors and into logs, never in full.
pub fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests;
