//! The function's configuration, from the environment the template sets.

use std::env;

/// Names and limits every handler reads once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub messages_table: String,
    pub connections_table: String,
    pub connections_room_index: String,
    /// Per-client counters (`limits`).
    pub limits_table: String,
    /// The FIFO queue of fan-out deliveries (`delivery`).
    pub delivery_queue_url: String,
    /// The site's own origins (`https://HOST`), for the HTTP API's cross-site check.
    pub site_origins: Vec<String>,
    /// The secret header value CloudFront adds to what it forwards to the
    /// HTTP API: a request carrying it came through CloudFront, so its
    /// viewer address header is CloudFront's (`http::client_address`).
    pub origin_verify: Option<String>,
    /// With `protection.waf`: a request without the secret is refused.
    pub cloudfront_only: bool,
    /// The secret author tokens are sealed under in the connections table
    /// (`sealed`); without one (tests, old stacks) they are stored as given.
    pub token_key: Option<crate::sealed::Secret>,
    pub site_bucket: String,
    /// `https://{api}.execute-api.{region}.amazonaws.com/{stage}`.
    pub management_endpoint: String,
    pub max_message_bytes: usize,
    pub history_length: usize,
    pub message_retention_days: i64,
    /// Requests (send, edit, delete, history, HTTP post) per client and window.
    pub rate_limit_messages: u32,
    pub rate_limit_seconds: i64,
    /// Open WebSocket connections per source address.
    pub connections_per_address: u32,
    /// Open WebSocket connections per room.
    pub connections_per_room: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            messages_table: "messages".into(),
            connections_table: "connections".into(),
            connections_room_index: "by-room-keys".into(),
            limits_table: "limits".into(),
            delivery_queue_url: String::new(),
            site_origins: Vec::new(),
            origin_verify: None,
            cloudfront_only: false,
            token_key: None,
            site_bucket: "site".into(),
            management_endpoint: String::new(),
            max_message_bytes: crate::validate::DEFAULT_MAX_MESSAGE_BYTES,
            history_length: 50,
            message_retention_days: 30,
            rate_limit_messages: 5,
            rate_limit_seconds: 5,
            connections_per_address: 20,
            connections_per_room: 10_000,
        }
    }
}

impl Settings {
    pub fn from_env() -> Settings {
        let defaults = Settings::default();
        let text = |name: &str, default: String| env::var(name).unwrap_or(default);
        let number = |name: &str, default: i64| {
            env::var(name)
                .ok()
                .and_then(|v| v.parse::<i64>().ok())
                .filter(|v| *v > 0)
                .unwrap_or(default)
        };
        Settings {
            messages_table: text("MESSAGES_TABLE", defaults.messages_table),
            connections_table: text("CONNECTIONS_TABLE", defaults.connections_table),
            connections_room_index: text("CONNECTIONS_ROOM_INDEX", defaults.connections_room_index),
            limits_table: text("LIMITS_TABLE", defaults.limits_table),
            delivery_queue_url: text("DELIVERY_QUEUE_URL", defaults.delivery_queue_url),
            site_origins: text("SITE_ORIGINS", String::new())
                .split(',')
                .map(str::trim)
                .filter(|origin| !origin.is_empty())
                .map(str::to_string)
                .collect(),
            origin_verify: env::var("ORIGIN_VERIFY").ok().filter(|v| !v.is_empty()),
            cloudfront_only: env::var("CLOUDFRONT_ONLY").is_ok_and(|v| v == "true"),
            token_key: env::var("TOKEN_KEY")
                .ok()
                .filter(|v| !v.is_empty())
                .map(crate::sealed::Secret),
            site_bucket: text("SITE_BUCKET", defaults.site_bucket),
            management_endpoint: management_endpoint(
                &text("WEBSOCKET_MANAGEMENT_ENDPOINT", String::new()),
                env::var("EXECUTE_API_ENDPOINT_OVERRIDE").ok().as_deref(),
            ),
            // chatctl refuses more; the clamp keeps a hand-edited function safe.
            max_message_bytes: (number("MAX_MESSAGE_BYTES", defaults.max_message_bytes as i64)
                as usize)
                .min(crate::frames::MAX_MESSAGE_BYTES_LIMIT),
            history_length: number("HISTORY_LENGTH", defaults.history_length as i64) as usize,
            message_retention_days: number(
                "MESSAGE_RETENTION_DAYS",
                defaults.message_retention_days,
            ),
            rate_limit_messages: number("RATE_LIMIT_MESSAGES", defaults.rate_limit_messages as i64)
                as u32,
            rate_limit_seconds: number("RATE_LIMIT_SECONDS", defaults.rate_limit_seconds),
            connections_per_address: number(
                "CONNECTIONS_PER_ADDRESS",
                defaults.connections_per_address as i64,
            ) as u32,
            connections_per_room: number(
                "CONNECTIONS_PER_ROOM",
                defaults.connections_per_room as i64,
            ) as u32,
        }
    }
}

/// The API Gateway management endpoint. On AWS it is the one the template
/// sets; a local emulator serves it under another base URL, given by
/// `EXECUTE_API_ENDPOINT_OVERRIDE` (for example
/// `http://127.0.0.1:4566/_aws/execute-api`): the one emulator-specific
/// input, and no "am I local" branch anywhere else.
pub fn management_endpoint(aws_endpoint: &str, override_base: Option<&str>) -> String {
    let Some(base) = override_base.filter(|b| !b.is_empty()) else {
        return aws_endpoint.to_string();
    };
    let without_scheme = aws_endpoint.split("://").nth(1).unwrap_or(aws_endpoint);
    let (host, stage) = without_scheme
        .split_once('/')
        .unwrap_or((without_scheme, ""));
    let api_id = host.split('.').next().unwrap_or(host);
    format!("{}/{api_id}/{stage}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_override_keeps_api_and_stage() {
        let aws = "https://abc123.execute-api.us-east-1.amazonaws.com/dev";
        assert_eq!(management_endpoint(aws, None), aws);
        assert_eq!(
            management_endpoint(aws, Some("http://127.0.0.1:4566/_aws/execute-api/")),
            "http://127.0.0.1:4566/_aws/execute-api/abc123/dev"
        );
    }
}
