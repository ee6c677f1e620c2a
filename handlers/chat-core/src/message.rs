//! The WebSocket routes chosen by `action`: send, edit, delete, history.
//! Replies and errors go to the caller only; everyone else learns of a
//! change through the stream fan-out.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use lambda_runtime::{Error, LambdaEvent};

use crate::connect::response;
use crate::delivery::Posted;
use crate::frames::{history_frame, parse_request, Frame, Me, Request};
use crate::limits::{address_key, Client, Verdict};
use crate::model::{Message, PublicMessage, Source};
use crate::ports::{ClientLimits, ConnectionStore, Disconnector, MessageStore, Poster};
use crate::presence::{self, PresenceStore};
use crate::store::{StoreError, EDIT_WINDOW_SECONDS};
use crate::validate::validate_text;

/// What the message route reaches in the tables.
pub trait MessageRouteStore: ConnectionStore + MessageStore + ClientLimits + PresenceStore {}

impl<T: ConnectionStore + MessageStore + ClientLimits + PresenceStore> MessageRouteStore for T {}

pub async fn handle<S: MessageRouteStore, P: Poster + Disconnector>(
    store: &S,
    poster: &P,
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
        poster,
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
        post(poster, &connection_id, &frame).await;
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
pub async fn post<P: Poster>(poster: &P, connection_id: &str, frame: &Frame) {
    let posted = poster.post(connection_id, &frame.to_json()).await;
    if posted != Posted::Delivered {
        tracing::warn!(?posted, "reply not delivered");
    }
}

fn internal(e: StoreError) -> Frame {
    tracing::error!(error = %e, "storage failed");
    Frame::error("internal", None, "the chat could not store that; try again")
}

async fn answer<S: MessageRouteStore, D: Disconnector>(
    store: &S,
    disconnector: &D,
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
                verified: connection.user.is_some(),
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
            .delete_message(&connection.room, &id, Some(&connection.author), now)
            .await
        {
            Ok(()) => Ok(None),
            Err(StoreError::Forbidden) => Err(forbidden()),
            Err(e) => Err(internal(e)),
        },
        Request::Ping => Ok(Some(Frame::Pong)),
        Request::Moderate { op, id, name } => {
            crate::moderate::moderate(store, disconnector, &connection, op, id, name, now).await
        }
        Request::History { cursor, limit } => {
            let limit = limit.unwrap_or(settings.history_length).clamp(1, 100);
            let first_page = cursor.is_none();
            // The room's people come with the first page, read beside it.
            let (page, presence) = tokio::join!(
                store.history(
                    &connection.room,
                    limit,
                    cursor.as_deref(),
                    now,
                    crate::frames::HISTORY_FRAME_BUDGET_BYTES,
                ),
                async {
                    match first_page {
                        true => presence::with_caller(store, &connection).await.map(Some),
                        false => Ok(None),
                    }
                }
            );
            let page = page.map_err(internal)?;
            // Who is here is the page's extra: without it the page still goes.
            let presence = presence.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "history page sent without who is here");
                None
            });
            let newest_first: Vec<PublicMessage> =
                page.messages.iter().map(PublicMessage::from).collect();
            Ok(Some(history_frame(
                &connection.room,
                &newest_first,
                page.next_cursor.is_some(),
                Me {
                    verified: connection.user.is_some(),
                    moderator: connection.moderator,
                    name: connection.name,
                    token: connection.token,
                },
                now,
                presence,
            )))
        }
    }
}

fn forbidden() -> Frame {
    Frame::error(
        "forbidden",
        Some("id"),
        format!(
            "only the author can change a message, within {} minutes of sending it",
            EDIT_WINDOW_SECONDS / 60
        ),
    )
}

#[cfg(test)]
mod tests;
