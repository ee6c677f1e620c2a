//! The handlers with sign-in on, against the in-memory chat and the
//! fixture pool (`auth::tests`): the handshake, posts, moderation and the
//! sign-in routes.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use serde_json::{json, Value};

use super::tests::{token, token_with, verifier};
use crate::connect::handle_connect_signed;
use crate::http::handle_signed;
use crate::memory::{lock, Memory, Sockets};
use crate::sealed::Secret;
use crate::test_events;
use crate::Settings;

const ADA: &str = "203.0.113.7";
const BOB: &str = "198.51.100.9";

fn settings() -> Settings {
    Settings {
        token_key: Some(Secret("the stack's token key".into())),
        site_origins: vec!["https://chat.example.com".into()],
        rate_limit_messages: 100,
        ..Settings::default()
    }
}

async fn connect(store: &Memory, connection: &str, ip: &str, query: &[(&str, &str)]) -> i64 {
    let event = test_events::connect(connection, ip, query);
    handle_connect_signed(store, &verifier(), event)
        .await
        .expect("answered")
        .status_code
}

#[tokio::test]
async fn the_handshake_needs_an_accepted_token_and_takes_the_name_from_it() {
    let store = Memory::new(settings());
    let general = ("room", "general");
    assert_eq!(
        connect(&store, "c0", ADA, &[general, ("name", "ada")]).await,
        401
    );
    let forged = token_with("other", "pool-key", "ada", json!({}));
    let expired = token_with("pool", "pool-key", "ada", json!({"exp": 1}));
    for bad in [forged.as_str(), expired.as_str(), "nonsense"] {
        assert_eq!(
            connect(&store, "c0", ADA, &[general, ("id_token", bad)]).await,
            403
        );
    }
    assert!(lock(&store.connections).is_empty(), "nothing stored");
    let ada = token("ada");
    let query = [general, ("name", "bob"), ("id_token", ada.as_str())];
    assert_eq!(connect(&store, "c1", ADA, &query).await, 200);
    assert_eq!(connect(&store, "c2", BOB, &query).await, 200);
    let connections = lock(&store.connections).clone();
    let (c1, c2) = (&connections["c1"], &connections["c2"]);
    assert_eq!(c1.name, "ada", "the token's name, not the query's");
    assert_eq!(c1.user.as_deref(), Some("sub-of-ada"));
    assert!(!c1.moderator);
    assert_eq!(c1.token, c2.token, "one token per person, on any device");
    assert_eq!(c1.author, c2.author);
}

/// Ada (c1), Bob (c2, c3) and Mo the moderator (c4), signed in, in `general`.
async fn signed_in_chat() -> (Memory, Sockets) {
    let store = Memory::new(settings());
    let mo = token_with(
        "pool",
        "pool-key",
        "mo",
        json!({"cognito:groups": ["moderators"]}),
    );
    for (connection, ip, id_token) in [
        ("c1", ADA, token("ada")),
        ("c2", BOB, token("bob")),
        ("c3", BOB, token("bob")),
        ("c4", ADA, mo),
    ] {
        let query = [("room", "general"), ("id_token", id_token.as_str())];
        assert_eq!(connect(&store, connection, ip, &query).await, 200);
    }
    (store, Sockets::default())
}

async fn frame(store: &Memory, sockets: &Sockets, connection: &str, body: Value) -> Vec<Value> {
    let before = sockets.frames_to(connection).len();
    let event = test_events::frame(connection, ADA, &body.to_string());
    crate::message::handle(store, sockets, event)
        .await
        .expect("answered");
    sockets.frames_to(connection).split_off(before)
}

