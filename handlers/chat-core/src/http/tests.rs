//! The HTTP API against the in-memory chat: history, JSON and form posts,
//! the cross-site refusal, the budget per client (the viewer's, through
//! CloudFront) and the CloudFront-only mode.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use serde_json::Value;

use super::*;
use crate::memory::Memory;
use crate::test_events;
use crate::Settings;

const ADA: &str = "203.0.113.7";
const EDGE: &str = "130.176.0.1";
const JSON: (&str, &str) = ("content-type", "application/json");
const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const MESSAGES: &str = "/api/rooms/general/messages";

async fn call(
    store: &Memory,
    method: &str,
    path: &str,
    ip: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> ApiGatewayV2httpResponse {
    let event = test_events::http(method, path, ip, headers, body);
    handle(store, event).await.expect("answered")
}

fn json_of(response: &ApiGatewayV2httpResponse) -> Value {
    match &response.body {
        Some(Body::Text(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn header<'a>(response: &'a ApiGatewayV2httpResponse, name: &str) -> &'a str {
    response
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A JSON post from Ada with `text`.
async fn post_text(
    store: &Memory,
    ip: &str,
    headers: &[(&str, &str)],
    text: &str,
) -> ApiGatewayV2httpResponse {
    let body = serde_json::json!({ "name": "Ada", "text": text }).to_string();
    let mut headers = headers.to_vec();
    headers.push(JSON);
    call(store, "POST", MESSAGES, ip, &headers, Some(&body)).await
}

async fn post_json(store: &Memory, ip: &str, headers: &[(&str, &str)], text: &str) -> i64 {
    post_text(store, ip, headers, text).await.status_code
}

#[tokio::test]
async fn a_json_post_is_stored_as_a_form_message_and_returned() {
    let store = Memory::new(Settings::default());
    let body = r#"{"name":"Ada","text":"hi <b>"}"#;
    let response = call(&store, "POST", MESSAGES, ADA, &[JSON], Some(body)).await;
    assert_eq!(response.status_code, 201);
    let stored = store.stored_messages();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].source, Some(Source::Form));
    assert_eq!(stored[0].author, None, "an HTTP post cannot be edited");
    assert_eq!(json_of(&response)["message"]["id"], stored[0].id.as_str());
    assert_eq!(json_of(&response)["message"]["text"], "hi <b>");
    assert_eq!(header(&response, "cache-control"), "no-store");
}

#[tokio::test]
async fn a_form_post_goes_back_to_the_room_page() {
    let store = Memory::new(Settings::default());
    let response = call(
        &store,
        "POST",
        MESSAGES,
        ADA,
        &[FORM],
        Some("name=Ada&text=hello+there"),
    )
    .await;
    assert_eq!(response.status_code, 303);
    assert_eq!(header(&response, "location"), "/rooms/general.html");
    assert_eq!(store.stored_messages()[0].text, "hello there");
}

#[tokio::test]
async fn history_pages_newest_last_with_a_cursor_and_checks_it() {
    let store = Memory::new(Settings::default());
    for (id, text) in [
        ("01J0000000000000000000000A", "one"),
        ("01J0000000000000000000000B", "two"),
        ("01J0000000000000000000000C", "three"),
    ] {
        store.said("general", id, text);
    }
    let page = call(
        &store,
        "GET",
        &format!("{MESSAGES}?limit=2"),
        ADA,
        &[],
        None,
    )
    .await;
    assert_eq!(page.status_code, 200);
    let page = json_of(&page);
    assert_eq!(page["room"], "general");
    let texts = test_events::texts(&page["messages"]);
    assert_eq!(texts, ["two", "three"]);
    let cursor = page["next_cursor"].as_str().expect("a cursor");
    let before = json_of(
        &call(
            &store,
            "GET",
            &format!("{MESSAGES}?cursor={cursor}"),
            ADA,
            &[],
            None,
        )
        .await,
    );
    assert_eq!(before["messages"][0]["text"], "one");
    assert!(before["next_cursor"].is_null());
    let bad = call(
        &store,
        "GET",
        &format!("{MESSAGES}?cursor=nope"),
        ADA,
        &[],
        None,
    )
    .await;
    assert_eq!(bad.status_code, 400);
    assert_eq!(json_of(&bad)["error"]["field"], "cursor");
    let room = call(&store, "GET", "/api/rooms/BAD!/messages", ADA, &[], None).await;
    assert_eq!(
        (room.status_code, json_of(&room)["error"]["field"].as_str()),
        (400, Some("room"))
    );
    assert_eq!(
        call(&store, "PUT", MESSAGES, ADA, &[], None)
            .await
            .status_code,
        405
    );
    assert_eq!(
        call(&store, "GET", "/elsewhere", ADA, &[], None)
            .await
            .status_code,
        404
    );
}

#[tokio::test]
async fn another_sites_post_is_refused_before_it_is_charged_or_stored() {
    let store = Memory::new(Settings {
        site_origins: vec!["https://chat.example.com".into()],
        ..Settings::default()
    });
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
    ] {
        assert_eq!(
            post_json(&store, ADA, &headers, "hi").await,
            403,
            "{headers:?}"
        );
    }
    assert!(store.calls().is_empty(), "{:?}", store.calls());
    assert_eq!(
        post_json(&store, ADA, &[("sec-fetch-site", "same-origin")], "hi").await,
        201
    );
    assert_eq!(
        post_json(&store, ADA, &[("origin", "https://chat.example.com")], "hi").await,
        201
    );
}

#[tokio::test]
async fn over_budget_is_429_with_retry_after_for_scripts_and_for_the_form() {
    let store = Memory::new(Settings {
        rate_limit_messages: 1,
        rate_limit_seconds: 3600,
        ..Settings::default()
    });
    assert_eq!(post_json(&store, ADA, &[], "hi").await, 201);
    let refused = post_text(&store, ADA, &[], "again").await;
    assert_eq!(refused.status_code, 429);
    let retry_after: i64 = header(&refused, "retry-after").parse().expect("seconds");
    assert!((1..=3600).contains(&retry_after));
    assert_eq!(json_of(&refused)["error"]["code"], "rate_limited");
    assert_eq!(json_of(&refused)["error"]["retry_after"], retry_after);
    let form = call(
        &store,
        "POST",
        MESSAGES,
        ADA,
        &[FORM],
        Some("name=Ada&text=again"),
    )
    .await;
    assert_eq!(form.status_code, 429);
    assert!(header(&form, "content-type").starts_with("text/html"));
    assert_eq!(store.stored_messages().len(), 1);
}

#[tokio::test]
async fn through_cloudfront_each_viewer_has_its_own_budget_and_a_forgery_has_none() {
    let store = Memory::new(Settings {
        rate_limit_messages: 1,
        rate_limit_seconds: 3600,
        origin_verify: Some("the-secret".into()),
        ..Settings::default()
    });
    let viewer = |address| {
        [
            ("x-origin-verify", "the-secret"),
            ("cloudfront-viewer-address", address),
        ]
    };
    // Every request arrives from the edge's address.
    assert_eq!(
        post_json(&store, EDGE, &viewer("198.51.100.1:5000"), "a").await,
        201
    );
    assert_eq!(
        post_json(&store, EDGE, &viewer("198.51.100.2:5000"), "b").await,
        201
    );
    assert_eq!(
        post_json(&store, EDGE, &viewer("198.51.100.1:6000"), "c").await,
        429
    );
    // Without the secret the viewer header is not believed: the edge's own
    // address is charged, once.
    let forged = [("cloudfront-viewer-address", "198.51.100.3:5000")];
    assert_eq!(post_json(&store, EDGE, &forged, "d").await, 201);
    let forged = [("cloudfront-viewer-address", "198.51.100.4:5000")];
    assert_eq!(post_json(&store, EDGE, &forged, "e").await, 429);
}

#[tokio::test]
async fn cloudfront_only_refuses_what_did_not_come_through_it() {
    let store = Memory::new(Settings {
        origin_verify: Some("the-secret".into()),
        cloudfront_only: true,
        ..Settings::default()
    });
    let refused = call(&store, "GET", MESSAGES, ADA, &[], None).await;
    assert_eq!(refused.status_code, 403);
    assert!(store.calls().is_empty());
    let through = call(
        &store,
        "GET",
        MESSAGES,
        EDGE,
        &[("x-origin-verify", "the-secret")],
        None,
    )
    .await;
    assert_eq!(through.status_code, 200);
}

#[tokio::test]
async fn a_storage_failure_is_a_500_that_says_to_try_again() {
    let store = Memory::new(Settings::default());
    store.fail("put_message");
    let response = post_text(&store, ADA, &[], "hi").await;
    assert_eq!(response.status_code, 500);
    assert_eq!(
        json_of(&response)["error"]["message"],
        "the message was not stored; try again"
    );
    store.fail("history");
    assert_eq!(
        call(&store, "GET", MESSAGES, ADA, &[], None)
            .await
            .status_code,
        500
    );
}

#[test]
fn rooms_come_from_the_path() {
    assert_eq!(room_of("/api/rooms/general/messages"), Some("general"));
    assert_eq!(room_of("/api/rooms/general"), None);
    assert_eq!(room_of("/other"), None);
}

#[test]
fn forms_and_json_parse_alike() {
    let form: Post =
        serde_urlencoded::from_bytes(b"name=Ada+L&text=hi%20%3Cthere%3E").expect("form");
    assert_eq!(
        (form.name.as_str(), form.text.as_str()),
        ("Ada L", "hi <there>")
    );
    let json: Post = serde_json::from_slice(br#"{"name":"Ada","text":"hi"}"#).expect("json");
    assert_eq!(json.text, "hi");
    assert!(serde_json::from_slice::<Post>(&[0xff, 0xfe]).is_err());
}
