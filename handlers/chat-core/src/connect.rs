//! `$connect` and `$disconnect`.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::encodings::Body;
use lambda_runtime::{Error, LambdaEvent};
use sha2::{Digest, Sha256};

use crate::auth::{Refused, SignIn};
use crate::limits::address_key;
use crate::model::Connection;
use crate::ports::{ConnectionStore, Slots};
use crate::slots::Refusal;
use crate::validate::{validate_name, validate_room};

/// API Gateway closes WebSocket connections after two hours; the item goes a little later.
pub const CONNECTION_TTL_SECONDS: i64 = 3 * 3600;

/// How long a `$connect` may still be running after its connection's item
/// was stored: API Gateway's integration timeout is 29 seconds, and until
/// the handshake completes a post to the connection answers 410 Gone as if
/// it had left. A connection this young is never pruned on a 410
/// (`ConnectionStore::prune_connection`).
pub const HANDSHAKE_SECONDS: i64 = 30;

/// The latest `expires_at` of a connection whose handshake is surely over
/// at `now` (an item is stored with `expires_at` = its time +
/// `CONNECTION_TTL_SECONDS`).
pub fn handshake_over_by(now: i64) -> i64 {
    now + CONNECTION_TTL_SECONDS - HANDSHAKE_SECONDS
}

