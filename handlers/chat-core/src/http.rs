//! The HTTP API: `GET` and `POST /api/rooms/{room}/messages`, and `POST`
//! and `DELETE /api/rooms/{room}/subscriptions` (`subscriptions`). A form
//! post answers 303 to the room's page, so the chat works with JavaScript
//! off.

mod sign_in;
mod subscriptions;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use base64::Engine;
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Refused, SignInFlow};
use crate::frames::{cut, fit_history, is_message_id};
use crate::limits::{address_key, Client, Verdict};
use crate::model::{Message, PublicMessage, Source};
use crate::origin::{client_address, cross_site, through_cloudfront};
use crate::ports::{ClientLimits, MessageStore, SubscriptionStore};
use crate::validate::{validate_name, validate_room, validate_text, ValidationError};

/// The largest request body accepted, in bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// A history page over HTTP is filled up to this many bytes: a Lambda
/// response is at most 6 MB, and 100 maximal messages are more.
const HTTP_HISTORY_BUDGET_BYTES: usize = 4 * 1024 * 1024;

/// A message posted over HTTP.
#[derive(Debug, Deserialize)]
pub struct Post {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub text: String,
}

fn respond(status: i64, content_type: &str, body: String) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert("content-type", value);
    }
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = status;
    response.headers = headers;
    response.body = Some(Body::Text(body));
    response
}

fn json_response(status: i64, body: serde_json::Value) -> ApiGatewayV2httpResponse {
    respond(status, "application/json; charset=utf-8", body.to_string())
}

fn bad_request(field: Option<&str>, message: &str) -> ApiGatewayV2httpResponse {
    json_response(
        400,
        json!({ "error": { "field": field, "message": message } }),
    )
}

fn invalid(e: ValidationError) -> ApiGatewayV2httpResponse {
    bad_request(Some(e.field()), &e.to_string())
}

