//! The chat's limits, defined once. chatctl checks them in `chatctl.yaml`,
//! writes them into every function's environment and the site's
//! `config.json`; the handlers read them back. Each has its environment
//! variable, its key in the `chat` section, its default and the values
//! allowed, here and nowhere else. No dependencies, so chatctl can link it
//! without the handlers' AWS clients.

use std::fmt;

pub mod work;

/// One limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The functions' environment variable.
    pub variable: &'static str,
    /// Its place in `chatctl.yaml`, under `chat`.
    pub key: &'static str,
    pub default: u32,
    pub min: u32,
    pub max: u32,
    /// Why the range is what it is, for the error that names it.
    pub why: &'static str,
}

impl Limit {
    /// `value` if it is allowed; otherwise what is wrong, in words.
    pub fn check(&self, value: u32) -> Result<u32, String> {
        if (self.min..=self.max).contains(&value) {
            Ok(value)
        } else {
            Err(format!(
                "{} {value} is out of range: {} to {} ({})",
                self.key, self.min, self.max, self.why
            ))
        }
    }
}

/// The longest message, in bytes. A message must fit a client's 32 KB
/// WebSocket frame, and every frame carrying it the 128 KB API Gateway
/// delivers.
pub const MAX_MESSAGE_BYTES: Limit = Limit {
    variable: "MAX_MESSAGE_BYTES",
    key: "max_message_bytes",
    default: 2_000,
    min: 1,
    max: 32_000,
    why: "a message must fit one 32 KB WebSocket frame from the browser",
};

/// Messages per history page and snapshot.
pub const HISTORY_LENGTH: Limit = Limit {
    variable: "HISTORY_LENGTH",
    key: "history_length",
    default: 50,
    min: 1,
    max: 100,
    why: "a page and a snapshot hold at most 100 messages",
};

/// Days a message is kept (DynamoDB's TTL then deletes it).
pub const MESSAGE_RETENTION_DAYS: Limit = Limit {
    variable: "MESSAGE_RETENTION_DAYS",
    key: "message_retention_days",
    default: 30,
    min: 1,
    max: u32::MAX,
    why: "a whole number of days greater than zero",
};

/// Requests (sends, edits, deletes, history pages, HTTP posts) per client
/// and window.
pub const RATE_LIMIT_MESSAGES: Limit = Limit {
    variable: "RATE_LIMIT_MESSAGES",
    key: "rate_limit.messages",
    default: 5,
    min: 1,
    max: u32::MAX,
    why: "a whole number greater than zero",
};

/// The window of `RATE_LIMIT_MESSAGES`, in seconds.
pub const RATE_LIMIT_SECONDS: Limit = Limit {
    variable: "RATE_LIMIT_SECONDS",
    key: "rate_limit.per_seconds",
    default: 5,
    min: 1,
    max: u32::MAX,
    why: "a whole number greater than zero",
};

/// Open WebSocket connections per source address.
pub const CONNECTIONS_PER_ADDRESS: Limit = Limit {
    variable: "CONNECTIONS_PER_ADDRESS",
    key: "connections.per_address",
    default: 20,
    min: 1,
    max: u32::MAX,
    why: "a whole number greater than zero",
};

/// Open WebSocket connections per room.
pub const CONNECTIONS_PER_ROOM: Limit = Limit {
    variable: "CONNECTIONS_PER_ROOM",
    key: "connections.per_room",
    default: 10_000,
    min: 1,
    max: u32::MAX,
    why: "a whole number greater than zero",
};

/// How long after sending a message its author may edit or delete it.
pub const EDIT_WINDOW_SECONDS: i64 = 15 * 60;

/// Push subscriptions a room holds at most: the notify function's work per
/// message grows with them, so a room cannot be made to cost without bound.
pub const PUSH_SUBSCRIPTIONS_PER_ROOM: usize = 1_000;

/// A push subscription lapses this long after it was last stored: the
/// page stores it again on each visit to the room.
pub const PUSH_SUBSCRIPTION_DAYS: i64 = 90;

/// The most of a message's text a notification carries (characters): a
/// push message holds at most 4,096 bytes, and a notification shows a line.
pub const PUSH_TEXT_CHARS: usize = 300;

/// The limits of one deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_message_bytes: u32,
    pub history_length: u32,
    pub message_retention_days: u32,
    pub rate_limit_messages: u32,
    pub rate_limit_seconds: u32,
    pub connections_per_address: u32,
    pub connections_per_room: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: MAX_MESSAGE_BYTES.default,
            history_length: HISTORY_LENGTH.default,
            message_retention_days: MESSAGE_RETENTION_DAYS.default,
            rate_limit_messages: RATE_LIMIT_MESSAGES.default,
            rate_limit_seconds: RATE_LIMIT_SECONDS.default,
            connections_per_address: CONNECTIONS_PER_ADDRESS.default,
            connections_per_room: CONNECTIONS_PER_ROOM.default,
        }
    }
}

