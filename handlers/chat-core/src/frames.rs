//! WebSocket frames: what clients send (`action`) and what they receive (`type`).

use serde::{Deserialize, Serialize};

use crate::model::PublicMessage;

/// The largest frame a client may send, in bytes.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;

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
}

/// Who the caller is, sent with the history so a client learns its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub name: String,
    pub token: String,
}

/// Everything a client can receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    Message {
        message: PublicMessage,
    },
    Edited {
        message: PublicMessage,
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
        #[serde(skip_serializing_if = "Option::is_none")]
        you: Option<Me>,
    },
    Error {
        code: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        field: Option<String>,
        message: String,
    },
}

impl Frame {
    pub fn error(code: &str, field: Option<&str>, message: impl Into<String>) -> Frame {
        Frame::Error {
            code: code.to_string(),
            field: field.map(str::to_string),
            message: message.into(),
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
    if !["send", "edit", "delete", "history"].contains(&action.as_str()) {
        return Err(Frame::error(
            "unknown_action",
            Some("action"),
            format!("unknown action `{action}`: use send, edit, delete or history"),
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| Frame::error("bad_request", None, format!("{action}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        assert_eq!(
            parse_request(Some(r#"{"action":"send","text":"hi"}"#)),
            Ok(Request::Send { text: "hi".into() })
        );
        assert_eq!(
            parse_request(Some(r#"{"action":"history"}"#)),
            Ok(Request::History {
                cursor: None,
                limit: None
            })
        );
    }

    #[test]
    fn bad_frames_are_error_frames() {
        let code = |body: &str| match parse_request(Some(body)) {
            Err(Frame::Error { code, .. }) => code,
            other => panic!("expected an error frame, got {other:?}"),
        };
        assert_eq!(code("not json"), "bad_request");
        assert_eq!(code(r#"{"action":"dance"}"#), "unknown_action");
        assert_eq!(code(r#"{"text":"no action"}"#), "unknown_action");
        assert_eq!(code(r#"{"action":"edit","text":"no id"}"#), "bad_request");
        assert_eq!(code(r#"{"action":"send","text":5}"#), "bad_request");
        assert_eq!(
            code(&format!(
                r#"{{"action":"send","text":"{}"}}"#,
                "a".repeat(MAX_FRAME_BYTES)
            )),
            "too_large"
        );
        assert_eq!(
            code(&format!("{}1{}", "[".repeat(200), "]".repeat(200))),
            "bad_request"
        );
        assert!(parse_request(None).is_err());
    }

    #[test]
    fn frames_serialize_with_their_type() {
        let json = Frame::Deleted {
            room: "r".into(),
            id: "1".into(),
        }
        .to_json();
        assert_eq!(json, r#"{"type":"deleted","room":"r","id":"1"}"#);
    }
}