/// A browser's HTML form post (the page without JavaScript), not JSON.
fn is_form(request: &ApiGatewayV2httpRequest) -> bool {
    request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// The JSON or form body of a post, decoded and validated; a refusal is the
/// 400 response naming what was wrong. Pure, so hostile input is tested
/// without storage (tests/fuzz in this crate).
pub fn read_post(
    request: &ApiGatewayV2httpRequest,
    max_message_bytes: usize,
) -> Result<Post, Box<ApiGatewayV2httpResponse>> {
    read_post_as(request, max_message_bytes, None)
}

/// [`read_post`], under `name` when given (a signed-in person's: whatever
/// name the body carries is ignored).
fn read_post_as(
    request: &ApiGatewayV2httpRequest,
    max_message_bytes: usize,
    name: Option<&str>,
) -> Result<Post, Box<ApiGatewayV2httpResponse>> {
    let body = body_bytes(request)?;
    let parsed: Result<Post, String> = if is_form(request) {
        serde_urlencoded::from_bytes(&body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    };
    let mut post = match parsed {
        Ok(post) => post,
        Err(e) => {
            return Err(Box::new(bad_request(
                None,
                &format!("unreadable body: {e}"),
            )))
        }
    };
    if let Some(name) = name {
        post.name = name.to_string();
    }
    if let Err(e) = validate_name(&post.name) {
        return Err(Box::new(invalid(e)));
    }
    if let Err(e) = validate_text(&post.text, max_message_bytes) {
        return Err(Box::new(invalid(e)));
    }
    Ok(post)
}

/// A request's body, decoded from base64 when API Gateway encoded it, and
/// at most [`MAX_BODY_BYTES`].
fn body_bytes(request: &ApiGatewayV2httpRequest) -> Result<Vec<u8>, Box<ApiGatewayV2httpResponse>> {
    let raw = request.body.clone().unwrap_or_default();
    let body = if request.is_base64_encoded {
        match base64::engine::general_purpose::STANDARD.decode(raw.as_bytes()) {
            Ok(bytes) => bytes,
            Err(_) => return Err(Box::new(bad_request(None, "the body is not valid base64"))),
        }
    } else {
        raw.into_bytes()
    };
    if body.len() > MAX_BODY_BYTES {
        return Err(Box::new(bad_request(None, "the body is too large")));
    }
    Ok(body)
}

/// The room the request names: API Gateway's path parameter, or the path.
fn room_in(request: &ApiGatewayV2httpRequest) -> Option<&str> {
    request
        .path_parameters
        .get("room")
        .map(String::as_str)
        .or_else(|| room_of(request.raw_path.as_deref().unwrap_or_default()))
}

/// The room of `/api/rooms/{room}/messages` or `.../subscriptions`.
fn room_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/api/rooms/")?;
    rest.strip_suffix("/messages")
        .or_else(|| rest.strip_suffix("/subscriptions"))
}

/// The request's method, upper case.
fn method_of(request: &ApiGatewayV2httpRequest) -> String {
    request
        .request_context
        .http
        .method
        .as_str()
        .to_ascii_uppercase()
}

/// Whether the request is for a room's push subscriptions.
fn for_subscriptions(request: &ApiGatewayV2httpRequest) -> bool {
    request
        .raw_path
        .as_deref()
        .is_some_and(|path| path.ends_with("/subscriptions"))
}

/// The HTTP API of the chat without sign-in.
pub async fn handle<S: MessageStore + ClientLimits + SubscriptionStore>(
    store: &S,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, Error> {
    handle_signed(store, &crate::auth::SIGN_IN_OFF, event).await
}

/// [`handle`], and with sign-in on, the sign-in routes (`/api/auth/`) and
/// posts only from signed-in people, under their names.
pub async fn handle_signed<S: MessageStore + ClientLimits + SubscriptionStore, A: SignInFlow>(
    store: &S,
    sign_in: &A,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, Error> {
    let request = event.payload;
    let response = if request
        .raw_path
        .as_deref()
        .is_some_and(|path| path.starts_with("/api/auth/"))
    {
        Box::pin(sign_in::answer(
            sign_in,
            &store.settings().site_origins,
            &request,
        ))
        .await
    } else {
        answer(store, sign_in, &request).await?
    };
    // One line per request, as the WebSocket's: a hashed address, the room
    // (validated, or "-"), the method and the status; never the body.
    let room = room_in(&request)
        .filter(|room| validate_room(room).is_ok())
        .unwrap_or("-");
    tracing::info!(
        client = crate::message::client_of(
            client_address(&request, store.settings().origin_verify.as_deref()).as_deref()
        ),
        room,
        method = request.request_context.http.method.as_str(),
        status = response.status_code,
        "request"
    );
    Ok(response)
}

async fn answer<S: MessageStore + ClientLimits + SubscriptionStore, A: SignInFlow>(
    store: &S,
    sign_in: &A,
    request: &ApiGatewayV2httpRequest,
) -> Result<ApiGatewayV2httpResponse, Error> {
    let settings = store.settings();
    if settings.cloudfront_only && !through_cloudfront(request, settings.origin_verify.as_deref()) {
        return Ok(json_response(
            403,
            json!({ "error": { "message": "requests must come through the chat's site, not straight to the API" } }),
        ));
    }
    let Some(room) = room_in(request) else {
        return Ok(json_response(
            404,
            json!({ "error": { "message": "not found" } }),
        ));
    };
    let room = room.to_string();
    if let Err(e) = validate_room(&room) {
        return Ok(invalid(e));
    }
    let method = method_of(request);
    if for_subscriptions(request) {
        // Any web page could otherwise subscribe or unsubscribe its visitors.
        if cross_site(request, &store.settings().site_origins) {
            return Ok(cross_site_refusal());
        }
        // Boxed: inlined, its future's type nests deep enough to pass the
        // compiler's query depth limit when the http binary is built.
        return Ok(Box::pin(subscriptions::answer(store, &room, &method, request)).await);
    }
    match method.as_str() {
        "GET" => {
            let cursor = request
                .query_string_parameters
                .first("cursor")
                .map(str::to_string);
            if let Some(bad) = cursor.as_deref().filter(|c| !is_message_id(c)) {
                return Ok(bad_request(
                    Some("cursor"),
                    &format!(
                        "cursor: `{}` is not a message id (26 characters, a ULID)",
                        cut(bad, 40)
                    ),
                ));
            }
            let limit = request
                .query_string_parameters
                .first("limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(store.settings().history_length)
                .clamp(1, 100);
            let now = crate::now_seconds();
            let page = match store
                .history(
                    &room,
                    limit,
                    cursor.as_deref(),
                    now,
                    HTTP_HISTORY_BUDGET_BYTES,
                )
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "history failed");
                    return Ok(json_response(
                        500,
                        json!({ "error": { "message": "history is unavailable; try again" } }),
                    ));
                }
            };
            let newest_first: Vec<PublicMessage> =
                page.messages.iter().map(PublicMessage::from).collect();
            let (messages, next_cursor) = fit_history(
                &newest_first,
                page.next_cursor.is_some(),
                HTTP_HISTORY_BUDGET_BYTES,
            );
            Ok(json_response(
                200,
                json!({ "room": room, "messages": messages, "next_cursor": next_cursor }),
            ))
        }
        "POST" => Box::pin(post(store, sign_in, &room, request)).await,
        _ => Ok(json_response(
            405,
            json!({ "error": { "message": "use GET or POST" } }),
        )),
    }
}

/// A post without an accepted sign-in: 401 or 403 (README), as JSON, or
/// for the room page's form a page with a sign-in link.
fn not_signed_in(room: &str, refused: &Refused, form: bool) -> ApiGatewayV2httpResponse {
    let status = i64::from(refused.status());
    if form {
        return respond(
            status,
            "text/html; charset=utf-8",
            crate::render::sign_in_required_page(room, &refused.to_string()),
        );
    }
    json_response(
        status,
        json!({ "error": { "code": refused.code(), "message": refused.to_string() } }),
    )
}

fn cross_site_refusal() -> ApiGatewayV2httpResponse {
    json_response(
        403,
        json!({ "error": { "message": "posts from another site are refused: post from the chat's own page" } }),
    )
}

/// 429 with `Retry-After`: JSON for a script, a short page for a person
/// posting the room page's form without JavaScript.
fn rate_limited(
    room: &str,
    retry_after: i64,
    settings: &crate::Settings,
    form: bool,
) -> ApiGatewayV2httpResponse {
    let message = format!(
        "at most {} messages in {} seconds from one client; try again in {retry_after} s",
        settings.rate_limit_messages, settings.rate_limit_seconds
    );
    let mut response = if form {
        respond(
            429,
            "text/html; charset=utf-8",
            crate::render::rate_limited_page(room, &message),
        )
    } else {
        json_response(
            429,
            json!({ "error": { "code": "rate_limited", "message": message, "retry_after": retry_after } }),
        )
    };
    if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
        response.headers.insert("retry-after", value);
    }
    response
}

