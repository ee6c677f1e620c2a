//! The fan-out against the in-memory chat: snapshots first, small rooms
//! posted at once, big or already-queued rooms through the queue, gone
//! connections pruned, and failures reported per record.

use serde_json::Value;

use super::*;
use crate::delivery::inline::INLINE_POSTS_PER_ROOM;
use crate::memory::{lock, Bucket, Memory, Queue, Sockets};
use crate::model::{Connection, Message};
use crate::ports::QueueMarks;
use crate::test_events;
use crate::Settings;

type TestFanout = Fanout<Memory, Sockets, Bucket, Queue>;

fn fanout() -> TestFanout {
    Fanout {
        store: Memory::new(Settings::default()),
        poster: Sockets::default(),
        site: Bucket::default(),
        queue: Queue::default(),
    }
}

fn join(fanout: &TestFanout, room: &str, connections: usize) {
    let mut table = lock(&fanout.store.connections);
    for i in 0..connections {
        let id = format!("{room}-{i}");
        table.insert(
            id.clone(),
            Connection {
                connection_id: id,
                room: room.to_string(),
                name: "Ada".into(),
                author: "a".repeat(64),
                token: String::new(),
                token_sealed: None,
                expires_at: crate::now_seconds() + 3600,
                client: None,
                user: None,
                moderator: false,
            },
        );
    }
}

async fn stream(fanout: &TestFanout, records: &[(&str, &Message)]) -> Vec<String> {
    let response = handle(fanout, test_events::stream(records))
        .await
        .expect("handled");
    response
        .batch_item_failures
        .into_iter()
        .filter_map(|f| f.item_identifier)
        .collect()
}

const ID1: &str = "01J00000000000000000000001";
const ID2: &str = "01J00000000000000000000002";

#[tokio::test]
async fn a_small_room_gets_its_frames_at_once_after_its_snapshot() {
    let fanout = fanout();
    join(&fanout, "general", 2);
    join(&fanout, "other", 1);
    let first = fanout.store.said("general", ID1, "<b>hi</b>");
    let mut edited = first.clone();
    edited.text = "changed".into();
    edited.edited_at = Some(first.created_at);
    assert!(stream(
        &fanout,
        &[("INSERT", &first), ("MODIFY", &edited), ("REMOVE", &first)]
    )
    .await
    .is_empty());
    for connection in ["general-0", "general-1"] {
        let frames = fanout.poster.frames_to(connection);
        let kinds: Vec<&str> = frames.iter().filter_map(|f| f["type"].as_str()).collect();
        assert_eq!(
            kinds,
            ["message", "edited", "deleted"],
            "{connection}: in stream order"
        );
        assert_eq!(frames[0]["message"]["text"], "<b>hi</b>");
        assert!(
            frames[0]["message"].get("author").is_none(),
            "author keys stay private"
        );
        assert_eq!(
            frames[2],
            serde_json::json!({"type": "deleted", "room": "general", "id": ID1})
        );
    }
    assert!(
        fanout.poster.frames_to("other-0").is_empty(),
        "other rooms hear nothing"
    );
    assert!(lock(&fanout.queue.sent).is_empty());
    let files = lock(&fanout.site.files);
    let (json_type, json) = &files["rooms/general.json"];
    assert!(json_type.starts_with("application/json"));
    let snapshot: Value = serde_json::from_str(json).expect("json");
    assert_eq!(snapshot["messages"][0]["text"], "<b>hi</b>");
    let (html_type, html) = &files["rooms/general.html"];
    assert!(html_type.starts_with("text/html"));
    assert!(
        html.contains("&lt;b&gt;hi&lt;/b&gt;") && !html.contains("<b>hi"),
        "escaped"
    );
}

#[tokio::test]
async fn gone_connections_are_pruned() {
    let fanout = fanout();
    join(&fanout, "general", 2);
    lock(&fanout.poster.gone).insert("general-1".into());
    let message = fanout.store.said("general", ID1, "hi");
    assert!(stream(&fanout, &[("INSERT", &message)]).await.is_empty());
    assert_eq!(fanout.poster.frames_to("general-0").len(), 1);
    assert!(!lock(&fanout.store.connections).contains_key("general-1"));
}

#[tokio::test]
async fn a_big_room_goes_through_the_queue_in_bounded_deliveries() {
    let fanout = fanout();
    join(&fanout, "big", INLINE_POSTS_PER_ROOM * 15);
    let message = fanout.store.said("big", ID1, "hi");
    assert!(stream(&fanout, &[("INSERT", &message)]).await.is_empty());
    assert!(lock(&fanout.poster.posted).is_empty(), "nothing inline");
    let mut reached: Vec<String> = {
        let sent = lock(&fanout.queue.sent);
        assert!(sent.iter().all(|(_, d)| {
            d.connections.len() * d.frames.len() <= crate::delivery::POSTS_PER_DELIVERY
        }));
        sent.iter()
            .flat_map(|(_, d)| d.connections.clone())
            .collect()
    };
    reached.sort();
    let count = reached.len();
    reached.dedup();
    assert_eq!(
        (count, reached.len()),
        (INLINE_POSTS_PER_ROOM * 15, INLINE_POSTS_PER_ROOM * 15),
        "every connection exactly once"
    );
    let now = crate::now_seconds();
    assert!(
        fanout
            .store
            .recently_queued("big", now)
            .await
            .expect("read"),
        "the room stays on the queue's path"
    );
}

