//! The message route against the in-memory chat: what each request
//! stores, what the caller is told, and what a refused request touches.

use serde_json::Value;

use super::{action_of, client_of, handle};
use crate::connect::{author_key, handle_connect};
use crate::memory::{lock, Memory, Sockets};
use crate::model::{Message, Source};
use crate::test_events;
use crate::Settings;

const ADA: &str = "203.0.113.7";
const BOB: &str = "198.51.100.9";
const ADA_TOKEN: &str = "ada-token-0123456789abc";
const BOB_TOKEN: &str = "bob-token-0123456789abc";
const SEND_HI: &str = r#"{"action":"send","text":"hi"}"#;

/// A chat with Ada connected as `c1` and Bob as `c2`, both in `general`.
async fn chat(settings: Settings) -> (Memory, Sockets) {
    let store = Memory::new(settings);
    for (connection, ip, name, token) in
        [("c1", ADA, "Ada", ADA_TOKEN), ("c2", BOB, "Bob", BOB_TOKEN)]
    {
        let event = test_events::connect(
            connection,
            ip,
            &[("room", "general"), ("name", name), ("token", token)],
        );
        handle_connect(&store, event).await.expect("connected");
    }
    lock(&store.calls).clear();
    (store, Sockets::default())
}

/// Sends `body` from `connection` and returns the frames it was answered with.
async fn request(
    store: &Memory,
    sockets: &Sockets,
    connection: &str,
    ip: &str,
    body: &str,
) -> Vec<Value> {
    let before = sockets.frames_to(connection).len();
    let response = handle(store, sockets, test_events::frame(connection, ip, body))
        .await
        .expect("answered");
    assert_eq!(response.status_code, 200);
    assert!(response.body.is_none(), "replies travel as frames");
    sockets.frames_to(connection).split_off(before)
}

#[tokio::test]
async fn a_send_is_stored_as_the_connections_author_and_acknowledged() {
    let (store, sockets) = chat(Settings::default()).await;
    let replies = request(&store, &sockets, "c1", ADA, SEND_HI).await;
    let stored = store.stored_messages();
    assert_eq!(stored.len(), 1);
    let message = &stored[0];
    assert_eq!(
        (
            message.room.as_str(),
            message.name.as_str(),
            message.text.as_str()
        ),
        ("general", "Ada", "hi")
    );
    assert_eq!(
        message.author.as_deref(),
        Some(author_key(ADA_TOKEN).as_str())
    );
    assert_eq!(message.source, Some(Source::Live));
    assert_eq!(message.expires_at - message.created_at, 30 * 86_400);
    assert_eq!(
        replies,
        vec![serde_json::json!({"type": "sent", "id": message.id})]
    );
    assert!(
        sockets.frames_to("c2").is_empty(),
        "others hear of it from the stream"
    );
}

