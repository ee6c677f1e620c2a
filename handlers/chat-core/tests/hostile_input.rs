//! Hostile input for the message and http handlers' request parsing: random
//! and adversarial payloads (invalid UTF-8, huge and deeply nested JSON, HTML
//! and script, unknown actions, wrong types). Nothing panics, and every
//! rejection is structured: an error frame with a code, or a 400 whose JSON
//! body names the problem.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::http::HeaderValue;
use base64::Engine;
use chat_core::frames::{parse_request, Frame, MAX_FRAME_BYTES};
use chat_core::http::read_post;
use proptest::prelude::*;

const MAX_TEXT: usize = 2000;

/// Payloads an attacker or a broken client sends.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,300}",
        // JSON-shaped: right keys, wrong types and values.
        (
            prop::sample::select(vec![
                "send", "edit", "delete", "history", "dance", "", "SEND"
            ]),
            any::<String>(),
            prop::sample::select(vec![
                "\"x\"",
                "1",
                "null",
                "[]",
                "{}",
                "true",
                "\"<script>alert(1)</script>\""
            ]),
        )
            .prop_map(|(action, text, id)| format!(
                r#"{{"action":"{action}","text":{},"id":{id}}}"#,
                serde_json::to_string(&text).unwrap_or_default()
            )),
        // Deep nesting (serde_json stops at 128 levels).
        (1usize..5000).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
        (1usize..5000).prop_map(|depth| format!(
            r#"{{"action":"send","text":{}1{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )),
        // Extra fields, duplicate keys, huge numbers.
        Just(r#"{"action":"history","limit":1e400}"#.to_string()),
        Just(r#"{"action":"send","text":"a","text":"b"}"#.to_string()),
        Just(r#"{"action":"send","text":"a","admin":true}"#.to_string()),
    ]
}

fn is_structured_error(frame: &Frame) -> bool {
    matches!(frame, Frame::Error { code, message, .. } if !code.is_empty() && !message.is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn websocket_frames_never_panic_and_refusals_are_error_frames(body in hostile()) {
        if let Err(frame) = parse_request(Some(&body)) {
            prop_assert!(is_structured_error(&frame), "{frame:?}");
        }
    }

    #[test]
    fn http_posts_never_panic_and_refusals_are_400_with_a_reason(
        body in hostile(),
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        form in any::<bool>(),
        encoded in any::<bool>(),
        raw_bytes in any::<bool>(),
    ) {
        let mut request = ApiGatewayV2httpRequest::default();
        // Invalid UTF-8 reaches a function only base64-encoded.
        let payload = if raw_bytes { bytes } else { body.into_bytes() };
        request.body = Some(if encoded || raw_bytes {
            base64::engine::general_purpose::STANDARD.encode(&payload)
        } else {
            String::from_utf8_lossy(&payload).into_owned()
        });
        request.is_base64_encoded = encoded || raw_bytes;
        let content_type = if form { "application/x-www-form-urlencoded" } else { "application/json" };
        request.headers.insert("content-type", HeaderValue::from_static(content_type));
        match read_post(&request, MAX_TEXT) {
            Ok(post) => {
                prop_assert!(chat_core::validate_name(&post.name).is_ok());
                prop_assert!(chat_core::validate_text(&post.text, MAX_TEXT).is_ok());
            }
            Err(response) => {
                prop_assert_eq!(response.status_code, 400);
                let body = match &response.body {
                    Some(aws_lambda_events::encodings::Body::Text(text)) => text.clone(),
                    other => panic!("a refusal without a text body: {other:?}"),
                };
                let json: serde_json::Value = serde_json::from_str(&body).expect("refusals are JSON");
                prop_assert!(json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
            }
        }
    }
}

#[test]
fn an_oversized_frame_is_refused_with_a_code() {
    let huge = format!(
        r#"{{"action":"send","text":"{}"}}"#,
        "a".repeat(MAX_FRAME_BYTES + 1)
    );
    let refused = parse_request(Some(&huge)).expect_err("an oversized frame was accepted");
    assert!(is_structured_error(&refused), "{refused:?}");
}

#[test]
fn an_oversized_http_body_is_a_400() {
    let mut request = ApiGatewayV2httpRequest::default();
    request.body = Some(format!(
        r#"{{"name":"a","text":"{}"}}"#,
        "a".repeat(100_000)
    ));
    let refused = read_post(&request, MAX_TEXT).expect_err("an oversized body was accepted");
    assert_eq!(refused.status_code, 400);
}