async fn post<S: MessageStore + ClientLimits, A: SignInFlow>(
    store: &S,
    sign_in: &A,
    room: &str,
    request: &ApiGatewayV2httpRequest,
) -> Result<ApiGatewayV2httpResponse, Error> {
    // Any web page could otherwise make its visitors' browsers post here.
    if cross_site(request, &store.settings().site_origins) {
        return Ok(cross_site_refusal());
    }
    // With sign-in on, only signed-in people post, under their own names.
    let person = match sign_in.auth() {
        None => None,
        Some(_) => match sign_in::identity(sign_in, request).await {
            Ok(person) => Some(person),
            Err(refused) => return Ok(not_signed_in(room, &refused, is_form(request))),
        },
    };
    let posted = read_post_as(
        request,
        store.settings().max_message_bytes,
        person.as_ref().map(|p| p.name.as_str()),
    );
    let post = match posted {
        Ok(post) => post,
        Err(refusal) => return Ok(*refusal),
    };
    let now = crate::now_seconds();
    // Charged to the address, the same counter its WebSocket requests use:
    // switching to HTTP does not start a client afresh.
    let client = Client {
        address: address_key(
            client_address(request, store.settings().origin_verify.as_deref()).as_deref(),
        ),
        author: None,
    };
    match store.charge(&client, now).await {
        Ok(Verdict::Allowed) => {}
        Ok(Verdict::Limited { retry_after }) => {
            return Ok(rate_limited(
                room,
                retry_after,
                store.settings(),
                is_form(request),
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "limit not checked");
            return Ok(json_response(
                500,
                json!({ "error": { "message": "the message was not stored; try again" } }),
            ));
        }
    }
    let message = Message {
        room: room.to_string(),
        id: ulid::Ulid::new().to_string(),
        name: post.name,
        text: post.text,
        created_at: now,
        edited_at: None,
        author: None,
        expires_at: now + store.settings().message_retention_days * 86_400,
        source: Some(Source::Form),
        verified: person.is_some(),
    };
    if let Err(e) = store.put_message(&message).await {
        tracing::error!(error = %e, "post failed");
        return Ok(json_response(
            500,
            json!({ "error": { "message": "the message was not stored; try again" } }),
        ));
    }
    if is_form(request) {
        let mut response = respond(303, "text/plain; charset=utf-8", "sent".to_string());
        if let Ok(location) = HeaderValue::from_str(&format!("/rooms/{room}.html")) {
            response.headers.insert("location", location);
        }
        return Ok(response);
    }
    Ok(json_response(
        201,
        json!({ "message": PublicMessage::from(&message) }),
    ))
}

#[cfg(test)]
mod tests;
