//! Presence against the in-memory chat: who counts, when a room is told,
//! who is told, and the first history page's list.

use serde_json::Value;

use super::*;
use crate::fanout::handle;
use crate::memory::{lock, Bucket, Memory, Queue, Sockets};
use crate::model::Connection;
use crate::ports::ConnectionStore;
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

fn connection(id: &str, room: &str, name: &str) -> Connection {
    Connection {
        connection_id: id.into(),
        room: room.into(),
        name: name.into(),
        // One person per name: two tabs of Ada share her author token.
        author: format!("author-of-{name}"),
        token: String::new(),
        token_sealed: None,
        expires_at: crate::now_seconds() + 3600,
        client: None,
        user: None,
        moderator: false,
    }
}

/// What happened in the table, then the stream batch that says so.
async fn opened(fanout: &TestFanout, connections: &[&Connection]) {
    for c in connections {
        fanout.store.put_connection(c).await.expect("put");
    }
    let records: Vec<(&str, &Connection)> = connections.iter().map(|c| ("INSERT", *c)).collect();
    answered(fanout, test_events::stream(&records)).await;
}

async fn closed(fanout: &TestFanout, connections: &[&Connection]) {
    for c in connections {
        fanout
            .store
            .delete_connection(&c.connection_id)
            .await
            .expect("delete");
    }
    let records: Vec<(&str, &Connection)> = connections.iter().map(|c| ("REMOVE", *c)).collect();
    answered(fanout, test_events::stream(&records)).await;
}

async fn answered(
    fanout: &TestFanout,
    event: lambda_runtime::LambdaEvent<aws_lambda_events::dynamodb::Event>,
) {
    let response = handle(fanout, event).await.expect("handled");
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
}

/// The presence frames posted to `connection`, as (count, people).
fn told(fanout: &TestFanout, connection: &str) -> Vec<(usize, Vec<String>)> {
    fanout
        .poster
        .frames_to(connection)
        .into_iter()
        .filter(|frame| frame["type"] == "presence")
        .map(|frame| {
            let people = frame["people"].as_array().expect("people").iter();
            let people = people.map(|p| p.as_str().expect("name").to_string());
            assert_eq!(frame["complete"], true);
            (
                frame["count"].as_u64().expect("count") as usize,
                people.collect(),
            )
        })
        .collect()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| n.to_string()).collect()
}

#[test]
fn a_person_counts_once_whatever_their_tabs_and_names_sort() {
    let row = |id: &str, name: &str, author: &str| Present {
        connection_id: id.into(),
        room: "r".into(),
        name: name.into(),
        author: author.into(),
    };
    let presence = Presence::of(
        &[
            row("c3", "bob", "b"),
            row("c2", "Ada (phone)", "a"),
            row("c1", "Ada", "a"),
            row("c4", "Cy", "c"),
        ],
        true,
    );
    assert_eq!(presence.count, 3);
    assert_eq!(presence.people, names(&["Ada", "bob", "Cy"]));
}

#[tokio::test]
async fn everyone_already_there_is_told_who_came_and_went_and_the_newcomer_is_not_posted() {
    let fanout = fanout();
    let (ada, bob, cy) = (
        connection("c-ada", "general", "Ada"),
        connection("c-bob", "general", "Bob"),
        connection("c-cy", "general", "Cy"),
    );
    opened(&fanout, &[&ada]).await;
    assert!(told(&fanout, "c-ada").is_empty(), "nobody else to tell");
    opened(&fanout, &[&bob]).await;
    opened(&fanout, &[&cy]).await;
    assert_eq!(
        told(&fanout, "c-ada"),
        vec![
            (2, names(&["Ada", "Bob"])),
            (3, names(&["Ada", "Bob", "Cy"]))
        ]
    );
    assert_eq!(
        told(&fanout, "c-bob"),
        vec![(3, names(&["Ada", "Bob", "Cy"]))]
    );
    assert!(
        told(&fanout, "c-cy").is_empty(),
        "a newcomer learns the room from its history page"
    );
    closed(&fanout, &[&bob]).await;
    assert_eq!(
        told(&fanout, "c-ada").last(),
        Some(&(2, names(&["Ada", "Cy"])))
    );
    assert_eq!(told(&fanout, "c-cy"), vec![(2, names(&["Ada", "Cy"]))]);
    assert_eq!(told(&fanout, "c-bob").len(), 1, "nothing after leaving");
}