#[tokio::test]
async fn moderators_delete_any_message_and_disconnect_a_person_and_nobody_else_can() {
    let (store, sockets) = signed_in_chat().await;
    frame(
        &store,
        &sockets,
        "c2",
        json!({"action": "send", "text": "troll"}),
    )
    .await;
    let stored = store.stored_messages();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].verified, "a signed-in person's message is marked");
    let id = stored[0].id.clone();
    let history = frame(&store, &sockets, "c4", json!({"action": "history"})).await;
    assert_eq!(history[0]["you"]["moderator"], true);
    assert_eq!(history[0]["you"]["verified"], true);
    assert_eq!(history[0]["messages"][0]["verified"], true);

    // Ada is no moderator.
    for body in [
        json!({"action": "moderate", "op": "delete", "id": id}),
        json!({"action": "moderate", "op": "disconnect", "name": "bob"}),
    ] {
        let reply = frame(&store, &sockets, "c1", body).await;
        assert_eq!(reply[0]["code"], "forbidden", "{reply:?}");
    }
    assert_eq!(store.stored_messages().len(), 1);
    assert!(lock(&sockets.closed).is_empty());
    // Nor may she delete Bob's message as its author would.
    let reply = frame(
        &store,
        &sockets,
        "c1",
        json!({"action": "delete", "id": id}),
    )
    .await;
    assert_eq!(reply[0]["code"], "forbidden");

    let reply = frame(
        &store,
        &sockets,
        "c4",
        json!({"action": "moderate", "op": "delete", "id": id}),
    )
    .await;
    assert_eq!(
        reply[0],
        json!({"type": "moderated", "op": "delete", "target": id, "count": 1})
    );
    assert!(store.stored_messages().is_empty());
    let again = frame(
        &store,
        &sockets,
        "c4",
        json!({"action": "moderate", "op": "delete", "id": id}),
    )
    .await;
    assert_eq!(
        (again[0]["code"].clone(), again[0]["field"].clone()),
        (json!("invalid"), json!("id"))
    );

    let reply = frame(
        &store,
        &sockets,
        "c4",
        json!({"action": "moderate", "op": "disconnect", "name": "bob"}),
    )
    .await;
    assert_eq!(reply[0]["count"], 2, "both of Bob's connections");
    let mut closed = lock(&sockets.closed).clone();
    closed.sort();
    assert_eq!(closed, ["c2", "c3"]);
    let missing = frame(
        &store,
        &sockets,
        "c4",
        json!({"action": "moderate", "op": "disconnect"}),
    )
    .await;
    assert_eq!(missing[0]["field"], "name");
}

#[tokio::test]
async fn without_sign_in_moderation_is_refused_to_everyone() {
    let store = Memory::new(Settings::default());
    let event = test_events::connect("c1", ADA, &[("room", "general"), ("name", "mo")]);
    crate::connect::handle_connect(&store, event)
        .await
        .expect("connected");
    let sockets = Sockets::default();
    let reply = frame(
        &store,
        &sockets,
        "c1",
        json!({"action": "moderate", "op": "disconnect", "name": "mo"}),
    )
    .await;
    assert_eq!(reply[0]["code"], "forbidden");
}

