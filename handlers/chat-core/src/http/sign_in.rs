//! The sign-in routes (sign-in on), for the page with or without
//! JavaScript: the hosted UI's authorization code flow with PKCE, finished
//! here, so the session is an `HttpOnly` cookie on the site's own domain
//! that the room page's form posts carry, and no token is ever in a URL
//! the browser keeps.
//!
//! - `GET /api/auth/signin?return=PATH`: to the hosted UI, with a fresh
//!   state and PKCE verifier kept in a short-lived cookie.
//! - `GET /api/auth/callback?code&state`: the code exchanged (with the
//!   verifier) for tokens, the ID token verified and set as the session
//!   cookie, then 303 to `PATH`.
//! - `GET /api/auth/session`: who is signed in, with the ID token for the
//!   page's WebSocket (kept in memory only); within five minutes of the ID
//!   token's expiry, or after it, a new one from the refresh token (an
//!   `HttpOnly` cookie of its own, 30 days).
//! - `POST /api/auth/signout`: the cookie cleared, then Cognito's logout.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::http::HeaderValue;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{json_response, respond};
use crate::auth::cookies::{self, REFRESH, REFRESH_SECONDS, SESSION, SIGN_IN, SIGN_IN_SECONDS};
use crate::auth::{AuthSettings, Identity, Refused, SignInFlow};
use crate::origin::cross_site;

/// Answers a request under `/api/auth/`.
pub async fn answer<A: SignInFlow>(
    sign_in: &A,
    site_origins: &[String],
    request: &ApiGatewayV2httpRequest,
) -> ApiGatewayV2httpResponse {
    let Some(auth) = sign_in.auth() else {
        return json_response(
            404,
            json!({ "error": { "message": "sign-in is off in this chat" } }),
        );
    };
    let method = super::method_of(request);
    let path = request.raw_path.as_deref().unwrap_or_default();
    match (method.as_str(), path) {
        ("GET", "/api/auth/signin") => start(auth, request),
        ("GET", "/api/auth/callback") => callback(sign_in, auth, request).await,
        ("GET", "/api/auth/session") => session(sign_in, auth, request).await,
        ("POST", "/api/auth/signout") if cross_site(request, site_origins) => json_response(
            403,
            json!({ "error": { "message": "sign-out from another site is refused" } }),
        ),
        ("POST", "/api/auth/signout") => sign_out(auth),
        _ => json_response(404, json!({ "error": { "message": "not found" } })),
    }
}

/// Who sent `request`: the `Authorization: Bearer` ID token, else the
/// session cookie.
pub async fn identity<A: SignInFlow>(
    sign_in: &A,
    request: &ApiGatewayV2httpRequest,
) -> Result<Identity, Refused> {
    let bearer = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    match bearer.or_else(|| cookies::read(request, SESSION)) {
        Some(token) => sign_in.verify(&token).await,
        None => Err(Refused::Missing),
    }
}

/// Where a person goes after signing in: a path on the site, nothing else.
fn return_path(request: &ApiGatewayV2httpRequest) -> String {
    let wanted = request
        .query_string_parameters
        .first("return")
        .unwrap_or("/");
    let safe = wanted.starts_with('/')
        && !wanted.starts_with("//")
        && wanted.len() <= 200
        && wanted
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-?=&#".contains(c));
    if safe {
        wanted.to_string()
    } else {
        "/".to_string()
    }
}

fn random_url_safe(bytes: usize) -> Result<String, String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|e| format!("no randomness: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer))
}

fn redirect(status: i64, location: &str, set_cookies: Vec<String>) -> ApiGatewayV2httpResponse {
    let mut response = respond(status, "text/plain; charset=utf-8", String::new());
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers.insert("location", location);
    }
    response.cookies = set_cookies;
    response
}