/// A limit the environment lacks or gives badly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    pub variable: &'static str,
    pub problem: String,
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the environment variable {} {}; chatctl sets it from chatctl.yaml: launch again (or update the function's configuration)",
            self.variable, self.problem
        )
    }
}

impl std::error::Error for LimitError {}

impl Limits {
    /// Each limit with its value, in one order.
    pub fn each(&self) -> [(Limit, u32); 7] {
        [
            (MAX_MESSAGE_BYTES, self.max_message_bytes),
            (HISTORY_LENGTH, self.history_length),
            (MESSAGE_RETENTION_DAYS, self.message_retention_days),
            (RATE_LIMIT_MESSAGES, self.rate_limit_messages),
            (RATE_LIMIT_SECONDS, self.rate_limit_seconds),
            (CONNECTIONS_PER_ADDRESS, self.connections_per_address),
            (CONNECTIONS_PER_ROOM, self.connections_per_room),
        ]
    }

    /// The functions' environment variables, as chatctl writes them.
    pub fn to_env(&self) -> Vec<(&'static str, String)> {
        self.each()
            .into_iter()
            .map(|(limit, value)| (limit.variable, value.to_string()))
            .collect()
    }

    /// The limits from an environment (`variable` gives a variable's value).
    /// Every one must be there and allowed: a function never runs on a
    /// default it was not given.
    pub fn from_env(variable: impl Fn(&str) -> Option<String>) -> Result<Limits, LimitError> {
        let read = |limit: Limit| -> Result<u32, LimitError> {
            let error = |problem: String| LimitError {
                variable: limit.variable,
                problem,
            };
            let text = variable(limit.variable).ok_or_else(|| error("is not set".to_string()))?;
            let value: u32 = text
                .trim()
                .parse()
                .map_err(|_| error(format!("is `{}`, not a whole number", cut(&text))))?;
            limit.check(value).map_err(error)
        };
        Ok(Limits {
            max_message_bytes: read(MAX_MESSAGE_BYTES)?,
            history_length: read(HISTORY_LENGTH)?,
            message_retention_days: read(MESSAGE_RETENTION_DAYS)?,
            rate_limit_messages: read(RATE_LIMIT_MESSAGES)?,
            rate_limit_seconds: read(RATE_LIMIT_SECONDS)?,
            connections_per_address: read(CONNECTIONS_PER_ADDRESS)?,
            connections_per_room: read(CONNECTIONS_PER_ROOM)?,
        })
    }
}

/// A value as an error shows it: at most 40 characters.
fn cut(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn what_chatctl_writes_the_handlers_read_back() {
        let limits = Limits {
            max_message_bytes: 4_000,
            history_length: 20,
            message_retention_days: 7,
            rate_limit_messages: 10,
            rate_limit_seconds: 60,
            connections_per_address: 3,
            connections_per_room: 500,
        };
        let env: HashMap<&str, String> = limits.to_env().into_iter().collect();
        assert_eq!(env.len(), 7, "one variable per limit");
        assert_eq!(Limits::from_env(|name| env.get(name).cloned()), Ok(limits));
        let defaults: HashMap<&str, String> = Limits::default().to_env().into_iter().collect();
        assert_eq!(
            Limits::from_env(|name| defaults.get(name).cloned()),
            Ok(Limits::default())
        );
    }

    #[test]
    fn a_missing_or_bad_value_is_named_never_defaulted() {
        let mut env: HashMap<&str, String> = Limits::default().to_env().into_iter().collect();
        env.remove("HISTORY_LENGTH");
        let error = Limits::from_env(|name| env.get(name).cloned()).expect_err("missing");
        assert_eq!(error.variable, "HISTORY_LENGTH");
        assert!(error.to_string().contains("is not set"), "{error}");
        env.insert("HISTORY_LENGTH", "101".into());
        let error = Limits::from_env(|name| env.get(name).cloned()).expect_err("too many");
        assert!(error.to_string().contains("1 to 100"), "{error}");
        env.insert("HISTORY_LENGTH", "fifty".into());
        let error = Limits::from_env(|name| env.get(name).cloned()).expect_err("not a number");
        assert!(error.to_string().contains("`fifty`"), "{error}");
        env.insert("HISTORY_LENGTH", "0".into());
        assert!(Limits::from_env(|name| env.get(name).cloned()).is_err());
    }

    #[test]
    fn every_default_is_allowed() {
        for (limit, value) in Limits::default().each() {
            assert_eq!(limit.check(value), Ok(value), "{}", limit.key);
        }
    }
}