async fn http(
    store: &Memory,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> ApiGatewayV2httpResponse {
    let event = test_events::http(method, path, ADA, headers, body);
    handle_signed(store, &verifier(), event)
        .await
        .expect("answered")
}

fn header(response: &ApiGatewayV2httpResponse, name: &str) -> String {
    response
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn text(response: &ApiGatewayV2httpResponse) -> String {
    match &response.body {
        Some(Body::Text(text)) => text.clone(),
        _ => String::new(),
    }
}

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const SAME_ORIGIN: (&str, &str) = ("sec-fetch-site", "same-origin");

#[tokio::test]
async fn posts_need_a_sign_in_and_carry_its_name() {
    let store = Memory::new(settings());
    let path = "/api/rooms/general/messages";
    let refused = http(
        &store,
        "POST",
        path,
        &[FORM, SAME_ORIGIN],
        Some("name=eve&text=hi"),
    )
    .await;
    assert_eq!(refused.status_code, 401);
    assert!(text(&refused).contains("/api/auth/signin?return=/rooms/general.html"));
    let json_refused = http(
        &store,
        "POST",
        path,
        &[SAME_ORIGIN],
        Some(r#"{"name":"eve","text":"hi"}"#),
    )
    .await;
    assert_eq!(json_refused.status_code, 401);
    assert!(text(&json_refused).contains("sign_in_required"));
    let forged = format!(
        "__Host-chat-session={}",
        token_with("other", "pool-key", "ada", json!({}))
    );
    let refused = http(
        &store,
        "POST",
        path,
        &[FORM, SAME_ORIGIN, ("cookie", &forged)],
        Some("text=hi"),
    )
    .await;
    assert_eq!(refused.status_code, 403);
    assert!(store.stored_messages().is_empty());

    let session = format!("__Host-chat-session={}", token("ada"));
    let posted = http(
        &store,
        "POST",
        path,
        &[FORM, SAME_ORIGIN, ("cookie", &session)],
        Some("name=eve&text=hi"),
    )
    .await;
    assert_eq!(posted.status_code, 303);
    let bearer = format!("Bearer {}", token("ada"));
    let posted = http(
        &store,
        "POST",
        path,
        &[SAME_ORIGIN, ("authorization", &bearer)],
        Some(r#"{"text":"hello"}"#),
    )
    .await;
    assert_eq!(posted.status_code, 201);
    let stored = store.stored_messages();
    assert_eq!(stored.len(), 2);
    assert!(
        stored.iter().all(|m| m.name == "ada" && m.verified),
        "{stored:?}"
    );
}

#[tokio::test]
async fn the_hosted_ui_round_trip_sets_a_session_cookie_and_sign_out_clears_it() {
    let store = Memory::new(settings());
    let started = http(
        &store,
        "GET",
        "/api/auth/signin?return=/rooms/general.html",
        &[],
        None,
    )
    .await;
    assert_eq!(started.status_code, 302);
    let location = header(&started, "location");
    assert!(
        location.starts_with("https://chat.auth.us-east-1.amazoncognito.com/oauth2/authorize?"),
        "{location}"
    );
    let query: std::collections::HashMap<String, String> =
        serde_urlencoded::from_str(location.split_once('?').expect("query").1).expect("query");
    assert_eq!(
        query["redirect_uri"],
        "https://chat.example.com/api/auth/callback"
    );
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["client_id"], super::tests::CLIENT);
    let cookie = started.cookies[0].clone();
    assert!(
        cookie.starts_with("__Host-chat-sign-in=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let sign_in = cookie.split(';').next().expect("pair").to_string();
    let state = &query["state"];

    // Another state (a forged callback) is refused, and nothing exchanged.
    let forged = http(
        &store,
        "GET",
        "/api/auth/callback?code=the-code&state=other",
        &[("cookie", &sign_in)],
        None,
    )
    .await;
    assert_eq!(forged.status_code, 400);
    let no_cookie = http(
        &store,
        "GET",
        &format!("/api/auth/callback?code=the-code&state={state}"),
        &[],
        None,
    )
    .await;
    assert_eq!(no_cookie.status_code, 400);

    let done = http(
        &store,
        "GET",
        &format!("/api/auth/callback?code=the-code&state={state}"),
        &[("cookie", &sign_in)],
        None,
    )
    .await;
    assert_eq!(done.status_code, 303, "{}", text(&done));
    assert_eq!(header(&done, "location"), "/rooms/general.html");
    let session = done.cookies[0].clone();
    assert!(session.starts_with(&format!(
        "__Host-chat-session={}",
        token("ada").split('.').next().expect("header")
    )));
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(
        done.cookies[1].starts_with("__Host-chat-sign-in=;"),
        "the sign-in cookie goes"
    );

    let session = session.split(';').next().expect("pair").to_string();
    let me = http(
        &store,
        "GET",
        "/api/auth/session",
        &[("cookie", &session)],
        None,
    )
    .await;
    let me: Value = serde_json::from_str(&text(&me)).expect("json");
    assert_eq!(
        (me["signed_in"].clone(), me["name"].clone()),
        (json!(true), json!("ada"))
    );
    let anonymous = http(&store, "GET", "/api/auth/session", &[], None).await;
    assert_eq!(text(&anonymous), r#"{"signed_in":false}"#);

    let cross = http(
        &store,
        "POST",
        "/api/auth/signout",
        &[("sec-fetch-site", "cross-site"), ("cookie", &session)],
        None,
    )
    .await;
    assert_eq!(cross.status_code, 403);
    let out = http(
        &store,
        "POST",
        "/api/auth/signout",
        &[SAME_ORIGIN, ("cookie", &session)],
        None,
    )
    .await;
    assert_eq!(out.status_code, 303);
    assert!(header(&out, "location").contains("/logout?client_id="));
    assert!(out.cookies[0].starts_with("__Host-chat-session=;"));
}

#[tokio::test]
async fn the_exchange_sends_the_verifier_whose_hash_was_the_challenge() {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let store = Memory::new(settings());
    let signed = verifier();
    let started = handle_signed(
        &store,
        &signed,
        test_events::http("GET", "/api/auth/signin", ADA, &[], None),
    )
    .await
    .expect("answered");
    let location = header(&started, "location");
    let query: std::collections::HashMap<String, String> =
        serde_urlencoded::from_str(location.split_once('?').expect("query").1).expect("query");
    let sign_in = started.cookies[0]
        .split(';')
        .next()
        .expect("pair")
        .to_string();
    let callback = format!("/api/auth/callback?code=the-code&state={}", query["state"]);
    let event = test_events::http("GET", &callback, ADA, &[("cookie", &sign_in)], None);
    handle_signed(&store, &signed, event)
        .await
        .expect("answered");
    let exchanged = signed
        .as_ref()
        .map(|v| lock(&v.keys.exchanged).clone())
        .unwrap_or_default();
    assert_eq!(exchanged.len(), 1);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(exchanged[0].1.as_bytes()));
    assert_eq!(challenge, query["code_challenge"]);
}

#[tokio::test]
async fn a_return_path_off_the_site_goes_home() {
    let store = Memory::new(settings());
    for bad in ["//evil.example/x", "https://evil.example", "/\\evil"] {
        let started = http(
            &store,
            "GET",
            &format!("/api/auth/signin?return={}", bad.replace('/', "%2F")),
            &[],
            None,
        )
        .await;
        let cookie = started.cookies[0].clone();
        let back = cookie
            .split(';')
            .next()
            .and_then(|p| p.rsplit('.').next())
            .expect("part");
        use base64::Engine;
        let back = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(back)
            .expect("b64");
        assert_eq!(back, b"/", "{bad}");
    }
}

#[tokio::test]
async fn the_session_is_renewed_from_the_refresh_token_once_its_hour_is_up() {
    let store = Memory::new(settings());
    let started = http(&store, "GET", "/api/auth/signin", &[], None).await;
    let location = header(&started, "location");
    let query: std::collections::HashMap<String, String> =
        serde_urlencoded::from_str(location.split_once('?').expect("query").1).expect("query");
    let sign_in = started.cookies[0]
        .split(';')
        .next()
        .expect("pair")
        .to_string();
    let callback = format!("/api/auth/callback?code=the-code&state={}", query["state"]);
    let done = http(&store, "GET", &callback, &[("cookie", &sign_in)], None).await;
    let refresh = done
        .cookies
        .iter()
        .find(|c| c.starts_with("__Host-chat-refresh="))
        .expect("a refresh cookie")
        .clone();
    assert!(
        refresh.contains("HttpOnly") && refresh.contains("Max-Age=2592000"),
        "{refresh}"
    );
    let refresh = refresh.split(';').next().expect("pair").to_string();

    // The session cookie gone (its hour up): the refresh token renews it.
    let renewed = http(
        &store,
        "GET",
        "/api/auth/session",
        &[("cookie", &refresh)],
        None,
    )
    .await;
    let body: Value = serde_json::from_str(&text(&renewed)).expect("json");
    assert_eq!(body["signed_in"], true, "{body}");
    assert!(
        renewed.cookies[0].starts_with("__Host-chat-session=ey"),
        "{:?}",
        renewed.cookies
    );

    // An expired session and a refresh token Cognito refuses: signed out,
    // both cookies cleared.
    let expired = token_with(
        "pool",
        "pool-key",
        "ada",
        json!({"exp": crate::now_seconds() - 10}),
    );
    let cookie = format!("__Host-chat-session={expired}; __Host-chat-refresh=revoked");
    let out = http(
        &store,
        "GET",
        "/api/auth/session",
        &[("cookie", &cookie)],
        None,
    )
    .await;
    let body: Value = serde_json::from_str(&text(&out)).expect("json");
    assert_eq!(body["signed_in"], false);
    assert!(out
        .cookies
        .iter()
        .any(|c| c.starts_with("__Host-chat-session=;")));
    assert!(out
        .cookies
        .iter()
        .any(|c| c.starts_with("__Host-chat-refresh=;")));

    // A session within its last five minutes is renewed too; a fresh one is
    // answered as it is.
    let ending = token_with(
        "pool",
        "pool-key",
        "ada",
        json!({"exp": crate::now_seconds() + 60}),
    );
    let cookie = format!("__Host-chat-session={ending}; {refresh}");
    let renewed = http(
        &store,
        "GET",
        "/api/auth/session",
        &[("cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(renewed.cookies.len(), 1, "a new session cookie");
    let fresh = format!("__Host-chat-session={}; {refresh}", token("ada"));
    let kept = http(
        &store,
        "GET",
        "/api/auth/session",
        &[("cookie", &fresh)],
        None,
    )
    .await;
    assert!(kept.cookies.is_empty());

    let out = http(
        &store,
        "POST",
        "/api/auth/signout",
        &[SAME_ORIGIN, ("cookie", &fresh)],
        None,
    )
    .await;
    assert!(
        out.cookies
            .iter()
            .any(|c| c.starts_with("__Host-chat-refresh=;")),
        "{:?}",
        out.cookies
    );
}
