//! `POST` and `DELETE /api/rooms/{room}/subscriptions` against the
//! in-memory chat: what is stored, who may remove it, and what is refused.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::connect::author_key;
use crate::memory::{lock, Memory};
use crate::subscriptions::subscription_id;
use crate::test_events;
use crate::Settings;

const PATH: &str = "/api/rooms/general/subscriptions";
const ENDPOINT: &str = "https://push.example.net/wpush/v2/abc";

fn token(who: char) -> String {
    who.to_string().repeat(22)
}

fn subscription(endpoint: &str) -> Value {
    json!({
        "endpoint": endpoint,
        "keys": {
            "p256dh": URL_SAFE_NO_PAD.encode([[4u8].as_slice(), &[7u8; 64]].concat()),
            "auth": URL_SAFE_NO_PAD.encode([1u8; 16]),
        }
    })
}

async fn call(store: &Memory, method: &str, body: Value) -> ApiGatewayV2httpResponse {
    let body = body.to_string();
    let event = test_events::http(
        method,
        PATH,
        "203.0.113.7",
        &[("content-type", "application/json")],
        Some(&body),
    );
    crate::http::handle(store, event).await.expect("answered")
}

async fn subscribe(store: &Memory, who: char, endpoint: &str) -> (i64, Value) {
    let response = call(
        store,
        "POST",
        json!({ "token": token(who), "subscription": subscription(endpoint) }),
    )
    .await;
    (response.status_code, json_of(&response))
}

fn json_of(response: &ApiGatewayV2httpResponse) -> Value {
    match &response.body {
        Some(Body::Text(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

#[tokio::test]
async fn a_subscription_is_stored_for_its_token_and_removed_only_by_it() {
    let store = Memory::new(Settings {
        rate_limit_messages: 100,
        ..Settings::default()
    });
    let (status, body) = subscribe(&store, 'a', ENDPOINT).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["subscription"]["id"], subscription_id(ENDPOINT));
    let stored = lock(&store.subscriptions)
        .values()
        .next()
        .cloned()
        .expect("stored");
    assert_eq!(
        stored.author,
        author_key(&token('a')),
        "the hash, never the token"
    );
    assert_eq!(
        (stored.room.as_str(), stored.endpoint.as_str()),
        ("general", ENDPOINT)
    );
    // Renewed by its token; another token may not take it over.
    assert_eq!(subscribe(&store, 'a', ENDPOINT).await.0, 201);
    let (status, body) = subscribe(&store, 'b', ENDPOINT).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("taken"))
    );
    let remove = |who: char| json!({ "token": token(who), "endpoint": ENDPOINT });
    assert_eq!(call(&store, "DELETE", remove('b')).await.status_code, 403);
    assert_eq!(lock(&store.subscriptions).len(), 1);
    assert_eq!(call(&store, "DELETE", remove('a')).await.status_code, 204);
    assert!(lock(&store.subscriptions).is_empty());
    // Removing what is not there is done already.
    assert_eq!(call(&store, "DELETE", remove('a')).await.status_code, 204);
}

#[tokio::test]
async fn bad_subscriptions_are_400s_that_name_the_field_and_touch_nothing() {
    let store = Memory::default();
    let good = subscription(ENDPOINT);
    let mut short_auth = good.clone();
    short_auth["keys"]["auth"] = json!("AAAA");
    let cases = [
        (json!({ "subscription": good }), "token"),
        (json!({ "token": "short", "subscription": good }), "token"),
        (json!({ "token": token('a') }), "subscription"),
        (
            json!({ "token": token('a'), "subscription": subscription("http://push.example.net/x") }),
            "endpoint",
        ),
        (
            json!({ "token": token('a'), "subscription": subscription("https://169.254.169.254/latest") }),
            "endpoint",
        ),
        (
            json!({ "token": token('a'), "subscription": subscription("https://10.0.0.8/x") }),
            "endpoint",
        ),
        (
            json!({ "token": token('a'), "subscription": subscription(&format!("https://push.example.net/{}", "x".repeat(1100))) }),
            "endpoint",
        ),
        (
            json!({ "token": token('a'), "subscription": { "endpoint": ENDPOINT } }),
            "keys",
        ),
        (
            json!({ "token": token('a'), "subscription": short_auth }),
            "keys.auth",
        ),
    ];
    for (body, field) in cases {
        let response = call(&store, "POST", body.clone()).await;
        assert_eq!(response.status_code, 400, "{body}");
        assert_eq!(json_of(&response)["error"]["field"], field, "{body}");
    }
    assert!(store.calls().is_empty(), "{:?}", store.calls());
}

#[tokio::test]
async fn requests_are_charged_to_the_client_and_cross_site_ones_refused() {
    let store = Memory::new(Settings {
        rate_limit_messages: 1,
        rate_limit_seconds: 3600,
        site_origins: vec!["https://chat.example.com".into()],
        ..Settings::default()
    });
    assert_eq!(subscribe(&store, 'a', ENDPOINT).await.0, 201);
    let response = call(
        &store,
        "POST",
        json!({ "token": token('a'), "subscription": subscription(ENDPOINT) }),
    )
    .await;
    assert_eq!(response.status_code, 429);
    assert!(response.headers.contains_key("retry-after"));
    let body = json!({ "token": token('c'), "subscription": subscription(ENDPOINT) }).to_string();
    let event = test_events::http(
        "POST",
        PATH,
        "198.51.100.1",
        &[
            ("content-type", "application/json"),
            ("sec-fetch-site", "cross-site"),
        ],
        Some(&body),
    );
    let response = crate::http::handle(&store, event).await.expect("answered");
    assert_eq!(response.status_code, 403);
}

#[tokio::test]
async fn a_full_room_takes_no_new_subscription_but_renews_its_own() {
    let store = Memory::default();
    assert_eq!(subscribe(&store, 'a', ENDPOINT).await.0, 201);
    {
        let mut all = lock(&store.subscriptions);
        let own = all.values().next().cloned().expect("stored");
        for i in 1..crate::subscriptions::PUSH_SUBSCRIPTIONS_PER_ROOM {
            let mut other = own.clone();
            other.id = format!("{i:064}");
            all.insert(("general".into(), other.id.clone()), other);
        }
    }
    let (status, body) = subscribe(&store, 'b', "https://push.example.net/new").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("room_full"))
    );
    assert_eq!(subscribe(&store, 'a', ENDPOINT).await.0, 201);
}
