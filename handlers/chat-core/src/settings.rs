//! The function's configuration, from the environment the template sets.

use std::env;

/// Names and limits every handler reads once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub messages_table: String,
    pub connections_table: String,
    pub connections_room_index: String,
    /// The index listing a room's connections with names and authors (`presence`).
    pub connections_people_index: String,
    /// Per-client counters (`limits`).
    pub limits_table: String,
    /// The FIFO queue of fan-out deliveries (`delivery`).
    pub delivery_queue_url: String,
    /// Push subscriptions (`subscriptions`).
    pub subscriptions_table: String,
    /// New messages of rooms with subscriptions, for the notify function
    /// (`notify`), and where its notifications that never went out land.
    pub notify_queue_url: String,
    pub notify_dead_letters_url: String,
    /// The SSM parameter (SecureString) holding the VAPID private key.
    pub vapid_parameter: String,
    /// The VAPID `sub` claim: the site's URL, for push services to reach
    /// whoever runs the chat.
    pub vapid_subject: String,
    /// `chatctl --local`: push endpoints may be http on 127.0.0.1.
    pub push_allow_local: bool,
    /// The site's own origins (`https://HOST`), for the HTTP API's cross-site check.
    pub site_origins: Vec<String>,
    /// The secret header value CloudFront adds to what it forwards to the
    /// HTTP API: a request carrying it came through CloudFront, so its
    /// viewer address header is CloudFront's (`origin::client_address`).
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
    /// Sign-in with Cognito, when `auth` is on (`auth`).
    pub auth: Option<crate::auth::AuthSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::with_limits(&chat_limits::Limits::default(), |_| None)
    }
}

impl Settings {
    /// The settings from the function's environment. The chat's limits
    /// must all be there and allowed (`chat_limits`): a function never runs
    /// on a default it was not given.
    pub fn from_env() -> Result<Settings, chat_limits::LimitError> {
        Settings::from_vars(|name| env::var(name).ok())
    }

    /// [`Settings::from_env`] over any source of variables.
    pub fn from_vars(
        variable: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, chat_limits::LimitError> {
        let limits = chat_limits::Limits::from_env(&variable)?;
        Ok(Settings::with_limits(&limits, variable))
    }

    /// `limits`, and the names and endpoints from `variable` (tests and old
    /// stacks lack some: those have defaults, as no limit depends on them).
    fn with_limits(
        limits: &chat_limits::Limits,
        variable: impl Fn(&str) -> Option<String>,
    ) -> Settings {
        let text = |name: &str, default: &str| variable(name).unwrap_or_else(|| default.into());
        let secret = |name: &str| variable(name).filter(|v| !v.is_empty());
        Settings {
            messages_table: text("MESSAGES_TABLE", "messages"),
            connections_table: text("CONNECTIONS_TABLE", "connections"),
            connections_room_index: text("CONNECTIONS_ROOM_INDEX", "by-room-keys"),
            connections_people_index: text("CONNECTIONS_PEOPLE_INDEX", "by-room-people"),
            limits_table: text("LIMITS_TABLE", "limits"),
            delivery_queue_url: text("DELIVERY_QUEUE_URL", ""),
            subscriptions_table: text("SUBSCRIPTIONS_TABLE", "subscriptions"),
            notify_queue_url: text("NOTIFY_QUEUE_URL", ""),
            notify_dead_letters_url: text("NOTIFY_DEAD_LETTERS_URL", ""),
            vapid_parameter: text("VAPID_PARAMETER", ""),
            vapid_subject: text("VAPID_SUBJECT", "https://localhost"),
            push_allow_local: variable("PUSH_ALLOW_LOCAL").is_some_and(|v| v == "true"),
            site_origins: text("SITE_ORIGINS", "")
                .split(',')
                .map(str::trim)
                .filter(|origin| !origin.is_empty())
                .map(str::to_string)
                .collect(),
            origin_verify: secret("ORIGIN_VERIFY"),
            cloudfront_only: variable("CLOUDFRONT_ONLY").is_some_and(|v| v == "true"),
            token_key: secret("TOKEN_KEY").map(crate::sealed::Secret),
            site_bucket: text("SITE_BUCKET", "site"),
            management_endpoint: management_endpoint(
                &text("WEBSOCKET_MANAGEMENT_ENDPOINT", ""),
                variable("EXECUTE_API_ENDPOINT_OVERRIDE").as_deref(),
            ),
            max_message_bytes: limits.max_message_bytes as usize,
            history_length: limits.history_length as usize,
            message_retention_days: i64::from(limits.message_retention_days),
            rate_limit_messages: limits.rate_limit_messages,
            rate_limit_seconds: i64::from(limits.rate_limit_seconds),
            connections_per_address: limits.connections_per_address,
            connections_per_room: limits.connections_per_room,
            auth: crate::auth::AuthSettings::from_vars(
                &variable,
                variable("COGNITO_ENDPOINT_OVERRIDE").as_deref(),
            ),
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
    fn every_limit_comes_from_the_environment_or_the_function_refuses() {
        let env: std::collections::HashMap<&str, String> = chat_limits::Limits::default()
            .to_env()
            .into_iter()
            .collect();
        let settings = Settings::from_vars(|name| env.get(name).cloned()).expect("complete");
        assert_eq!(settings.history_length, 50);
        let mut bad = env.clone();
        bad.insert("RATE_LIMIT_SECONDS", "0".into());
        let error = Settings::from_vars(|name| bad.get(name).cloned()).expect_err("zero");
        assert_eq!(error.variable, "RATE_LIMIT_SECONDS");
        let mut missing = env;
        missing.remove("CONNECTIONS_PER_ROOM");
        assert!(Settings::from_vars(|name| missing.get(name).cloned()).is_err());
    }

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