#[tokio::test]
async fn a_second_tab_or_one_of_two_closing_tells_nobody() {
    let fanout = fanout();
    let ada = connection("c-ada", "general", "Ada");
    let bob = connection("c-bob", "general", "Bob");
    let bob_again = connection("c-bob-2", "general", "Bob");
    opened(&fanout, &[&ada, &bob]).await;
    let before = lock(&fanout.poster.posted).len();
    opened(&fanout, &[&bob_again]).await;
    closed(&fanout, &[&bob]).await;
    assert_eq!(lock(&fanout.poster.posted).len(), before, "Bob never left");
    closed(&fanout, &[&bob_again]).await;
    assert_eq!(told(&fanout, "c-ada").last(), Some(&(1, names(&["Ada"]))));
}

#[tokio::test]
async fn a_join_storm_in_one_batch_is_one_frame_per_person_there() {
    let fanout = fanout();
    let ada = connection("c-ada", "storm", "Ada");
    opened(&fanout, &[&ada]).await;
    let crowd: Vec<Connection> = (0..50)
        .map(|i| connection(&format!("c-{i:02}"), "storm", &format!("guest{i:02}")))
        .collect();
    opened(&fanout, &crowd.iter().collect::<Vec<_>>()).await;
    assert_eq!(told(&fanout, "c-ada").len(), 1);
    assert_eq!(told(&fanout, "c-ada")[0].0, 51);
    assert_eq!(
        lock(&fanout.poster.posted).len(),
        1,
        "only Ada was there before"
    );
}

#[tokio::test]
async fn the_batch_is_believed_over_an_index_that_lags_it() {
    let fanout = fanout();
    let ada = connection("c-ada", "general", "Ada");
    let bob = connection("c-bob", "general", "Bob");
    opened(&fanout, &[&ada]).await;
    // Bob's item is in the stream but not yet in the index (or the table).
    answered(&fanout, test_events::stream(&[("INSERT", &bob)])).await;
    assert_eq!(told(&fanout, "c-ada"), vec![(2, names(&["Ada", "Bob"]))]);
    // And Ada's removal is believed though the index still lists her.
    answered(&fanout, test_events::stream(&[("REMOVE", &ada)])).await;
    assert!(lock(&fanout.store.connections).contains_key("c-ada"));
    assert!(
        told(&fanout, "c-ada").len() == 1,
        "a connection that left is not told"
    );
}

#[tokio::test]
async fn a_room_too_big_to_list_gets_no_live_frames() {
    let fanout = fanout();
    let crowd: Vec<Connection> = (0..PRESENCE_LIST_MAX)
        .map(|i| connection(&format!("c-{i:03}"), "big", &format!("guest{i:03}")))
        .collect();
    for c in &crowd {
        fanout.store.put_connection(c).await.expect("put");
    }
    let late = connection("c-late", "big", "Late");
    opened(&fanout, &[&late]).await;
    assert!(lock(&fanout.poster.posted).is_empty());
    // One fewer, and the room is listed again: its people are told.
    closed(&fanout, &[&late]).await;
    assert_eq!(lock(&fanout.poster.posted).len(), PRESENCE_LIST_MAX);
}

#[tokio::test]
async fn a_failed_read_retries_the_rooms_records_and_an_unreadable_one_alone() {
    let fanout = fanout();
    let ada = connection("c-ada", "general", "Ada");
    fanout.store.put_connection(&ada).await.expect("put");
    fanout.store.fail("people_in_room");
    let mut event = test_events::stream(&[("INSERT", &ada)]);
    let mut broken = event.payload.records[0].clone();
    broken.change.new_image =
        serde_dynamo::to_item(serde_json::json!({"connection_id": "x"})).expect("item");
    broken.change.sequence_number = Some("2".into());
    event.payload.records.push(broken);
    let response = handle(&fanout, event).await.expect("handled");
    let failed: Vec<Value> = response
        .batch_item_failures
        .iter()
        .map(|f| Value::from(f.item_identifier.clone().unwrap_or_default()))
        .collect();
    assert_eq!(failed, vec![Value::from("2"), Value::from("1")]);
}