fn start(auth: &AuthSettings, request: &ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    let (Ok(state), Ok(verifier)) = (random_url_safe(16), random_url_safe(32)) else {
        return json_response(
            500,
            json!({ "error": { "message": "no randomness; try again" } }),
        );
    };
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let back = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(return_path(request));
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", auth.client_id.as_str()),
        ("redirect_uri", auth.callback_url().as_str()),
        ("scope", "openid"),
        ("state", state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap_or_default();
    redirect(
        302,
        &format!("{}/oauth2/authorize?{query}", auth.domain_url),
        vec![cookies::set(
            SIGN_IN,
            &format!("{state}.{verifier}.{back}"),
            SIGN_IN_SECONDS,
        )],
    )
}

/// A short page for a sign-in that did not complete, with a way to try again.
fn failed(status: i64, why: &str) -> ApiGatewayV2httpResponse {
    let mut response = respond(
        status,
        "text/html; charset=utf-8",
        crate::render::sign_in_failed_page(why),
    );
    response.cookies = vec![cookies::clear(SIGN_IN)];
    response
}

async fn callback<A: SignInFlow>(
    sign_in: &A,
    auth: &AuthSettings,
    request: &ApiGatewayV2httpRequest,
) -> ApiGatewayV2httpResponse {
    let query = &request.query_string_parameters;
    if query.first("error").is_some() {
        return failed(400, "the sign-in page reported an error");
    }
    let started = cookies::read(request, SIGN_IN).unwrap_or_default();
    let mut parts = started.splitn(3, '.');
    let (Some(state), Some(verifier), Some(back)) = (parts.next(), parts.next(), parts.next())
    else {
        return failed(400, "this sign-in was not started here, or took too long");
    };
    let (Some(code), Some(returned)) = (query.first("code"), query.first("state")) else {
        return failed(400, "the sign-in page sent no code");
    };
    if returned != state {
        return failed(400, "this sign-in was not started here");
    }
    let back = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(back)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| "/".into());
    let tokens = match sign_in.exchange(auth, code, verifier).await {
        Ok(tokens) => tokens,
        Err(e) => {
            tracing::warn!(error = %e, "code not exchanged");
            return failed(502, "Cognito did not accept the sign-in code");
        }
    };
    let person = match sign_in.verify(&tokens.id_token).await {
        Ok(person) => person,
        Err(refused) => return failed(i64::from(refused.status()), &refused.to_string()),
    };
    tracing::info!(user = person.user, "signed in");
    let mut set = vec![
        session_cookie(&tokens.id_token, &person),
        cookies::clear(SIGN_IN),
    ];
    if let Some(refresh) = &tokens.refresh_token {
        set.push(cookies::set(REFRESH, refresh, REFRESH_SECONDS));
    }
    redirect(303, &back, set)
}

fn session_cookie(id_token: &str, person: &Identity) -> String {
    let lifetime = (person.expires_at - crate::now_seconds()).max(0);
    cookies::set(SESSION, id_token, lifetime)
}

/// A session this close to its end is renewed when the page asks for it.
const RENEW_SECONDS: i64 = 300;

async fn session<A: SignInFlow>(
    sign_in: &A,
    auth: &AuthSettings,
    request: &ApiGatewayV2httpRequest,
) -> ApiGatewayV2httpResponse {
    let current = match cookies::read(request, SESSION) {
        Some(token) => sign_in.verify(&token).await.map(|person| (token, person)),
        None => Err(Refused::Missing),
    };
    let fresh_enough = |person: &Identity| person.expires_at - crate::now_seconds() > RENEW_SECONDS;
    let mut set_cookies = Vec::new();
    let signed_in = match (current, cookies::read(request, REFRESH)) {
        (Ok((token, person)), _) if fresh_enough(&person) => Ok((token, person)),
        (current, Some(refresh)) => match sign_in.refresh(auth, &refresh).await {
            Ok(tokens) => match sign_in.verify(&tokens.id_token).await {
                Ok(person) => {
                    set_cookies.push(session_cookie(&tokens.id_token, &person));
                    Ok((tokens.id_token, person))
                }
                Err(refused) => Err(refused),
            },
            Err(e) => {
                tracing::info!(error = %e, "session not renewed");
                // Still good for a few minutes: keep it till then.
                current.and_then(
                    |(token, person)| match person.expires_at > crate::now_seconds() {
                        true => Ok((token, person)),
                        false => Err(Refused::Expired),
                    },
                )
            }
        },
        (current, None) => current,
    };
    let mut response = match signed_in {
        Ok((token, person)) => json_response(
            200,
            json!({
                "signed_in": true,
                "name": person.name,
                "moderator": person.moderator,
                "id_token": token,
                "expires_at": person.expires_at,
            }),
        ),
        Err(Refused::Missing) => json_response(200, json!({ "signed_in": false })),
        Err(refused) => {
            set_cookies = vec![cookies::clear(SESSION), cookies::clear(REFRESH)];
            json_response(
                200,
                json!({ "signed_in": false, "reason": refused.to_string() }),
            )
        }
    };
    response.cookies = set_cookies;
    response
}

fn sign_out(auth: &AuthSettings) -> ApiGatewayV2httpResponse {
    let query = serde_urlencoded::to_string([
        ("client_id", auth.client_id.as_str()),
        ("logout_uri", format!("{}/", auth.site_url).as_str()),
    ])
    .unwrap_or_default();
    redirect(
        303,
        &format!("{}/logout?{query}", auth.domain_url),
        vec![cookies::clear(SESSION), cookies::clear(REFRESH)],
    )
}
