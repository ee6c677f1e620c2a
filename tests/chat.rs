//! The chat itself, on the emulator: the real handler binaries deployed by
//! `chatctl launch`, two WebSocket clients, the HTTP API, the SNS topic, the
//! stream fan-out and its snapshots, and the rules the handlers enforce
//! (edit authorisation) against the emulator's real DynamoDB.

mod support;

use std::time::Duration;

use futures::SinkExt;
use serde_json::json;
use support::project::{aws, chatctl, json_of, Project};
use support::ws::{expect, open, send, FRAME_WAIT};
use support::{get_json, http_request, Emulator};
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test(flavor = "multi_thread")]
async fn two_clients_chat_live_with_edits_deletes_forms_sns_and_snapshots() {
    let emulator = Emulator::start();
    // Both clients share one address here (127.0.0.1): the per-client
    // limits have their own test (tests/limits.rs).
    let project = Project::new("chat:\n  rate_limit:\n    messages: 1000\n    per_seconds: 60\n");
    let (launched, _) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    let outputs = launched["outputs"].clone();
    let aws = aws(&emulator).await;

    // A bad room is refused at connect.
    let url = format!(
        "ws://127.0.0.1:{}/_aws/execute-api/{}/{}?room=Not%20Valid&name=x",
        emulator.port(),
        outputs["WebSocketApiId"].as_str().unwrap_or(""),
        outputs["WebSocketStageName"].as_str().unwrap_or("")
    );
    assert!(
        tokio_tungstenite::connect_async(url).await.is_err(),
        "an invalid room was accepted"
    );

    let mut alice = open(&emulator, &outputs, "room=general&name=alice").await;
    let mut bob = open(&emulator, &outputs, "room=general&name=bob").await;
    send(&mut alice, json!({"action": "history"})).await;
    let history = expect(&mut alice, "history").await;
    assert_eq!(history["you"]["name"], "alice");
    // The server's clock, which the page counts the edit window with.
    let server_now = history["now"].as_i64().expect("the server's clock");
    let here_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    assert!(
        (server_now - here_now).abs() <= 5,
        "{server_now} vs {here_now}"
    );
    let token = history["you"]["token"]
        .as_str()
        .expect("a token")
        .to_string();
    assert!(token.len() >= 22, "{token}");
    // The connections table (and the index the fan-out reads) holds the
    // token only sealed: nobody reading the table can take it.
    let stored = aws
        .dynamodb()
        .scan()
        .table_name(outputs["ConnectionsTableName"].as_str().expect("table"))
        .send()
        .await
        .expect("scan the connections table");
    assert!(!stored.items().is_empty());
    for item in stored.items() {
        assert!(item.contains_key("token_sealed"), "{item:?}");
        assert!(
            !format!("{item:?}").contains(&token),
            "a token in the table: {item:?}"
        );
    }

    // A message from one reaches the other.
    send(
        &mut alice,
        json!({"action": "send", "text": "hello <script>alert(1)</script>"}),
    )
    .await;
    let sent = expect(&mut alice, "sent").await;
    let id = sent["id"].as_str().expect("id").to_string();
    let received = expect(&mut bob, "message").await;
    assert_eq!(received["message"]["id"], id.as_str());
    assert_eq!(received["message"]["source"], "live");
    assert_eq!(received["message"]["name"], "alice");
    assert!(
        received["message"].get("author").is_none(),
        "the author key leaked"
    );

    // Only the author may edit or delete.
    send(
        &mut bob,
        json!({"action": "edit", "id": id, "text": "bob was here"}),
    )
    .await;
    let refused = expect(&mut bob, "error").await;
    assert_eq!(refused["code"], "forbidden");
    send(
        &mut alice,
        json!({"action": "edit", "id": id, "text": "hello, edited"}),
    )
    .await;
    let edited = expect(&mut bob, "edited").await;
    assert_eq!(edited["message"]["text"], "hello, edited");
    assert!(edited["message"]["edited_at"].is_i64());

    // Malformed frames get error frames, not silence.
    send(&mut alice, json!({"action": "dance"})).await;
    assert_eq!(expect(&mut alice, "error").await["code"], "unknown_action");
    // A 32 KiB action is answered, and logged as a name, not whole.
    let flood = format!("flood{}", "x".repeat(32 * 1024 - 40));
    send(&mut alice, json!({ "action": flood })).await;
    assert_eq!(expect(&mut alice, "error").await["code"], "unknown_action");
    let message_log = function_log(&emulator, &aws, "MessageLogGroup", logged_invalid).await;
    assert!(
        logged_invalid(&message_log),
        "no request line for the flood in the message function's log:\n{}",
        &message_log[..message_log.len().min(2000)]
    );
    assert!(
        !message_log.contains(&"x".repeat(100)),
        "the client's action reached the log"
    );
    alice
        .send(WsMessage::text("{not json"))
        .await
        .expect("send");
    assert_eq!(expect(&mut alice, "error").await["code"], "bad_request");
    send(
        &mut alice,
        json!({"action": "send", "text": "x".repeat(2001)}),
    )
    .await;
    let too_long = expect(&mut alice, "error").await;
    assert_eq!(
        (too_long["code"].as_str(), too_long["field"].as_str()),
        (Some("invalid"), Some("text"))
    );
    // Ids and cursors are message ids (ULIDs), not anything up to 32 KiB:
    // a long DynamoDB key would be a ValidationException and a 500.
    send(
        &mut alice,
        json!({"action": "delete", "id": "x".repeat(2000)}),
    )
    .await;
    let bad_id = expect(&mut alice, "error").await;
    assert_eq!(
        (bad_id["code"].as_str(), bad_id["field"].as_str()),
        (Some("invalid"), Some("id"))
    );
    assert!(bad_id["message"].as_str().is_some_and(|m| m.len() < 200));

    send(&mut alice, json!({"action": "delete", "id": id})).await;
    let deleted = expect(&mut bob, "deleted").await;
    assert_eq!(deleted["id"], id.as_str());

    // A form post (no JavaScript) answers 303 to the room page and reaches the live clients.
    let http_api = outputs["HttpApiId"].as_str().expect("http api");
    let response = http_request(
        emulator.port(),
        "POST",
        &format!("/_aws/execute-api/{http_api}/$default/api/rooms/general/messages"),
        "application/x-www-form-urlencoded",
        "name=carol&text=%3Cb%3Eno+script+needed%3C%2Fb%3E",
    )
    .expect("HTTP API answers");
    assert!(response.starts_with("HTTP/1.1 303"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("location: /rooms/general.html"),
        "{response}"
    );
    // The same form post made by another site's page is refused.
    let forged = support::http_request_with(
        emulator.port(),
        "POST",
        &format!("/_aws/execute-api/{http_api}/$default/api/rooms/general/messages"),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        "name=mallory&text=forged",
    )
    .expect("HTTP API answers");
    assert!(forged.starts_with("HTTP/1.1 403"), "{forged}");
    // A browser too old for Sec-Fetch-Site sends only an Origin: another
    // site's is refused, the site's own (its distribution) is not.
    let from_origin = |origin: &str, text: &str| {
        support::http_request_with(
            emulator.port(),
            "POST",
            &format!("/_aws/execute-api/{http_api}/$default/api/rooms/general/messages"),
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Origin", origin),
            ],
            &format!("name=old&text={text}"),
        )
        .expect("HTTP API answers")
    };
    let old_forged = from_origin("https://evil.example", "forged");
    assert!(old_forged.starts_with("HTTP/1.1 403"), "{old_forged}");
    let own_site = format!(
        "https://{}",
        outputs["DistributionDomainName"]
            .as_str()
            .expect("distribution")
    );
    let own = from_origin(&own_site, "from+the+site");
    assert!(own.starts_with("HTTP/1.1 303"), "{own}");
    // Each HTTP request is one log line too: the status, never the text.
    let posted_303 = |log: &str| log.contains("\"status\":303") || log.contains("status=303");
    let http_log = function_log(&emulator, &aws, "HttpLogGroup", posted_303).await;
    assert!(
        posted_303(&http_log)
            && (http_log.contains("\"status\":403") || http_log.contains("status=403")),
        "no request lines for the form posts in the http function's log:\n{}",
        &http_log[..http_log.len().min(2000)]
    );
    assert!(
        !http_log.contains("no script needed") && !http_log.contains("forged"),
        "a posted text reached the log"
    );
    let posted = expect(&mut bob, "message").await;
    assert_eq!(posted["message"]["name"], "carol");
    assert_eq!(posted["message"]["source"], "form");
    assert_eq!(expect(&mut bob, "message").await["message"]["name"], "old");
    let response = http_request(
        emulator.port(),
        "GET",
        &format!(
            "/_aws/execute-api/{http_api}/$default/api/rooms/general/messages?cursor={}",
            "0".repeat(2000)
        ),
        "text/plain",
        "",
    )
    .expect("HTTP API answers");
    assert!(
        response.starts_with("HTTP/1.1 400") && response.contains("\"field\":\"cursor\""),
        "{response}"
    );

    // Bad HTTP input is a 400 naming the field.
    let response = http_request(
        emulator.port(),
        "POST",
        &format!("/_aws/execute-api/{http_api}/$default/api/rooms/general/messages"),
        "application/json",
        r#"{"name":"","text":"hi"}"#,
    )
    .expect("HTTP API answers");
    assert!(
        response.starts_with("HTTP/1.1 400") && response.contains("\"field\":\"name\""),
        "{response}"
    );

    // SNS: a bot's message enters the room named in its attribute.
    let topic = outputs["ChatTopicArn"].as_str().expect("topic");
    let publish = format!(
        "Action=Publish&TopicArn={}&Message=deploy+finished&MessageAttributes.entry.1.Name=room&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=general&MessageAttributes.entry.2.Name=name&MessageAttributes.entry.2.Value.DataType=String&MessageAttributes.entry.2.Value.StringValue=ci-bot",
        topic.replace(':', "%3A")
    );
    let response = http_request(
        emulator.port(),
        "POST",
        "/",
        "application/x-www-form-urlencoded",
        &publish,
    )
    .expect("SNS answers");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let from_sns = expect(&mut bob, "message").await;
    assert_eq!(
        (
            from_sns["message"]["name"].as_str(),
            from_sns["message"]["text"].as_str()
        ),
        (Some("ci-bot"), Some("deploy finished"))
    );
    assert_eq!(from_sns["message"]["source"], "sns");

    // GET history in order, through the HTTP API.
    let page = get_json(
        emulator.port(),
        &format!("/_aws/execute-api/{http_api}/$default/api/rooms/general/messages"),
    );
    let names: Vec<&str> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(
        names,
        vec!["carol", "old", "ci-bot"],
        "oldest first, the deleted message gone"
    );

    // The snapshot page shows the messages as text.
    let bucket = outputs["SiteBucketName"].as_str().expect("bucket");
    let html = aws
        .s3()
        .get_object()
        .bucket(bucket)
        .key("rooms/general.html")
        .send()
        .await
        .expect("snapshot written");
    assert_eq!(html.content_type(), Some("text/html; charset=utf-8"));
    let html = String::from_utf8(html.body.collect().await.expect("body").to_vec()).expect("UTF-8");
    assert!(
        html.contains("&lt;b&gt;no script needed&lt;/b&gt;") && !html.contains("<b>no script"),
        "{html}"
    );
    assert!(
        html.contains(r#"<form class="post" method="post" action="/api/rooms/general/messages">"#)
    );

    // A connection that is gone (410) is pruned by the fan-out.
    let connections = outputs["ConnectionsTableName"].as_str().expect("table");
    let ghost = chat_core::model::Connection {
        connection_id: "ghost-connection".into(),
        room: "general".into(),
        name: "ghost".into(),
        author: "x".into(),
        token: "x".into(),
        token_sealed: None,
        expires_at: chat_core::now_seconds() + 600,
        client: None,
        user: None,
        moderator: false,
    };
    aws.dynamodb()
        .put_item()
        .table_name(connections)
        .set_item(Some(serde_dynamo::to_item(&ghost).expect("item")))
        .send()
        .await
        .expect("put ghost");
    send(
        &mut alice,
        json!({"action": "send", "text": "anyone there?"}),
    )
    .await;
    expect(&mut bob, "message").await;
    let deadline = tokio::time::Instant::now() + FRAME_WAIT;
    loop {
        let item = aws
            .dynamodb()
            .get_item()
            .table_name(connections)
            .key(
                "connection_id",
                aws_sdk_dynamodb::types::AttributeValue::S("ghost-connection".into()),
            )
            .send()
            .await
            .expect("get_item");
        if item.item.is_none() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the gone connection was not pruned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The next `history` frame and its size in bytes, skipping other frames.
async fn next_history(socket: &mut support::ws::Socket) -> (usize, serde_json::Value) {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + FRAME_WAIT;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no history frame within {FRAME_WAIT:?}"));
        let Some(Ok(WsMessage::Text(text))) = next else {
            continue;
        };
        let frame: serde_json::Value = serde_json::from_str(text.as_str()).expect("JSON");
        if frame["type"] == "history" {
            return (text.len(), frame);
        }
    }
}

/// A room of 100 messages at their largest (32,000 quotes each, which JSON
/// escaping doubles, from a name of 32 four-byte characters): a history
/// request of 100 is answered in frames that each stay under the 128 KB API
/// Gateway delivers (the rules layer answers 413 to more, as AWS does, and
/// the client would get nothing: not even its token), the first with the
/// caller's token, and the cursor pages through all 100, over the WebSocket
/// and over HTTP. Three expired messages DynamoDB still holds (its TTL is
/// lazy) are in no page and not in the snapshot.
#[tokio::test(flavor = "multi_thread")]
async fn a_room_of_100_maximal_messages_pages_under_128_kb_with_the_token_first() {
    let emulator = Emulator::start();
    // Paging 100 messages is dozens of history requests in seconds: the
    // per-client limit is lifted out of the way (tests/limits.rs has it).
    let project = Project::new(
        "chat:\n  max_message_bytes: 32000\n  rate_limit:\n    messages: 1000\n    per_seconds: 60\n",
    );
    let (launched, _) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    let outputs = launched["outputs"].clone();
    let aws = aws(&emulator).await;
    let table = outputs["MessagesTableName"].as_str().expect("table");
    let now = chat_core::now_seconds();
    let mut live = Vec::new();
    for n in 0..103 {
        let expired = n >= 100;
        let message = chat_core::model::Message {
            room: "general".into(),
            id: format!("01J{n:023}"),
            name: "🚀".repeat(32),
            text: "\"".repeat(32_000),
            created_at: now,
            edited_at: None,
            author: None,
            expires_at: if expired { now - 60 } else { now + 86_400 },
            source: None,
            verified: false,
        };
        if !expired {
            live.push(message.id.clone());
        }
        aws.dynamodb()
            .put_item()
            .table_name(table)
            .set_item(Some(serde_dynamo::to_item(&message).expect("item")))
            .send()
            .await
            .expect("put_item");
    }

    let mut alice = open(&emulator, &outputs, "room=general&name=alice").await;
    let mut seen = Vec::new();
    let mut cursor = serde_json::Value::Null;
    for page in 0.. {
        assert!(page < 150, "the cursor does not advance");
        send(
            &mut alice,
            json!({"action": "history", "limit": 100, "cursor": cursor}),
        )
        .await;
        let (bytes, frame) = next_history(&mut alice).await;
        assert!(bytes < 128 * 1024, "page {page}: a {bytes}-byte frame");
        assert!(
            frame["you"]["token"]
                .as_str()
                .is_some_and(|t| t.len() >= 22),
            "page {page} has no token"
        );
        let messages = frame["messages"].as_array().expect("messages");
        assert!(!messages.is_empty(), "page {page} is empty");
        // Oldest first within a page; pages go back in time.
        let ids: Vec<String> = messages
            .iter()
            .map(|m| m["id"].as_str().expect("id").to_string())
            .collect();
        seen.splice(0..0, ids);
        cursor = frame["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(
        emulator.refusals().payload_too_large,
        0,
        "a frame over 128 KB was posted"
    );
    assert_eq!(
        seen, live,
        "every live message once, in order, no expired one"
    );

    let api = outputs["HttpApiId"].as_str().expect("api");
    let mut over_http = Vec::new();
    let mut query = String::new();
    for page in 0.. {
        assert!(page < 150, "the HTTP cursor does not advance");
        let body = get_json(
            emulator.port(),
            &format!(
                "/_aws/execute-api/{api}/$default/api/rooms/general/messages?limit=100{query}"
            ),
        );
        let ids: Vec<String> = body["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["id"].as_str().expect("id").to_string())
            .collect();
        over_http.splice(0..0, ids);
        match body["next_cursor"].as_str() {
            Some(next) => query = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(over_http, live);

    // The snapshot the stream's fan-out wrote: the newest 50 live ones.
    let bucket = outputs["SiteBucketName"].as_str().expect("bucket");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let snapshot = aws
            .s3()
            .get_object()
            .bucket(bucket)
            .key("rooms/general.json")
            .send()
            .await;
        if let Ok(snapshot) = snapshot {
            let body = snapshot.body.collect().await.expect("body").to_vec();
            let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            let ids: Vec<&str> = json["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .filter_map(|m| m["id"].as_str())
                .collect();
            if ids.len() == 50 && ids.last() == Some(&live[99].as_str()) {
                assert_eq!(
                    ids,
                    live[50..].iter().map(String::as_str).collect::<Vec<_>>()
                );
                break;
            }
            assert!(
                ids.iter().all(|id| live.iter().any(|l| l == id)),
                "an expired message is in the snapshot: {ids:?}"
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the snapshot never held the newest 50 live messages"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Everything a deployed function logged so far (its CloudWatch Logs
/// group, which the emulator fills), read with a raw FilterLogEvents call.
async fn function_log(
    emulator: &Emulator,
    aws: &chatctl::aws::Aws,
    logical: &str,
    until: impl Fn(&str) -> bool,
) -> String {
    let resources = aws
        .cloudformation()
        .describe_stack_resources()
        .stack_name("e2e-dev")
        .logical_resource_id(logical)
        .send()
        .await
        .expect("describe_stack_resources");
    let group = resources.stack_resources()[0]
        .physical_resource_id()
        .expect("log group")
        .to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let answer = support::http_request_with(
            emulator.port(),
            "POST",
            "/",
            &[
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", "Logs_20140328.FilterLogEvents"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=0",
                ),
            ],
            &json!({ "logGroupName": group }).to_string(),
        )
        .expect("CloudWatch Logs answers");
        let body = &answer[answer.find("\r\n\r\n").map(|i| i + 4).unwrap_or(0)..];
        let events: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        let lines: Vec<String> = events["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["message"].as_str().map(str::to_string))
            .collect();
        let text = lines.join("\n");
        if until(&text) || std::time::Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A request line for an invalid action, in Lambda's JSON or text log format.
fn logged_invalid(log: &str) -> bool {
    log.contains("\"action\":\"invalid\"") || log.contains("action=\"invalid\"")
}