/// SHA-256 hex of an author token: what messages store, never the token.
pub fn author_key(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A token a client may bring back after reconnecting: 22 to 128 URL-safe characters.
pub fn valid_token(token: &str) -> bool {
    (22..=128).contains(&token.len())
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// 128 random bits, hex.
pub fn new_token() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub fn response(status: i64, body: &str) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status;
    response.body = Some(Body::Text(body.to_string()));
    response
}

/// A connection over a per-address or per-room cap: the handshake fails
/// with 429 (the client cannot read a body; the page says what 429 means).
fn too_many(message: &str) -> ApiGatewayProxyResponse {
    tracing::info!(message, "connection refused");
    response(
        429,
        &serde_json::json!({ "error": { "code": "rate_limited", "message": message } }).to_string(),
    )
}

/// A handshake without an accepted sign-in: 401 or 403 (503 when the
/// pool's keys could not be read).
fn not_signed_in(refused: &Refused) -> ApiGatewayProxyResponse {
    tracing::info!(reason = %refused, "connection refused");
    response(
        i64::from(refused.status()),
        &serde_json::json!({ "error": { "code": refused.code(), "message": refused.to_string() } })
            .to_string(),
    )
}

fn refuse(field: &str, message: &str) -> ApiGatewayProxyResponse {
    tracing::info!(field, message, "connection refused");
    response(
        400,
        &serde_json::json!({ "error": { "field": field, "message": message } }).to_string(),
    )
}

/// Validates `room` and `name` and stores the connection with its author
/// token (the chat without sign-in).
pub async fn handle_connect<S: ConnectionStore + Slots>(
    store: &S,
    event: LambdaEvent<ApiGatewayWebsocketProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    handle_connect_signed(store, &crate::auth::SIGN_IN_OFF, event).await
}

/// [`handle_connect`], and with sign-in on, the connection's person from
/// the ID token in `id_token` (API Gateway never caches a WebSocket
/// `$connect`, so this runs for every handshake, against the cached JWKS):
/// no token refuses the handshake with 401, a token not accepted with 403,
/// and the name comes from the token, never from `name`.
pub async fn handle_connect_signed<S: ConnectionStore + Slots, A: SignIn>(
    store: &S,
    sign_in: &A,
    event: LambdaEvent<ApiGatewayWebsocketProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    let request = event.payload;
    let query = &request.query_string_parameters;
    let Some(connection_id) = request.request_context.connection_id.clone() else {
        return Ok(refuse("connection_id", "the request has no connection id"));
    };
    let room = query.first("room").unwrap_or_default();
    if let Err(e) = validate_room(room) {
        return Ok(refuse(e.field(), &e.to_string()));
    }
    let person = match sign_in.auth() {
        None => None,
        Some(_) => match sign_in
            .verify(query.first("id_token").unwrap_or_default())
            .await
        {
            Ok(person) => Some(person),
            Err(refused) => return Ok(not_signed_in(&refused)),
        },
    };
    let name = match &person {
        Some(person) => person.name.as_str(),
        None => query.first("name").unwrap_or_default(),
    };
    if let Err(e) = validate_name(name) {
        return Ok(refuse(e.field(), &e.to_string()));
    }
    let token = match (&person, query.first("token")) {
        // One token per person, whatever the device (`auth::person_token`).
        (Some(person), _) => match &store.settings().token_key {
            Some(key) => crate::auth::person_token(&key.0, &person.user),
            None => new_token()?,
        },
        (None, Some(token)) if valid_token(token) => token.to_string(),
        (None, Some(_)) => {
            return Ok(refuse(
                "token",
                "token: must be 22 to 128 characters of A-Z, a-z, 0-9, '-' and '_'",
            ))
        }
        (None, None) => new_token()?,
    };
    let now = crate::now_seconds();
    let address = address_key(request.request_context.identity.source_ip.as_deref());
    let settings = store.settings();
    match store.admit(&address, room, now).await? {
        Ok(()) => {}
        Err(Refusal::AddressFull) => {
            return Ok(too_many(&format!(
            "at most {} open connections from one address; close another tab or try again later",
            settings.connections_per_address
        )))
        }
        Err(Refusal::RoomFull) => {
            return Ok(too_many(&format!(
                "the room is full ({} connections); try again later",
                settings.connections_per_room
            )))
        }
    }
    let connection = Connection {
        connection_id,
        room: room.to_string(),
        name: name.to_string(),
        author: author_key(&token),
        token,
        token_sealed: None,
        expires_at: now + CONNECTION_TTL_SECONDS,
        client: Some(address.clone()),
        user: person.as_ref().map(|p| p.user.clone()),
        moderator: person.as_ref().is_some_and(|p| p.moderator),
    };
    if let Err(e) = store.put_connection(&connection).await {
        // The slot would otherwise stay taken until its counter expires.
        if let Err(release) = store.release_slots(&address, room).await {
            tracing::warn!(error = %release, "slot not released");
        }
        return Err(e.into());
    }
    tracing::info!(room, "connected");
    Ok(response(200, "connected"))
}

/// Removes the connection.
pub async fn handle_disconnect<S: ConnectionStore>(
    store: &S,
    event: LambdaEvent<ApiGatewayWebsocketProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    if let Some(connection_id) = event.payload.request_context.connection_id.as_deref() {
        store.delete_connection(connection_id).await?;
    }
    Ok(response(200, "disconnected"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{lock, Memory};
    use crate::test_events;
    use crate::Settings;

    const ADA: &str = "203.0.113.7";
    const BOB: &str = "198.51.100.9";

    fn status_and_body(response: &ApiGatewayProxyResponse) -> (i64, String) {
        let body = match &response.body {
            Some(Body::Text(text)) => text.clone(),
            _ => String::new(),
        };
        (response.status_code, body)
    }

    async fn join(store: &Memory, connection: &str, ip: &str, room: &str) -> (i64, String) {
        let event = test_events::connect(connection, ip, &[("room", room), ("name", "Ada")]);
        status_and_body(&handle_connect(store, event).await.expect("answered"))
    }

    #[tokio::test]
    async fn a_connection_is_stored_with_its_token_hashed_and_holds_its_slots() {
        let store = Memory::new(Settings::default());
        let token = "t".repeat(22);
        let event = test_events::connect(
            "c1",
            ADA,
            &[("room", "general"), ("name", "Ada"), ("token", &token)],
        );
        let response = handle_connect(&store, event).await.expect("answered");
        assert_eq!(status_and_body(&response).0, 200);
        let stored = lock(&store.connections).get("c1").cloned().expect("stored");
        assert_eq!(stored.room, "general");
        assert_eq!(stored.name, "Ada");
        assert_eq!(stored.author, author_key(&token), "messages carry the hash");
        assert_eq!(stored.client, Some(address_key(Some(ADA))));
        assert_eq!(store.open_slots("room#general"), 1);
        assert_eq!(
            store.open_slots(&format!("address#{}", address_key(Some(ADA)))),
            1
        );
        // Without a token, the connection gets a fresh one.
        join(&store, "c2", BOB, "general").await;
        let fresh = lock(&store.connections).get("c2").cloned().expect("stored");
        assert!(valid_token(&fresh.token));
        assert_ne!(fresh.author, stored.author);
    }

    #[tokio::test]
    async fn a_bad_room_name_or_token_is_refused_before_anything_is_touched() {
        let store = Memory::new(Settings::default());
        for (query, field) in [
            (vec![("room", "no spaces"), ("name", "Ada")], "room"),
            (vec![("room", "general"), ("name", "")], "name"),
            (
                vec![("room", "general"), ("name", "Ada"), ("token", "short")],
                "token",
            ),
        ] {
            let event = test_events::connect("c1", ADA, &query);
            let (status, body) =
                status_and_body(&handle_connect(&store, event).await.expect("answered"));
            assert_eq!(status, 400, "{query:?}");
            let body: serde_json::Value = serde_json::from_str(&body).expect("json");
            assert_eq!(body["error"]["field"], field, "{query:?}");
        }
        assert!(store.calls().is_empty(), "{:?}", store.calls());
    }

    #[tokio::test]
    async fn a_full_room_or_address_is_429_and_takes_no_slot() {
        let store = Memory::new(Settings {
            connections_per_room: 1,
            connections_per_address: 2,
            ..Settings::default()
        });
        assert_eq!(join(&store, "c1", ADA, "small").await.0, 200);
        let (status, body) = join(&store, "c2", BOB, "small").await;
        assert_eq!(status, 429);
        assert!(body.contains("the room is full (1 connections)"), "{body}");
        assert_eq!(join(&store, "c3", ADA, "other").await.0, 200);
        let (status, body) = join(&store, "c4", ADA, "third").await;
        assert_eq!(status, 429);
        assert!(
            body.contains("at most 2 open connections from one address"),
            "{body}"
        );
        assert_eq!(lock(&store.connections).len(), 2);
        assert_eq!(
            store.open_slots(&format!("address#{}", address_key(Some(BOB)))),
            0
        );
        assert_eq!(store.open_slots("room#third"), 0);
    }

    #[tokio::test]
    async fn a_connection_that_cannot_be_stored_gives_its_slots_back() {
        let store = Memory::new(Settings::default());
        store.fail("put_connection");
        let event = test_events::connect("c1", ADA, &[("room", "general"), ("name", "Ada")]);
        assert!(
            handle_connect(&store, event).await.is_err(),
            "the handshake fails"
        );
        assert_eq!(store.open_slots("room#general"), 0);
        assert_eq!(
            store.open_slots(&format!("address#{}", address_key(Some(ADA)))),
            0
        );
    }

    #[tokio::test]
    async fn a_disconnect_removes_the_connection_and_gives_its_slots_back_once() {
        let store = Memory::new(Settings::default());
        join(&store, "c1", ADA, "general").await;
        join(&store, "c2", BOB, "general").await;
        for _ in 0..2 {
            let response = handle_disconnect(&store, test_events::disconnect("c1"))
                .await
                .expect("answered");
            assert_eq!(response.status_code, 200);
        }
        assert!(!lock(&store.connections).contains_key("c1"));
        assert_eq!(store.open_slots("room#general"), 1, "c2 keeps its slot");
    }

    #[test]
    fn tokens() {
        let token = new_token().expect("token");
        assert_eq!(token.len(), 32);
        assert!(valid_token(&token));
        assert_ne!(token, new_token().expect("token"));
        assert!(!valid_token("short"));
        assert!(!valid_token(&"a/".repeat(20)));
        assert_eq!(author_key("t").len(), 64);
        assert_ne!(author_key("t"), author_key("u"));
    }
}
