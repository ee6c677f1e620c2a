//! Limits per client, not per connection: a reconnect, a second socket or a
//! switch to HTTP does not reset them.
//!
//! A client is its source address (an IPv6 address counts by its /64, the
//! block one host is given) and, over the WebSocket, its author token too.
//! Every send, edit, delete, history request and HTTP post is charged to
//! each of them; over the limit on any one, the request is refused with the
//! seconds until the window turns. The counters live in the limits table,
//! keyed by what they count and the window, and expire on their own (TTL),
//! so nothing is cleaned up and nothing grows. Addresses are stored hashed.
//! Connection caps are in `slots`.

use std::net::IpAddr;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use sha2::{Digest, Sha256};

use crate::ports::{ClientLimits, Configured};
use crate::store::{failed, Store, StoreError};

/// What a client is charged as: each subject has its own counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The hashed source address (see [`address_key`]).
    pub address: String,
    /// The author key (hashed token) of a WebSocket client; none over HTTP.
    pub author: Option<String>,
}

impl Client {
    /// The counters a request is charged to.
    fn subjects(&self) -> Vec<String> {
        let mut subjects = vec![format!("address#{}", self.address)];
        if let Some(author) = &self.author {
            subjects.push(format!("author#{author}"));
        }
        subjects
    }
}

/// An address as limits count it: 32 hex digits of the SHA-256 of the
/// address, or of its /64 for IPv6 (one host gets a whole /64 and could
/// otherwise take a new address per request). No address at all (never on
/// AWS) counts as one shared client, so a missing field cannot lift a limit.
pub fn address_key(source_ip: Option<&str>) -> String {
    let counted = match source_ip.map(str::trim).map(str::parse::<IpAddr>) {
        Some(Ok(IpAddr::V6(v6))) if v6.to_ipv4_mapped().is_none() => {
            let segments = v6.segments();
            format!(
                "{:x}:{:x}:{:x}:{:x}::/64",
                segments[0], segments[1], segments[2], segments[3]
            )
        }
        Some(Ok(IpAddr::V6(v6))) => v6.to_canonical().to_string(),
        Some(Ok(ip)) => ip.to_string(),
        Some(Err(_)) | None => "unknown".to_string(),
    };
    Sha256::digest(counted.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The fixed window `now` falls in, and the seconds left in it (at least 1).
pub fn window(now: i64, per_seconds: i64) -> (i64, i64) {
    let per_seconds = per_seconds.max(1);
    let index = now.div_euclid(per_seconds);
    (index, (index + 1) * per_seconds - now)
}

/// The answer to a charge or an admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit: try again after this many seconds.
    Limited {
        retry_after: i64,
    },
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

impl ClientLimits for Store {
    /// Charges one request to every subject of `client`: `Limited` when any
    /// of them is past `chat.rate_limit` in the current window. One atomic
    /// `ADD` per subject, so concurrent requests from many sockets or
    /// functions cannot slip past it.
    async fn charge(&self, client: &Client, now: i64) -> Result<Verdict, StoreError> {
        let settings = self.settings();
        let (index, retry_after) = window(now, settings.rate_limit_seconds);
        let charges = client.subjects().into_iter().map(|subject| async move {
            let out = self
                .client()
                .update_item()
                .table_name(&settings.limits_table)
                .key("key", s(&format!("rate#{subject}#{index}")))
                .update_expression("ADD hits :one SET expires_at = :expires")
                .expression_attribute_values(":one", n(1))
                // Kept one window past its own, then TTL removes it.
                .expression_attribute_values(
                    ":expires",
                    n(now + retry_after + settings.rate_limit_seconds),
                )
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await
                .map_err(|e| failed(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            let hits = match out.attributes().and_then(|a| a.get("hits")) {
                Some(AttributeValue::N(hits)) => hits.parse::<i64>().map_err(failed)?,
                _ => return Err(StoreError::Failed("the counter has no hits".into())),
            };
            Ok::<i64, StoreError>(hits)
        });
        let hits = futures::future::try_join_all(charges).await?;
        let over = hits
            .iter()
            .any(|hits| *hits > i64::from(settings.rate_limit_messages));
        Ok(if over {
            Verdict::Limited { retry_after }
        } else {
            Verdict::Allowed
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_count_by_host_and_ipv6_by_its_64() {
        let v4 = address_key(Some("203.0.113.7"));
        assert_eq!(v4.len(), 32);
        assert!(!v4.contains("203"));
        assert_ne!(v4, address_key(Some("203.0.113.8")));
        // One /64 is one client, whatever its last 64 bits.
        assert_eq!(
            address_key(Some("2001:db8:1:2::1")),
            address_key(Some("2001:db8:1:2:ffff:1:2:3"))
        );
        assert_ne!(
            address_key(Some("2001:db8:1:2::1")),
            address_key(Some("2001:db8:1:3::1"))
        );
        // An IPv4-mapped address is its IPv4 address.
        assert_eq!(address_key(Some("::ffff:203.0.113.7")), v4);
        // Nothing, or garbage, is one shared client, never a free pass.
        assert_eq!(address_key(None), address_key(Some("not an address")));
    }

    #[test]
    fn windows_are_fixed_and_say_when_they_turn() {
        assert_eq!(window(100, 5), (20, 5));
        assert_eq!(window(104, 5), (20, 1));
        assert_eq!(window(105, 5), (21, 5));
        assert_eq!(window(7, 0), (7, 1), "a zero window is one second");
    }

    #[test]
    fn websocket_clients_are_charged_twice_and_http_once() {
        let ws = Client {
            address: "a".into(),
            author: Some("t".into()),
        };
        assert_eq!(ws.subjects(), ["address#a", "author#t"]);
        let http = Client {
            address: "a".into(),
            author: None,
        };
        assert_eq!(http.subjects(), ["address#a"]);
    }
}