#[tokio::test]
async fn a_ping_is_answered_without_touching_the_tables() {
    let (store, sockets) = chat(Settings::default()).await;
    let replies = request(&store, &sockets, "c1", ADA, r#"{"action":"ping"}"#).await;
    assert_eq!(replies, vec![serde_json::json!({"type": "pong"})]);
    assert!(store.calls().is_empty(), "{:?}", store.calls());
}

#[tokio::test]
async fn only_the_author_changes_a_message_and_only_within_the_window() {
    let (store, sockets) = chat(Settings::default()).await;
    request(
        &store,
        &sockets,
        "c1",
        ADA,
        r#"{"action":"send","text":"first"}"#,
    )
    .await;
    let id = store.stored_messages()[0].id.clone();
    let edit = format!(r#"{{"action":"edit","id":"{id}","text":"changed"}}"#);
    let replies = request(&store, &sockets, "c2", BOB, &edit).await;
    assert_eq!(replies[0]["code"], "forbidden");
    assert_eq!(
        replies[0]["message"],
        "only the author can change a message, within 15 minutes of sending it"
    );
    let delete = format!(r#"{{"action":"delete","id":"{id}"}}"#);
    assert_eq!(
        request(&store, &sockets, "c2", BOB, &delete).await[0]["code"],
        "forbidden"
    );
    assert_eq!(store.stored_messages()[0].text, "first");

    assert!(
        request(&store, &sockets, "c1", ADA, &edit).await.is_empty(),
        "the stream tells everyone"
    );
    let edited = &store.stored_messages()[0];
    assert_eq!(edited.text, "changed");
    assert!(edited.edited_at.is_some());

    // Sixteen minutes old: past the window, even for its author.
    let old = Message {
        id: "01HZZZZZZZZZZZZZZZZZZZZZZZ".into(),
        created_at: crate::now_seconds() - 16 * 60,
        ..edited.clone()
    };
    lock(&store.messages).insert((old.room.clone(), old.id.clone()), old.clone());
    let late = format!(r#"{{"action":"delete","id":"{}"}}"#, old.id);
    assert_eq!(
        request(&store, &sockets, "c1", ADA, &late).await[0]["code"],
        "forbidden"
    );
    assert_eq!(store.stored_messages().len(), 2);
    assert!(request(&store, &sockets, "c1", ADA, &delete)
        .await
        .is_empty());
    assert_eq!(store.stored_messages(), vec![old]);
}

#[tokio::test]
async fn the_budget_is_per_client_so_a_second_socket_shares_it() {
    let (store, sockets) = chat(Settings {
        rate_limit_messages: 2,
        rate_limit_seconds: 3600,
        ..Settings::default()
    })
    .await;
    // A second socket from Ada's address with a new token.
    let event = test_events::connect("c3", ADA, &[("room", "general"), ("name", "Ada")]);
    handle_connect(&store, event).await.expect("connected");
    for _ in 0..2 {
        let replies = request(&store, &sockets, "c1", ADA, SEND_HI).await;
        assert_eq!(replies[0]["type"], "sent");
    }
    // A new socket with a new token from Ada's address starts nothing afresh.
    let refused = request(&store, &sockets, "c3", ADA, SEND_HI).await;
    assert_eq!(refused[0]["code"], "rate_limited");
    assert!(refused[0]["retry_after"]
        .as_i64()
        .is_some_and(|s| (1..=3600).contains(&s)));
    // Ada's token is out of budget too, from another address.
    assert_eq!(
        request(&store, &sockets, "c1", BOB, SEND_HI).await[0]["code"],
        "rate_limited"
    );
    // Bob is his own client.
    assert_eq!(
        request(&store, &sockets, "c2", BOB, SEND_HI).await[0]["type"],
        "sent"
    );
    assert_eq!(store.stored_messages().len(), 3);
}

#[tokio::test]
async fn bad_requests_are_named_and_store_nothing() {
    let (store, sockets) = chat(Settings::default()).await;
    let too_long = format!(r#"{{"action":"send","text":"{}"}}"#, "x".repeat(2_001));
    let replies = request(&store, &sockets, "c1", ADA, &too_long).await;
    assert_eq!(
        (replies[0]["code"].as_str(), replies[0]["field"].as_str()),
        (Some("invalid"), Some("text"))
    );
    assert_eq!(
        request(&store, &sockets, "c1", ADA, r#"{"action":"shout"}"#).await[0]["type"],
        "error"
    );
    let replies = request(&store, &sockets, "ghost", ADA, SEND_HI).await;
    assert_eq!(replies[0]["code"], "not_connected");
    assert!(store.stored_messages().is_empty());
}

#[tokio::test]
async fn history_is_the_rooms_oldest_first_with_the_callers_token() {
    let (store, sockets) = chat(Settings::default()).await;
    for (id, text) in [
        ("01J0000000000000000000000A", "one"),
        ("01J0000000000000000000000B", "two"),
        ("01J0000000000000000000000C", "three"),
    ] {
        store.said("general", id, text);
    }
    let replies = request(
        &store,
        &sockets,
        "c1",
        ADA,
        r#"{"action":"history","limit":2}"#,
    )
    .await;
    let history = &replies[0];
    assert_eq!(history["type"], "history");
    let texts = test_events::texts(&history["messages"]);
    assert_eq!(texts, ["two", "three"]);
    assert!(history["next_cursor"].is_string(), "one more page");
    assert_eq!(history["you"]["token"], ADA_TOKEN);
    // The server's clock, which the page counts the edit window with.
    let now = history["now"].as_i64().expect("now");
    assert!((now - crate::now_seconds()).abs() <= 5, "{now}");
    assert!(
        history["messages"][0].get("author").is_none(),
        "author keys stay private"
    );
    // The first page says who is in the room; the pages before it do not.
    assert_eq!(
        history["presence"],
        serde_json::json!({"count": 2, "people": ["Ada", "Bob"], "complete": true})
    );
    let cursor = history["next_cursor"].as_str().expect("cursor");
    let older = request(
        &store,
        &sockets,
        "c1",
        ADA,
        &format!(r#"{{"action":"history","cursor":"{cursor}"}}"#),
    )
    .await;
    assert_eq!(test_events::texts(&older[0]["messages"]), ["one"]);
    assert!(older[0].get("presence").is_none(), "{}", older[0]);
}

#[tokio::test]
async fn the_callers_first_page_lists_it_though_the_index_does_not_yet() {
    let (store, _) = chat(Settings::default()).await;
    // Bob's second tab, under another name: he counts once. Ada's item is
    // hidden from the index as a lagging one would.
    let mut second_tab = lock(&store.connections).get("c2").cloned().expect("bob");
    second_tab.connection_id = "c3".into();
    second_tab.name = "Bob (phone)".into();
    lock(&store.connections).insert("c3".into(), second_tab);
    let ada = lock(&store.connections).get("c1").cloned().expect("ada");
    let mut lagging = ada.clone();
    lagging.room = "elsewhere".into();
    lock(&store.connections).insert("c1".into(), lagging);
    let presence = crate::presence::with_caller(&store, &ada)
        .await
        .expect("read");
    assert_eq!(presence.people, ["Ada", "Bob"]);
    assert_eq!(presence.count, 2);
}

#[tokio::test]
async fn a_storage_failure_is_an_internal_error_frame() {
    let (store, sockets) = chat(Settings::default()).await;
    store.fail("put_message");
    let replies = request(&store, &sockets, "c1", ADA, SEND_HI).await;
    assert_eq!(replies[0]["code"], "internal");
    assert_eq!(
        replies[0]["message"],
        "the chat could not store that; try again"
    );
}

#[test]
fn the_request_log_line_carries_no_client_text() {
    let huge = format!(r#"{{"action":"{}"}}"#, "x".repeat(32 * 1024 - 20));
    assert_eq!(action_of(Some(&huge)), "invalid");
    assert_eq!(action_of(Some(r#"{"action":"send","text":"hi"}"#)), "send");
    assert_eq!(action_of(None), "invalid");
    let client = client_of(Some("203.0.113.7"));
    assert_eq!(client.len(), 12);
    assert!(!client.contains("203"));
    assert_eq!(client, client_of(Some("203.0.113.7")), "stable");
    assert_ne!(client, client_of(Some("203.0.113.8")));
    assert_eq!(client_of(None), "unknown");
}

#[tokio::test]
async fn a_first_page_goes_without_who_is_here_when_that_cannot_be_read() {
    let (store, sockets) = chat(Settings::default()).await;
    store.fail("people_in_room");
    let replies = request(&store, &sockets, "c1", ADA, r#"{"action":"history"}"#).await;
    assert_eq!(replies[0]["type"], "history");
    assert_eq!(replies[0]["you"]["token"], ADA_TOKEN);
    assert!(replies[0].get("presence").is_none(), "{}", replies[0]);
}
