//! Notifications on the emulator: the VAPID key chatctl makes at the first
//! launch (an SSM SecureString, its public half in `config.json`, never in
//! the template or the output), subscriptions stored through the HTTP API,
//! and the fan-out and the notify function sending each new message to a
//! push service on 127.0.0.1 that checks the VAPID signature and decrypts
//! the payload as a browser would. The author and the people connected to
//! the room are not notified; a 410 removes the subscription; a 500 is
//! tried again.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::project::{aws, chatctl, json_of, Project};
use support::push_service::PushService;
use support::ws::{expect, open, send, Socket};
use support::{http_request, Emulator};

const WAIT: Duration = Duration::from_secs(30);

/// Joins `general` and reads the first history page: the socket and the
/// author token the chat gave it.
async fn join(emulator: &Emulator, outputs: &Value, name: &str) -> (Socket, String) {
    let mut socket = open(emulator, outputs, &format!("room=general&name={name}")).await;
    send(&mut socket, json!({"action": "history"})).await;
    let history = expect(&mut socket, "history").await;
    let token = history["you"]["token"]
        .as_str()
        .expect("a token")
        .to_string();
    (socket, token)
}

/// `METHOD /api/rooms/general/subscriptions` with a JSON body: the status
/// and the body.
fn subscriptions(emulator: &Emulator, outputs: &Value, method: &str, body: Value) -> (u16, String) {
    let http_api = outputs["HttpApiId"].as_str().expect("http api");
    let response = http_request(
        emulator.port(),
        method,
        &format!("/_aws/execute-api/{http_api}/$default/api/rooms/general/subscriptions"),
        "application/json",
        &body.to_string(),
    )
    .expect("the HTTP API answers");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

fn subscribe(emulator: &Emulator, outputs: &Value, token: &str, subscription: &Value) {
    let (status, response) = subscriptions(
        emulator,
        outputs,
        "POST",
        json!({ "token": token, "subscription": subscription }),
    );
    assert_eq!(status, 201, "{response}");
}

/// The room's stored subscription endpoints.
async fn stored_endpoints(aws: &chatctl::aws::Aws, outputs: &Value) -> Vec<String> {
    let table = outputs["SubscriptionsTableName"].as_str().expect("table");
    let found = aws
        .dynamodb()
        .query()
        .table_name(table)
        .key_condition_expression("room = :room")
        .expression_attribute_values(
            ":room",
            aws_sdk_dynamodb::types::AttributeValue::S("general".into()),
        )
        .send()
        .await
        .expect("query the subscriptions");
    let mut endpoints: Vec<String> = found
        .items()
        .iter()
        .filter_map(|item| item.get("endpoint")?.as_s().ok().cloned())
        .collect();
    endpoints.sort();
    endpoints
}

#[tokio::test(flavor = "multi_thread")]
async fn subscribers_away_from_the_room_get_each_new_message_pushed() {
    let emulator = Emulator::start();
    let push = PushService::start();
    let project = Project::new("chat:\n  rate_limit:\n    messages: 1000\n    per_seconds: 60\n");
    let (launched, launch_log) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    let outputs = launched["outputs"].clone();
    let stack = launched["stack"].as_str().expect("stack").to_string();
    let aws = aws(&emulator).await;

    // The key pair: a SecureString only the notify function may read, its
    // public half in config.json, the private half nowhere else.
    let parameter = aws
        .ssm()
        .get_parameter()
        .name(format!("/chatctl/{stack}/vapid-private-key"))
        .with_decryption(true)
        .send()
        .await
        .expect("the VAPID key is stored")
        .parameter
        .expect("a parameter");
    assert_eq!(
        parameter.r#type,
        Some(aws_sdk_ssm::types::ParameterType::SecureString)
    );
    let private = parameter.value.expect("a value");
    let bucket = outputs["SiteBucketName"].as_str().expect("bucket");
    let config: Value = serde_json::from_slice(
        &aws.s3()
            .get_object()
            .bucket(bucket)
            .key("config.json")
            .send()
            .await
            .expect("config.json")
            .body
            .collect()
            .await
            .expect("body")
            .to_vec(),
    )
    .expect("JSON");
    let public = config["vapidPublicKey"].as_str().expect("the public key");
    assert_eq!(
        chat_push::VapidKey::from_base64url(&private)
            .expect("a key")
            .public_base64url(),
        public
    );
    let template = chatctl(&emulator, &project)
        .arg("template")
        .output()
        .expect("chatctl template");
    assert!(template.status.success());
    for text in [
        String::from_utf8_lossy(&template.stdout).to_string(),
        launch_log,
        launched.to_string(),
    ] {
        assert!(!text.contains(&private), "the private key leaked");
    }
    // A second launch keeps the key.
    json_of(chatctl(&emulator, &project).arg("launch"), 0);
    let again = aws
        .ssm()
        .get_parameter()
        .name(format!("/chatctl/{stack}/vapid-private-key"))
        .with_decryption(true)
        .send()
        .await
        .expect("still stored");
    assert_eq!(
        again.parameter.and_then(|p| p.value).as_deref(),
        Some(private.as_str())
    );

    // Ada and Bob are in the room; Cy, Dan and Eve are away.
    let (mut ada, ada_token) = join(&emulator, &outputs, "ada").await;
    let (bob, bob_token) = join(&emulator, &outputs, "bob").await;
    let away = |who: char| who.to_string().repeat(22);
    let mut endpoints = Vec::new();
    for (name, token) in [
        ("ada", ada_token.clone()),
        ("bob", bob_token.clone()),
        ("cy", away('c')),
        ("dan", away('d')),
        ("eve", away('e')),
    ] {
        let subscription = push.subscribe(name);
        endpoints.push(
            subscription["endpoint"]
                .as_str()
                .expect("endpoint")
                .to_string(),
        );
        subscribe(&emulator, &outputs, &token, &subscription);
    }
    // An endpoint at an internal address is refused before it is stored.
    let mut internal = push.subscribe("metadata");
    internal["endpoint"] = json!("https://169.254.169.254/latest/meta-data");
    let (status, response) = subscriptions(
        &emulator,
        &outputs,
        "POST",
        json!({ "token": away('m'), "subscription": internal }),
    );
    assert_eq!(status, 400, "{response}");
    push.will_answer("dan", &[410]);
    push.will_answer("eve", &[500]);

    send(
        &mut ada,
        json!({"action": "send", "text": "hello from ada"}),
    )
    .await;
    let cy = push.wait_for("cy", 1, WAIT);
    assert_eq!(cy.len(), 1, "{:?}", push.all_received());
    assert_eq!(
        cy[0].refused, None,
        "signed and encrypted as a push service requires"
    );
    assert_eq!(cy[0].status, 201);
    assert_eq!(cy[0].key, public, "signed with the stack's key");
    let payload = cy[0].payload.clone().expect("decrypted");
    assert_eq!(
        (
            payload["room"].as_str(),
            payload["name"].as_str(),
            payload["text"].as_str()
        ),
        (Some("general"), Some("ada"), Some("hello from ada"))
    );
    // Eve's push service said 500 first: tried again, and taken.
    let eve = push.wait_for("eve", 2, WAIT);
    let statuses: Vec<u16> = eve.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 201]);
    // Dan's said 410: the subscription is removed.
    assert_eq!(push.wait_for("dan", 1, WAIT)[0].status, 410);
    let deadline = Instant::now() + WAIT;
    while stored_endpoints(&aws, &outputs).await.len() > 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut left = endpoints.clone();
    left.retain(|e| !e.ends_with("/push/dan"));
    left.sort();
    assert_eq!(stored_endpoints(&aws, &outputs).await, left);
    // The author and the people in the room were not notified.
    assert!(push.received("ada").is_empty() && push.received("bob").is_empty());

    // Bob leaves: from now on he is notified too.
    drop(bob);
    let deadline = Instant::now() + WAIT;
    loop {
        let frame = expect(&mut ada, "presence").await;
        if frame["count"] == 1 || Instant::now() > deadline {
            break;
        }
    }
    send(
        &mut ada,
        json!({"action": "send", "text": "bob, you there?"}),
    )
    .await;
    let bob_pushes = push.wait_for("bob", 1, WAIT);
    assert_eq!(bob_pushes.len(), 1, "{:?}", push.all_received());
    assert_eq!(
        bob_pushes[0].payload.as_ref().expect("decrypted")["text"],
        "bob, you there?"
    );
    assert_eq!(push.wait_for("cy", 2, WAIT).len(), 2);

    // Cy stops notifications: only Cy's own token removes them.
    let cy_endpoint = endpoints
        .iter()
        .find(|e| e.ends_with("/push/cy"))
        .expect("cy");
    let (status, _) = subscriptions(
        &emulator,
        &outputs,
        "DELETE",
        json!({ "token": away('d'), "endpoint": cy_endpoint }),
    );
    assert_eq!(status, 403);
    let (status, response) = subscriptions(
        &emulator,
        &outputs,
        "DELETE",
        json!({ "token": away('c'), "endpoint": cy_endpoint }),
    );
    assert_eq!(status, 204, "{response}");
    assert!(!stored_endpoints(&aws, &outputs).await.contains(cy_endpoint));
}