#[tokio::test]
async fn a_room_with_frames_still_queued_is_not_overtaken_inline() {
    let fanout = fanout();
    join(&fanout, "general", 2);
    fanout
        .store
        .mark_queued("general", crate::now_seconds())
        .await
        .expect("marked");
    let message = fanout.store.said("general", ID1, "hi");
    assert!(stream(&fanout, &[("INSERT", &message)]).await.is_empty());
    assert!(lock(&fanout.poster.posted).is_empty());
    assert_eq!(
        lock(&fanout.queue.sent).len(),
        2,
        "one delivery per connection group"
    );
}

#[tokio::test]
async fn a_room_whose_snapshot_fails_is_retried_before_any_frame_goes_out() {
    let fanout = fanout();
    join(&fanout, "general", 1);
    *lock(&fanout.site.failing) = true;
    let message = fanout.store.said("general", ID1, "hi");
    assert_eq!(stream(&fanout, &[("INSERT", &message)]).await, ["1"]);
    assert!(lock(&fanout.poster.posted).is_empty());
}

#[tokio::test]
async fn an_unreadable_record_fails_alone() {
    let fanout = fanout();
    join(&fanout, "general", 1);
    let message = fanout.store.said("general", ID2, "hi");
    let mut event = test_events::stream(&[("INSERT", &message), ("INSERT", &message)]);
    event.payload.records[0].change.new_image = serde_dynamo::Item::default();
    let response = handle(&fanout, event).await.expect("handled");
    let failed: Vec<String> = response
        .batch_item_failures
        .into_iter()
        .filter_map(|f| f.item_identifier)
        .collect();
    assert_eq!(failed, ["1"]);
    assert_eq!(fanout.poster.frames_to("general-0").len(), 1);
}

#[tokio::test]
async fn the_queue_side_posts_a_delivery_and_prunes_the_gone() {
    let fanout = fanout();
    join(&fanout, "general", 3);
    lock(&fanout.poster.gone).insert("general-2".into());
    let frame = Frame::Deleted {
        room: "general".into(),
        id: ID1.into(),
    };
    let deliveries = crate::delivery::plan(
        "general",
        &[frame.to_json()],
        &["general-0".into(), "general-1".into(), "general-2".into()],
    );
    let bodies: Vec<(&str, String)> = deliveries
        .iter()
        .map(|(group, d)| (group.as_str(), d.to_json()))
        .collect();
    let response = handle_any(&fanout, test_events::queue(&bodies))
        .await
        .expect("handled");
    assert_eq!(response["batchItemFailures"], serde_json::json!([]));
    for connection in ["general-0", "general-1"] {
        assert_eq!(fanout.poster.frames_to(connection)[0]["type"], "deleted");
    }
    assert!(!lock(&fanout.store.connections).contains_key("general-2"));
}

/// Who is here is the snapshot's extra: an index that cannot be read (one
/// still backfilling, an outage) leaves it out, and the room's messages
/// still go out with their snapshot.
#[tokio::test]
async fn a_failed_read_of_who_is_here_never_holds_a_message_back() {
    let fanout = fanout();
    join(&fanout, "general", 2);
    fanout.store.fail("people_in_room");
    let first = fanout.store.said("general", ID1, "still delivered");
    assert!(stream(&fanout, &[("INSERT", &first)]).await.is_empty());
    for connection in ["general-0", "general-1"] {
        assert_eq!(fanout.poster.frames_to(connection).len(), 1, "{connection}");
    }
    let files = lock(&fanout.site.files);
    let (_, html) = &files["rooms/general.html"];
    assert!(html.contains("still delivered") && !html.contains("class=\"presence\""));
    let snapshot: Value = serde_json::from_str(&files["rooms/general.json"].1).expect("json");
    assert_eq!(snapshot["presence"], Value::Null);
}

#[tokio::test]
async fn new_messages_of_a_room_with_subscriptions_are_queued_for_notify_and_no_other() {
    let fanout = fanout();
    join(&fanout, "general", 1);
    let subscribed = fanout.store.said("general", ID1, "hello");
    let mut edited = subscribed.clone();
    edited.text = "changed".into();
    let quiet = fanout.store.said("other", ID2, "nobody asked");
    lock(&fanout.store.subscriptions).insert(
        ("general".into(), "s".repeat(64)),
        crate::subscriptions::Subscription {
            room: "general".into(),
            id: "s".repeat(64),
            endpoint: "https://push.example.net/x".into(),
            p256dh: String::new(),
            auth: String::new(),
            author: "b".repeat(64),
            expires_at: crate::now_seconds() + 3600,
        },
    );
    assert!(stream(
        &fanout,
        &[
            ("INSERT", &subscribed),
            ("MODIFY", &edited),
            ("INSERT", &quiet)
        ]
    )
    .await
    .is_empty());
    let queued = lock(&fanout.queue.notify).clone();
    assert_eq!(queued.len(), 1, "the insert only, not the edit: {queued:?}");
    let (job, delay) = &queued[0];
    assert_eq!(
        (job.room.as_str(), job.id.as_str(), *delay),
        ("general", ID1, 0)
    );
    assert_eq!(job.author, subscribed.author, "the author is not notified");
    assert_eq!(
        fanout.poster.frames_to("general-0").len(),
        2,
        "frames as ever"
    );
}
