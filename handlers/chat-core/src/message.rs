//! The WebSocket routes chosen by `action`: send, edit, delete, history.
//! Replies and errors go to the caller only; everyone else learns of a
//! change through the stream fan-out.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_sdk_apigatewaymanagement::primitives::Blob;
use lambda_runtime::{Error, LambdaEvent};

use crate::connect::response;
use crate::frames::{history_frame, parse_request, Frame, Me, Request};
use crate::limits::{address_key, Client, Verdict};
use crate::model::{Message, PublicMessage, Source};
use crate::store::{Store, StoreError};
use crate::validate::validate_text;
use aws_sdk_apigatewaymanagement::Client as Management;

pub async fn handle(
    store: &Store,
    management: &Management,
    event: LambdaEvent<ApiGatewayWebsocketProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    let request = event.payload;
    let Some(connection_id) = request.request_context.connection_id.clone() else {
        return Ok(response(400, "no connection id"));
    };
    let mut room = None;
    let address = address_key(request.request_context.identity.source_ip.as_deref());
    let answered = answer(
        store,
        &connection_id,
        &address,
        request.body.as_deref(),
        &mut room,
    )
    .await;
    // One line per request, enough to attribute abuse and nothing a client
    // typed: a hashed address, the room, the action's name, the outcome.
    let outcome = match &answered {
        Ok(Some(frame)) | Err(frame) => frame.kind(),
        Ok(None) => "done",
    };
    tracing::info!(
        client = client_of(request.request_context.identity.source_ip.as_deref()),
        room = room.as_deref().unwrap_or("-"),
        action = action_of(request.body.as_deref()),
        outcome,
        "request"
    );
    let reply = answered.unwrap_or_else(Some);
    if let Some(frame) = reply {
        post(management, &connection_id, &frame).await;
    }
    // No body: replies travel as frames; a body would reach the client as an
    // extra frame wherever the route has a route response.
    let mut done = ApiGatewayProxyResponse::default();
    done.status_code = 200;
    Ok(done)
}

/// A source address as logs show it: the first 12 hex digits of its
/// SHA-256, enough to tell clients apart, not the address itself.
pub fn client_of(source_ip: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let Some(ip) = source_ip.filter(|ip| !ip.is_empty()) else {
        return "unknown".to_string();
    };
    Sha256::digest(ip.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The request's action as logs show it: one of the known names, never
/// what the client wrote.
pub fn action_of(body: Option<&str>) -> &'static str {
    match parse_request(body) {
        Ok(request) => request.name(),
        Err(_) => "invalid",
    }
}

/// Sends one frame to one connection; a failure is logged, not retried.
pub async fn post(management: &Management, connection_id: &str, frame: &Frame) {
    let sent = management
        .post_to_connection()
        .connection_id(connection_id)
        .data(Blob::new(frame.to_json()))
        .send()
        .await;
    if let Err(e) = sent {
        tracing::warn!(error = %aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e), "reply not delivered");
    }
}

fn internal(e: StoreError) -> Frame {
    tracing::error!(error = %e, "storage failed");
    Frame::error("internal", None, "the chat could not store that; try again")
}

async fn answer(
    store: &Store,
    connection_id: &str,
    address: &str,
    body: Option<&str>,
    room: &mut Option<String>,
) -> Result<Option<Frame>, Frame> {
    let request = parse_request(body)?;
    // A keep-alive costs no read and no write.
    if request == Request::Ping {
        return Ok(Some(Frame::Pong));
    }
    let settings = store.settings();
    let connection = store
        .get_connection(connection_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            Frame::error(
                "not_connected",
                None,
                "this connection is unknown; reconnect",
            )
        })?;
    *room = Some(connection.room.clone());
    let now = crate::now_seconds();
    // Every request but a ping is charged to the address and to the author
    // token: neither a new socket nor a new token starts a client afresh.
    let client = Client {
        address: address.to_string(),
        author: Some(connection.author.clone()),
    };
    if let Verdict::Limited { retry_after } = store.charge(&client, now).await.map_err(internal)? {
        return Err(Frame::rate_limited(
            retry_after,
            settings.rate_limit_messages,
            settings.rate_limit_seconds,
        ));
    }
    match request {
        Request::Send { text } => {
            validate_text(&text, settings.max_message_bytes)
                .map_err(|e| Frame::error("invalid", Some(e.field()), e.to_string()))?;
            let message = Message {
                room: connection.room,
                id: ulid::Ulid::new().to_string(),
                name: connection.name,
                text,
                created_at: now,
                edited_at: None,
                author: Some(connection.author),
                expires_at: now + settings.message_retention_days * 86_400,
                source: Some(Source::Live),
            };
            store.put_message(&message).await.map_err(internal)?;
            Ok(Some(Frame::Sent { id: message.id }))
        }
        Request::Edit { id, text } => {
            validate_text(&text, settings.max_message_bytes)
                .map_err(|e| Frame::error("invalid", Some(e.field()), e.to_string()))?;
            match store
                .edit_message(&connection.room, &id, &connection.author, &text, now)
                .await
            {
                Ok(()) => Ok(None),
                Err(StoreError::Forbidden) => Err(forbidden()),
                Err(e) => Err(internal(e)),
            }
        }
        Request::Delete { id } => match store
            .delete_message(&connection.room, &id, &connection.author, now)
            .await
        {
            Ok(()) => Ok(None),
            Err(StoreError::Forbidden) => Err(forbidden()),
            Err(e) => Err(internal(e)),
        },
        Request::Ping => Ok(Some(Frame::Pong)),
        Request::History { cursor, limit } => {
            let limit = limit.unwrap_or(settings.history_length).clamp(1, 100);
            let page = store
                .history(
                    &connection.room,
                    limit,
                    cursor.as_deref(),
                    now,
                    crate::frames::HISTORY_FRAME_BUDGET_BYTES,
                )
                .await
                .map_err(internal)?;
            let newest_first: Vec<PublicMessage> =
                page.messages.iter().map(PublicMessage::from).collect();
            Ok(Some(history_frame(
                &connection.room,
                &newest_first,
                page.next_cursor.is_some(),
                Me {
                    name: connection.name,
                    token: connection.token,
                },
            )))
        }
    }
}

fn forbidden() -> Frame {
    Frame::error(
        "forbidden",
        Some("id"),
        "only the author can change a message, within 15 minutes of sending it",
    )
}

#[cfg(test)]
mod tests {
    use super::{action_of, client_of};

    #[test]
    fn the_request_log_line_carries_no_client_text() {
        let huge = format!(r#"{{"action":"{}"}}"#, "x".repeat(32 * 1024 - 20));
        assert_eq!(action_of(Some(&huge)), "invalid");
        assert_eq!(action_of(Some(r#"{"action":"send","text":"hi"}"#)), "send");
        assert_eq!(action_of(None), "invalid");
        let client = client_of(Some("203.0.113.7"));
        assert_eq!(client.len(), 12);
        assert!(!client.contains("203"));
        assert_eq!(client, client_of(Some("203.0.113.7")), "stable");
        assert_ne!(client, client_of(Some("203.0.113.8")));
        assert_eq!(client_of(None), "unknown");
    }
}
