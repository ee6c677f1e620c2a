//! Who is in a room, on the emulator: the connections table's stream into
//! the deployed fan-out, its `by-room-people` index, and the first history
//! page. People come and go; a second tab of one person counts once; a
//! connection gone without `$disconnect` (a post answered 410) drops out;
//! the page without JavaScript shows the count when it was written; and
//! `chatctl invoke fanout --sample stream-connect` does what it says.

mod support;

use serde_json::{json, Value};
use support::project::{aws, chatctl, json_of, Project};
use support::ws::{expect, open, send, Socket};
use support::Emulator;

/// The next `presence` frame, as (count, people).
async fn presence(socket: &mut Socket) -> (u64, Vec<String>) {
    let frame = expect(socket, "presence").await;
    assert_eq!(frame["room"], "general", "{frame}");
    assert_eq!(frame["complete"], true, "{frame}");
    counted(&frame)
}

fn counted(presence: &Value) -> (u64, Vec<String>) {
    let people = presence["people"].as_array().expect("people");
    (
        presence["count"].as_u64().expect("count"),
        people
            .iter()
            .map(|p| p.as_str().expect("a name").to_string())
            .collect(),
    )
}

fn here(count: u64, people: &[&str]) -> (u64, Vec<String>) {
    (count, people.iter().map(|p| p.to_string()).collect())
}

/// Joins and reads the first history page: the room as the newcomer sees it.
async fn join(emulator: &Emulator, outputs: &Value, query: &str) -> (Socket, Value) {
    let mut socket = open(emulator, outputs, query).await;
    send(&mut socket, json!({"action": "history"})).await;
    let history = expect(&mut socket, "history").await;
    (socket, history)
}

#[tokio::test(flavor = "multi_thread")]
async fn people_come_and_go_tabs_count_once_and_the_gone_drop_out() {
    let emulator = Emulator::start();
    let project = Project::new("chat:\n  rate_limit:\n    messages: 1000\n    per_seconds: 60\n");
    let (launched, _) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    let outputs = launched["outputs"].clone();

    let (mut ada, history) = join(&emulator, &outputs, "room=general&name=ada").await;
    assert_eq!(counted(&history["presence"]), here(1, &["ada"]));
    let (mut bob, history) = join(&emulator, &outputs, "room=general&name=bob").await;
    assert_eq!(counted(&history["presence"]), here(2, &["ada", "bob"]));
    assert_eq!(presence(&mut ada).await, here(2, &["ada", "bob"]));
    let (cy, history) = join(&emulator, &outputs, "room=general&name=cy").await;
    assert_eq!(
        counted(&history["presence"]),
        here(3, &["ada", "bob", "cy"])
    );
    assert_eq!(presence(&mut ada).await, here(3, &["ada", "bob", "cy"]));
    assert_eq!(presence(&mut bob).await, here(3, &["ada", "bob", "cy"]));

    // Bob opens a second tab with his token: still three people, and
    // nobody is told (the next frame Ada gets is about Cy leaving).
    let token = history_token(&mut bob).await;
    let (bob_again, history) = join(
        &emulator,
        &outputs,
        &format!("room=general&name=bob&token={token}"),
    )
    .await;
    assert_eq!(
        counted(&history["presence"]),
        here(3, &["ada", "bob", "cy"])
    );
    drop(cy);
    assert_eq!(presence(&mut ada).await, here(2, &["ada", "bob"]));
    assert_eq!(presence(&mut bob).await, here(2, &["ada", "bob"]));
    // One of his two tabs closing tells nobody either: the next frame is
    // about the ghost below.
    drop(bob_again);

    // A connection whose socket is gone without `$disconnect`: listed
    // when it appears, dropped when the fan-out's post answers 410.
    let aws = aws(&emulator).await;
    let ghost = chat_core::model::Connection {
        connection_id: "ghost-connection".into(),
        room: "general".into(),
        name: "ghost".into(),
        author: "ghost-author".into(),
        token: String::new(),
        token_sealed: None,
        expires_at: chat_core::now_seconds() + 600,
        client: None,
        user: None,
        moderator: false,
    };
    aws.dynamodb()
        .put_item()
        .table_name(outputs["ConnectionsTableName"].as_str().expect("table"))
        .set_item(Some(serde_dynamo::to_item(&ghost).expect("item")))
        .send()
        .await
        .expect("put the ghost");
    assert_eq!(presence(&mut ada).await, here(3, &["ada", "bob", "ghost"]));
    assert_eq!(presence(&mut bob).await, here(3, &["ada", "bob", "ghost"]));
    send(&mut ada, json!({"action": "send", "text": "anyone there?"})).await;
    assert_eq!(presence(&mut ada).await, here(2, &["ada", "bob"]));
    assert_eq!(presence(&mut bob).await, here(2, &["ada", "bob"]));

    // The page without JavaScript counts who was there when it was written.
    send(&mut bob, json!({"action": "send", "text": "just us"})).await;
    expect(&mut ada, "message").await;
    let bucket = outputs["SiteBucketName"].as_str().expect("bucket");
    let html = snapshot(&aws, bucket, "rooms/general.html").await;
    assert!(
        html.contains(r#"<p class="presence">2 people here: <bdi>ada</bdi>, <bdi>bob</bdi></p>"#),
        "{html}"
    );
    let snapshot: Value =
        serde_json::from_str(&snapshot(&aws, bucket, "rooms/general.json").await).expect("JSON");
    assert_eq!(counted(&snapshot["presence"]), here(2, &["ada", "bob"]));

    // The operators' sample: a Connections stream insert tells the room
    // that "sample" arrived.
    let invoked = chatctl(&emulator, &project)
        .args(["invoke", "fanout", "--sample", "stream-connect"])
        .output()
        .expect("run chatctl invoke");
    assert_eq!(invoked.status.code(), Some(0), "{invoked:?}");
    assert_eq!(presence(&mut ada).await, here(3, &["ada", "bob", "sample"]));
    assert_eq!(presence(&mut bob).await, here(3, &["ada", "bob", "sample"]));
}

/// Bob's author token, from a history page of his.
async fn history_token(socket: &mut Socket) -> String {
    send(socket, json!({"action": "history"})).await;
    let history = expect(socket, "history").await;
    history["you"]["token"]
        .as_str()
        .expect("a token")
        .to_string()
}

async fn snapshot(aws: &chatctl::aws::Aws, bucket: &str, key: &str) -> String {
    let object = aws
        .s3()
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("snapshot written");
    let body = object.body.collect().await.expect("body").to_vec();
    String::from_utf8(body).expect("UTF-8")
}
