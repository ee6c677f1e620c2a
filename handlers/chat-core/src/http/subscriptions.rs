//! `POST` and `DELETE /api/rooms/{room}/subscriptions`: a browser's push
//! subscription stored for a room, or removed. Both carry the author token
//! the page holds (the WebSocket's); a subscription belongs to it, and each
//! request is charged to the address and the token, as a message is.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{bad_request, body_bytes, json_response, rate_limited, respond};
use crate::connect::{author_key, valid_token};
use crate::limits::{address_key, Client, Verdict};
use crate::origin::client_address;
use crate::ports::ClientLimits;
use crate::push::check_endpoint;
use crate::subscriptions::{
    check_keys, subscription_id, Stored, Subscription, SubscriptionStore, MAX_ENDPOINT_BYTES,
    PUSH_SUBSCRIPTIONS_PER_ROOM, PUSH_SUBSCRIPTION_DAYS,
};

/// `PushSubscription.toJSON()`'s keys.
#[derive(Debug, Deserialize)]
struct Keys {
    #[serde(default)]
    p256dh: String,
    #[serde(default)]
    auth: String,
}

/// `PushSubscription.toJSON()`, as the page sends it.
#[derive(Debug, Deserialize)]
struct BrowserSubscription {
    #[serde(default)]
    endpoint: String,
    keys: Option<Keys>,
}

/// A `POST` body: the token and the subscription; a `DELETE` body: the
/// token and the endpoint.
#[derive(Debug, Deserialize)]
struct Request {
    #[serde(default)]
    token: String,
    subscription: Option<BrowserSubscription>,
    #[serde(default)]
    endpoint: String,
}

fn read(request: &ApiGatewayV2httpRequest) -> Result<Request, Box<ApiGatewayV2httpResponse>> {
    let body = body_bytes(request)?;
    let parsed: Request = serde_json::from_slice(&body)
        .map_err(|e| Box::new(bad_request(None, &format!("unreadable body: {e}"))))?;
    if !valid_token(&parsed.token) {
        return Err(Box::new(bad_request(
            Some("token"),
            "token: the author token the chat gave this page (22 to 128 characters of A-Z, a-z, 0-9, '-' and '_')",
        )));
    }
    Ok(parsed)
}

fn checked_endpoint(
    endpoint: &str,
    allow_local: bool,
) -> Result<(), Box<ApiGatewayV2httpResponse>> {
    if endpoint.len() > MAX_ENDPOINT_BYTES {
        return Err(Box::new(bad_request(
            Some("endpoint"),
            &format!("endpoint: at most {MAX_ENDPOINT_BYTES} bytes"),
        )));
    }
    check_endpoint(endpoint, allow_local).map_err(|e| {
        Box::new(bad_request(
            Some("endpoint"),
            &format!("endpoint: {e}; use the browser's push service URL"),
        ))
    })?;
    Ok(())
}

/// The subscription a `POST` asks for, checked; or the 400 saying why not.
fn subscription_of(
    room: &str,
    request: &Request,
    allow_local: bool,
    now: i64,
) -> Result<Subscription, Box<ApiGatewayV2httpResponse>> {
    let Some(browser) = &request.subscription else {
        return Err(Box::new(bad_request(
            Some("subscription"),
            "subscription: the browser's PushSubscription (endpoint and keys)",
        )));
    };
    checked_endpoint(&browser.endpoint, allow_local)?;
    let keys = browser.keys.as_ref().ok_or_else(|| {
        Box::new(bad_request(
            Some("keys"),
            "keys: the subscription's p256dh and auth",
        ))
    })?;
    check_keys(&keys.p256dh, &keys.auth).map_err(|e| {
        let field = e.split(':').next().unwrap_or("keys");
        Box::new(bad_request(Some(field), e))
    })?;
    Ok(Subscription {
        room: room.to_string(),
        id: subscription_id(&browser.endpoint),
        endpoint: browser.endpoint.clone(),
        p256dh: keys.p256dh.clone(),
        auth: keys.auth.clone(),
        author: author_key(&request.token),
        expires_at: now + PUSH_SUBSCRIPTION_DAYS * 86_400,
    })
}

fn unavailable() -> ApiGatewayV2httpResponse {
    json_response(
        500,
        json!({ "error": { "message": "notifications are unavailable; try again" } }),
    )
}

/// `POST` (store) or `DELETE` (remove) a subscription of `room`.
pub async fn answer<S: SubscriptionStore + ClientLimits>(
    store: &S,
    room: &str,
    method: &str,
    request: &ApiGatewayV2httpRequest,
) -> ApiGatewayV2httpResponse {
    let settings = store.settings();
    let parsed = match read(request) {
        Ok(parsed) => parsed,
        Err(refusal) => return *refusal,
    };
    let now = crate::now_seconds();
    let client = Client {
        address: address_key(client_address(request, settings.origin_verify.as_deref()).as_deref()),
        author: Some(author_key(&parsed.token)),
    };
    match method {
        "POST" => {
            let subscription = match subscription_of(room, &parsed, settings.push_allow_local, now)
            {
                Ok(subscription) => subscription,
                Err(refusal) => return *refusal,
            };
            if let Some(refusal) = charged(store, &client, room, now).await {
                return refusal;
            }
            match store.subscribe(&subscription).await {
                Ok(Stored::Stored) => json_response(
                    201,
                    json!({ "subscription": {
                        "room": room,
                        "id": subscription.id,
                        "expires_at": subscription.expires_at,
                    } }),
                ),
                Ok(Stored::RoomFull) => json_response(
                    409,
                    json!({ "error": { "code": "room_full", "message": format!(
                        "this room already has {PUSH_SUBSCRIPTIONS_PER_ROOM} subscriptions, the most it takes"
                    ) } }),
                ),
                Ok(Stored::Taken) => json_response(
                    409,
                    json!({ "error": { "code": "taken", "message":
                        "another author token subscribed this endpoint; unsubscribe in the browser and subscribe again"
                    } }),
                ),
                Err(e) => {
                    tracing::error!(error = %e, "subscription not stored");
                    unavailable()
                }
            }
        }
        "DELETE" => {
            if let Err(refusal) = checked_endpoint(&parsed.endpoint, true) {
                return *refusal;
            }
            if let Some(refusal) = charged(store, &client, room, now).await {
                return refusal;
            }
            let id = subscription_id(&parsed.endpoint);
            match store.unsubscribe(room, &id, client.author.as_deref()).await {
                Ok(true) => respond(204, "text/plain; charset=utf-8", String::new()),
                Ok(false) => json_response(
                    403,
                    json!({ "error": { "message": "this subscription belongs to another author token" } }),
                ),
                Err(e) => {
                    tracing::error!(error = %e, "subscription not removed");
                    unavailable()
                }
            }
        }
        _ => json_response(
            405,
            json!({ "error": { "message": "use POST to subscribe or DELETE to unsubscribe" } }),
        ),
    }
}

/// Charges the request to the client; the response refusing it, if any.
async fn charged<S: ClientLimits>(
    store: &S,
    client: &Client,
    room: &str,
    now: i64,
) -> Option<ApiGatewayV2httpResponse> {
    match store.charge(client, now).await {
        Ok(Verdict::Allowed) => None,
        Ok(Verdict::Limited { retry_after }) => {
            Some(rate_limited(room, retry_after, store.settings(), false))
        }
        Err(e) => {
            tracing::error!(error = %e, "limit not checked");
            Some(unavailable())
        }
    }
}

#[cfg(test)]
#[path = "subscriptions_tests.rs"]
mod tests;
