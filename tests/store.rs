//! The chat's rules that live in DynamoDB condition expressions, tested
//! piece by piece against the emulator's real DynamoDB: the per-client
//! limits (charged by address and token, their window, concurrent requests,
//! connection slots per address and per room) and edit and
//! delete authorisation (author and the 15-minute window). The end-to-end
//! chat test covers the same rules through the deployed functions; these
//! cover their edges, with the clock (`now`) chosen by the test. History
//! skips expired messages that DynamoDB has not deleted yet. Push
//! subscriptions belong to their token and fill a room at most.

mod support;

use aws_sdk_dynamodb::types::{AttributeValue, BillingMode, KeyType, ScalarAttributeType};
use chat_core::limits::{Client, Verdict};
use chat_core::model::{Connection, Message};
use chat_core::ports::{ClientLimits, ConnectionStore, MessageStore, QueueMarks, Slots};
use chat_core::slots::Refusal;
use chat_core::store::{Store, StoreError, EDIT_WINDOW_SECONDS};
use chat_core::subscriptions::{Stored, Subscription, SubscriptionStore};
use chat_core::Settings;
use support::dynamo;
use support::project::{aws, aws_at};
use support::Emulator;

const NOW: i64 = 1_800_000_000;

/// A table keyed by string attributes.
async fn table(client: &aws_sdk_dynamodb::Client, name: &str, keys: &[(&str, KeyType)]) {
    let keys: Vec<(&str, KeyType, ScalarAttributeType)> = keys
        .iter()
        .map(|(attribute, kind)| (*attribute, kind.clone(), ScalarAttributeType::S))
        .collect();
    dynamo::create(client, name, &keys).await;
}

/// A store over fresh tables shaped like the template's (rate limit 5 in 5 s).
async fn store(emulator: &Emulator) -> Store {
    let client = aws(emulator).await.dynamodb();
    table(&client, "connections", &[("connection_id", KeyType::Hash)]).await;
    table(
        &client,
        "messages",
        &[("room", KeyType::Hash), ("id", KeyType::Range)],
    )
    .await;
    table(&client, "limits", &[("key", KeyType::Hash)]).await;
    Store::new(client, Settings::default())
}

fn connection(id: &str) -> Connection {
    Connection {
        connection_id: id.to_string(),
        room: "general".into(),
        name: "alice".into(),
        author: "author-of-alice".into(),
        token: "t".repeat(32),
        token_sealed: None,
        expires_at: NOW + 3600,
        client: None,
        user: None,
        moderator: false,
    }
}

fn message(id: &str, author: &str, created_at: i64) -> Message {
    Message {
        room: "general".into(),
        id: id.into(),
        name: "alice".into(),
        text: "first".into(),
        created_at,
        edited_at: None,
        author: Some(author.into()),
        expires_at: created_at + 86_400,
        source: Some(chat_core::model::Source::Live),
        verified: false,
    }
}

fn client(address: &str, author: Option<&str>) -> Client {
    Client {
        address: address.into(),
        author: author.map(str::to_string),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_is_charged_by_address_and_token_per_window() {
    let emulator = Emulator::start();
    let store = store(&emulator).await;
    // NOW is a multiple of 5: a window starts there.
    assert_eq!(NOW % 5, 0);
    let ann = client("address-1", Some("token-a"));
    for n in 1..=5 {
        assert_eq!(
            store.charge(&ann, NOW).await.expect("charge"),
            Verdict::Allowed,
            "request {n} refused"
        );
    }
    assert_eq!(
        store.charge(&ann, NOW + 1).await.expect("charge"),
        Verdict::Limited { retry_after: 4 },
        "the 6th request in the window"
    );
    // Another token at the same address: the address is spent.
    assert!(matches!(
        store
            .charge(&client("address-1", Some("token-b")), NOW + 2)
            .await
            .expect("charge"),
        Verdict::Limited { retry_after: 3 }
    ));
    // Over HTTP (no token): the same.
    assert!(matches!(
        store
            .charge(&client("address-1", None), NOW + 2)
            .await
            .expect("charge"),
        Verdict::Limited { .. }
    ));
    // The same token from another address: the token is spent.
    assert!(matches!(
        store
            .charge(&client("address-2", Some("token-a")), NOW + 2)
            .await
            .expect("charge"),
        Verdict::Limited { .. }
    ));
    // Someone else entirely is not affected.
    assert_eq!(
        store
            .charge(&client("address-3", Some("token-c")), NOW + 2)
            .await
            .expect("charge"),
        Verdict::Allowed
    );
    // The next window starts afresh.
    assert_eq!(
        store.charge(&ann, NOW + 5).await.expect("charge"),
        Verdict::Allowed
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_cannot_exceed_the_rate_limit() {
    let emulator = Emulator::start();
    let store = store(&emulator).await;
    let attempts = (0..20).map(|n| {
        let store = store.clone();
        // Twenty sockets of one address, each with its own token.
        let each = client("address-1", Some(&format!("token-{n}")));
        tokio::spawn(async move { store.charge(&each, NOW).await })
    });
    let mut allowed = 0;
    for attempt in attempts {
        if attempt.await.expect("task").expect("charge") == Verdict::Allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5, "20 concurrent requests, limit 5 per window");
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_slots_per_address_are_taken_given_back_once_and_expire() {
    let emulator = Emulator::start();
    let (store, client) = slot_store(
        &emulator,
        Settings {
            connections_per_address: 2,
            ..Settings::default()
        },
    )
    .await;
    table(
        &client,
        "messages",
        &[("room", KeyType::Hash), ("id", KeyType::Range)],
    )
    .await;

    assert_eq!(
        store.admit("a1", "general", NOW).await.expect("admit"),
        Ok(())
    );
    assert_eq!(
        store.admit("a1", "general", NOW).await.expect("admit"),
        Ok(())
    );
    assert_eq!(
        store.admit("a1", "general", NOW).await.expect("admit"),
        Err(Refusal::AddressFull)
    );
    assert_eq!(
        store.admit("a2", "general", NOW).await.expect("admit"),
        Ok(()),
        "another address"
    );

    // Deleting the connection gives its slot back, and only the first delete does.
    let mut held = connection("c1");
    held.client = Some("a1".into());
    store.put_connection(&held).await.expect("put");
    store.delete_connection("c1").await.expect("delete");
    store.delete_connection("c1").await.expect("delete again");
    assert_eq!(
        store.admit("a1", "general", NOW).await.expect("admit"),
        Ok(())
    );
    assert_eq!(
        store.admit("a1", "general", NOW).await.expect("admit"),
        Err(Refusal::AddressFull),
        "a second delete of one connection gave back a second slot"
    );
    // Releasing never goes below zero.
    for _ in 0..5 {
        store.release_slots("a3", "general").await.expect("release");
    }
    assert_eq!(
        store.admit("a3", "general", NOW).await.expect("admit"),
        Ok(())
    );
    assert_eq!(
        store.admit("a3", "general", NOW).await.expect("admit"),
        Ok(())
    );
    assert_eq!(
        store.admit("a3", "general", NOW).await.expect("admit"),
        Err(Refusal::AddressFull)
    );
    // A counter left by connections whose $disconnect never came expires
    // (three hours after its last admission), though TTL has not removed it.
    assert_eq!(
        store
            .admit("a1", "general", NOW + 3 * 3600)
            .await
            .expect("admit"),
        Ok(())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_room_refuses_the_next_connection_and_a_leaving_one_makes_room() {
    let emulator = Emulator::start();
    let (store, client) = slot_store(
        &emulator,
        Settings {
            connections_per_room: 3,
            ..Settings::default()
        },
    )
    .await;
    for n in 0..3 {
        let address = format!("a{n}");
        assert_eq!(
            store.admit(&address, "small", NOW).await.expect("admit"),
            Ok(())
        );
        let mut c = connection(&format!("c{n}"));
        c.room = "small".into();
        c.client = Some(address);
        store.put_connection(&c).await.expect("put");
    }
    assert_eq!(
        store.admit("fresh", "small", NOW).await.expect("admit"),
        Err(Refusal::RoomFull)
    );
    // The refused connection took no address slot with it.
    let one_per_address = Store::new(
        client.clone(),
        Settings {
            connections_per_address: 1,
            ..Settings::default()
        },
    );
    assert_eq!(
        one_per_address
            .admit("fresh", "general", NOW)
            .await
            .expect("admit"),
        Ok(())
    );
    // One leaves: the next may join.
    store.delete_connection("c0").await.expect("delete");
    assert_eq!(
        store.admit("fresh", "small", NOW + 1).await.expect("admit"),
        Ok(())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_room_left_full_by_lost_disconnects_is_recounted_once_a_minute() {
    let emulator = Emulator::start();
    let (store, _) = slot_store(
        &emulator,
        Settings {
            connections_per_room: 2,
            ..Settings::default()
        },
    )
    .await;
    // Two admitted whose items are gone without a $disconnect: the counter
    // says full, the index holds one real connection.
    assert_eq!(store.admit("a1", "lost", NOW).await.expect("admit"), Ok(()));
    assert_eq!(store.admit("a2", "lost", NOW).await.expect("admit"), Ok(()));
    let mut real = connection("real");
    real.room = "lost".into();
    store.put_connection(&real).await.expect("put");
    // The recount finds one: room for one more.
    assert_eq!(store.admit("a3", "lost", NOW).await.expect("admit"), Ok(()));
    // Counted again at once it would be full (one real plus the one just
    // admitted, whose item the test never wrote): no recount within the
    // minute, so the counter's word stands.
    assert_eq!(
        store.admit("a4", "lost", NOW + 10).await.expect("admit"),
        Err(Refusal::RoomFull)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_room_whose_frames_were_queued_stays_on_the_queue_for_a_minute() {
    use chat_core::queued::QUEUED_SECONDS;
    let emulator = Emulator::start();
    let (store, _) = slot_store(&emulator, Settings::default()).await;
    assert!(!store.recently_queued("big", NOW).await.expect("read"));
    store.mark_queued("big", NOW).await.expect("mark");
    assert!(store.recently_queued("big", NOW).await.expect("read"));
    assert!(
        !store.recently_queued("small", NOW).await.expect("read"),
        "one room's queue says nothing of another's"
    );
    let last = NOW + QUEUED_SECONDS - 1;
    assert!(store.recently_queued("big", last).await.expect("read"));
    assert!(!store.recently_queued("big", last + 1).await.expect("read"));
    // A requeue marks it again, from then.
    store.mark_queued("big", last).await.expect("mark");
    assert!(store.recently_queued("big", last + 1).await.expect("read"));
    // A room name is data, not part of an expression.
    let odd = "room with :until and #until";
    store.mark_queued(odd, NOW).await.expect("mark");
    assert!(store.recently_queued(odd, NOW).await.expect("read"));
}

#[tokio::test(flavor = "multi_thread")]
async fn author_tokens_are_stored_sealed_and_read_back_whole() {
    let emulator = Emulator::start();
    let settings = Settings {
        token_key: Some(chat_core::sealed::Secret("from secrets manager".into())),
        ..Settings::default()
    };
    let (store, client) = slot_store(&emulator, settings.clone()).await;
    let alice = connection("conn-alice");
    store.put_connection(&alice).await.expect("put");
    let raw = client
        .get_item()
        .table_name("connections")
        .key("connection_id", AttributeValue::S("conn-alice".into()))
        .send()
        .await
        .expect("get")
        .item
        .expect("the item");
    assert!(!raw.contains_key("token"), "the token is stored: {raw:?}");
    assert!(!format!("{raw:?}").contains(&alice.token));
    assert!(raw.contains_key("token_sealed"));
    let read = store.get_connection("conn-alice").await.expect("get");
    assert_eq!(read, Some(alice.clone()), "read back whole");
    // A connection stored before sealing (plain token) still reads.
    let plain = Store::new(client.clone(), Settings::default());
    plain
        .put_connection(&connection("conn-old"))
        .await
        .expect("put");
    assert_eq!(
        store.get_connection("conn-old").await.expect("get"),
        Some(connection("conn-old"))
    );
    // Another key cannot open it: an error, never a wrong token.
    let other = Store::new(
        client,
        Settings {
            token_key: Some(chat_core::sealed::Secret("another".into())),
            ..Settings::default()
        },
    );
    assert!(other.get_connection("conn-alice").await.is_err());
}

/// A store with `settings` over the limits table and the connections table
/// with its `by-room-keys` index, as connection slots need them.
async fn slot_store(emulator: &Emulator, settings: Settings) -> (Store, aws_sdk_dynamodb::Client) {
    let client = aws(emulator).await.dynamodb();
    table(&client, "limits", &[("key", KeyType::Hash)]).await;
    connections_with_room_index(&client).await;
    (Store::new(client.clone(), settings), client)
}

/// The connections table with its `by-room-keys` index (keys only) and
/// its `by-room-people` index, as the template has it.
async fn connections_with_room_index(client: &aws_sdk_dynamodb::Client) {
    use dynamo::{attribute, key, room_keys_index, room_people_index};
    client
        .create_table()
        .table_name("connections")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("connection_id", ScalarAttributeType::S))
        .attribute_definitions(attribute("room", ScalarAttributeType::S))
        .key_schema(key("connection_id", KeyType::Hash))
        .global_secondary_indexes(room_keys_index())
        .global_secondary_indexes(room_people_index())
        .send()
        .await
        .expect("create_table");
}

/// A post answered 410 prunes a connection and gives its slots back,
/// unless it was stored within the handshake (API Gateway answers 410
/// until `$connect` completes); and who is in a room never counts a
/// connection past its expiry, which DynamoDB's TTL removes only later.
#[tokio::test(flavor = "multi_thread")]
async fn a_connection_in_its_handshake_is_not_pruned_and_an_expired_one_is_not_here() {
    use chat_core::connect::{CONNECTION_TTL_SECONDS, HANDSHAKE_SECONDS};
    use chat_core::presence::PresenceStore;
    let emulator = Emulator::start();
    let (store, _) = slot_store(
        &emulator,
        Settings {
            connections_per_address: 1,
            ..Settings::default()
        },
    )
    .await;
    assert_eq!(
        store.admit("a1", "general", NOW).await.expect("admit"),
        Ok(())
    );
    let mut young = connection("young");
    young.client = Some("a1".into());
    young.expires_at = NOW + CONNECTION_TTL_SECONDS;
    store.put_connection(&young).await.expect("put");
    let during = NOW + HANDSHAKE_SECONDS - 1;
    assert!(!store
        .prune_connection("young", during)
        .await
        .expect("prune"));
    assert!(store.get_connection("young").await.expect("get").is_some());
    assert_eq!(
        store.admit("a1", "general", NOW).await.expect("admit"),
        Err(Refusal::AddressFull),
        "the young connection keeps its slot"
    );
    let after = NOW + HANDSHAKE_SECONDS;
    assert!(store.prune_connection("young", after).await.expect("prune"));
    assert!(store.get_connection("young").await.expect("get").is_none());
    assert!(!store
        .prune_connection("young", after)
        .await
        .expect("prune again"));
    assert_eq!(
        store.admit("a1", "general", NOW).await.expect("admit"),
        Ok(()),
        "a pruned connection gives its slot back, once"
    );

    let mut here = connection("here");
    here.expires_at = NOW + 60;
    let mut expired = connection("expired");
    expired.name = "bob".into();
    expired.expires_at = NOW - 1;
    for c in [&here, &expired] {
        store.put_connection(c).await.expect("put");
    }
    let people = store
        .people_in_room("general", 10, NOW)
        .await
        .expect("people");
    let names: Vec<&str> = people.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["alice"]);
    assert_eq!(people[0].author, "author-of-alice");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_author_edits_or_deletes_and_only_within_15_minutes() {
    let emulator = Emulator::start();
    let store = store(&emulator).await;
    store
        .put_message(&message("m1", "alice-key", NOW))
        .await
        .expect("put");
    // Ids are unique: a second message with the same id is refused, not overwritten.
    assert!(store
        .put_message(&message("m1", "eve-key", NOW))
        .await
        .is_err());

    let forbidden = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Forbidden));
    assert!(forbidden(
        store
            .edit_message("general", "m1", "eve-key", "mine now", NOW + 1)
            .await
    ));
    assert!(forbidden(
        store
            .delete_message("general", "m1", Some("eve-key"), NOW + 1)
            .await
    ));

    store
        .edit_message("general", "m1", "alice-key", "fixed", NOW + 60)
        .await
        .expect("the author edits");
    let page = store
        .history("general", 10, None, NOW, usize::MAX)
        .await
        .expect("history");
    assert_eq!(page.messages[0].text, "fixed");
    assert_eq!(page.messages[0].edited_at, Some(NOW + 60));

    let late = NOW + EDIT_WINDOW_SECONDS + 1;
    assert!(forbidden(
        store
            .edit_message("general", "m1", "alice-key", "too late", late)
            .await
    ));
    assert!(forbidden(
        store
            .delete_message("general", "m1", Some("alice-key"), late)
            .await
    ));
    // A message that does not exist cannot be edited into existence.
    assert!(forbidden(
        store
            .edit_message("general", "nope", "alice-key", "x", NOW)
            .await
    ));

    store
        .delete_message(
            "general",
            "m1",
            Some("alice-key"),
            NOW + EDIT_WINDOW_SECONDS,
        )
        .await
        .expect("the author deletes at the window's last second");
    let page = store
        .history("general", 10, None, NOW, usize::MAX)
        .await
        .expect("history");
    assert!(page.messages.is_empty());

    // A moderator (no author) deletes anyone's message at any time, but
    // only one that is there: a deleted one is not deleted twice.
    store
        .put_message(&message("m2", "alice-key", NOW))
        .await
        .expect("put");
    store
        .delete_message("general", "m2", None, late + 86_400)
        .await
        .expect("a moderator deletes, long after the window");
    assert!(forbidden(
        store.delete_message("general", "m2", None, late).await
    ));
    assert!(store
        .history("general", 10, None, NOW, usize::MAX)
        .await
        .expect("history")
        .messages
        .is_empty());
}

/// Rule 4: DynamoDB's TTL deletes expired items lazily, typically within a
/// few days, and until then Query still returns them:
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html>.
/// The emulator keeps them too (it ignores the template's TTL), as the
/// GetItem below checks, so the history must filter them itself, and keep
/// reading past them (the filter applies after `Limit`).
#[tokio::test(flavor = "multi_thread")]
async fn expired_messages_are_not_history_though_dynamodb_still_holds_them() {
    let emulator = Emulator::start();
    let store = store(&emulator).await;
    // m00..m09 expired, then m10 and m11 live, newest last.
    for n in 0..12 {
        let mut m = message(&format!("m{n:02}"), "alice-key", NOW - 40 * 86_400);
        m.expires_at = if n < 2 { NOW + 86_400 } else { NOW - 1 };
        m.id = format!("m{:02}", if n < 2 { n } else { n + 10 });
        store.put_message(&m).await.expect("put");
    }
    // TTL on, as the template asks: still nothing is deleted while the test
    // runs (the rules layer keeps the emulator's eager reaper out).
    let dynamodb = aws(&emulator).await.dynamodb();
    dynamodb
        .update_time_to_live()
        .table_name("messages")
        .time_to_live_specification(
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .expect("ttl"),
        )
        .send()
        .await
        .expect("update_time_to_live");
    let described = dynamodb
        .describe_time_to_live()
        .table_name("messages")
        .send()
        .await
        .expect("describe_time_to_live");
    assert_eq!(
        described
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status())
            .map(|s| s.as_str()),
        Some("ENABLED")
    );
    // The emulator itself never saw it, so its reaper (every 60 s) stays off.
    let behind_the_layer = aws_at(
        &format!("http://127.0.0.1:{}", emulator.raw_port()),
        "us-east-1",
    )
    .await
    .dynamodb()
    .describe_time_to_live()
    .table_name("messages")
    .send()
    .await
    .expect("describe_time_to_live on the emulator");
    assert_ne!(
        behind_the_layer
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status())
            .map(|s| s.as_str()),
        Some("ENABLED")
    );
    let still_there = aws(&emulator)
        .await
        .dynamodb()
        .get_item()
        .table_name("messages")
        .key(
            "room",
            aws_sdk_dynamodb::types::AttributeValue::S("general".into()),
        )
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S("m21".into()),
        )
        .send()
        .await
        .expect("get_item");
    assert!(
        still_there.item.is_some(),
        "the expired item is still stored"
    );

    let page = store
        .history("general", 2, None, NOW, usize::MAX)
        .await
        .expect("history");
    let ids: Vec<&str> = page.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["m01", "m00"], "newest first, expired ones skipped");
    assert_eq!(page.next_cursor, None, "nothing older is live");

    let page = store
        .history("general", 1, None, NOW, usize::MAX)
        .await
        .expect("history");
    assert_eq!(page.messages[0].id, "m01");
    assert_eq!(page.next_cursor.as_deref(), Some("m01"));
    let page = store
        .history("general", 1, Some("m01"), NOW, usize::MAX)
        .await
        .expect("history");
    assert_eq!(page.messages[0].id, "m00");
}

/// History stops reading once it has read as many bytes as the caller can
/// send: 30 messages of 1,000 bytes against a 5,000-byte budget are read in
/// one chunk of 25, not all, and the page says more lie before it.
#[tokio::test(flavor = "multi_thread")]
async fn history_reads_no_more_than_the_caller_can_send() {
    let emulator = Emulator::start();
    let store = store(&emulator).await;
    for n in 0..30 {
        let mut m = message(&format!("m{n:02}"), "alice-key", NOW);
        m.text = "t".repeat(1_000);
        store.put_message(&m).await.expect("put");
    }
    let page = store
        .history("general", 100, None, NOW, 5_000)
        .await
        .expect("history");
    assert_eq!(page.messages.len(), 25, "one chunk, not the whole room");
    assert_eq!(page.messages[0].id, "m29", "newest first");
    assert_eq!(page.next_cursor.as_deref(), Some("m05"));
    let all = store
        .history("general", 100, None, NOW, usize::MAX)
        .await
        .expect("history");
    assert_eq!((all.messages.len(), all.next_cursor), (30, None));
}

fn subscription(id: &str, author: &str, expires_at: i64) -> Subscription {
    Subscription {
        room: "general".into(),
        id: id.into(),
        endpoint: format!("https://push.example.net/{id}"),
        p256dh: "key".into(),
        auth: "auth".into(),
        author: author.into(),
        expires_at,
    }
}

/// Push subscriptions: one per room and endpoint, owned by the token that
/// stored it, lapsed ones never listed though DynamoDB still holds them,
/// and at most `PUSH_SUBSCRIPTIONS_PER_ROOM` a room, less its renewals.
#[tokio::test(flavor = "multi_thread")]
async fn subscriptions_belong_to_their_token_lapse_and_fill_a_room_at_most() {
    let emulator = Emulator::start();
    let client = aws(&emulator).await.dynamodb();
    table(
        &client,
        "subscriptions",
        &[("room", KeyType::Hash), ("id", KeyType::Range)],
    )
    .await;
    let store = Store::new(client.clone(), Settings::default());
    let now = chat_core::now_seconds();
    assert!(!store.has_subscriptions("general").await.expect("read"));
    let ada = subscription("ada", "author-of-ada", now + 3600);
    assert_eq!(store.subscribe(&ada).await.expect("stored"), Stored::Stored);
    assert_eq!(
        store.subscribe(&ada).await.expect("renewed"),
        Stored::Stored
    );
    let taken = subscription("ada", "author-of-eve", now + 3600);
    assert_eq!(store.subscribe(&taken).await.expect("read"), Stored::Taken);
    let lapsed = subscription("old", "author-of-bob", now - 1);
    assert_eq!(
        store.subscribe(&lapsed).await.expect("stored"),
        Stored::Stored
    );
    let listed: Vec<String> = store
        .subscriptions("general", now)
        .await
        .expect("listed")
        .into_iter()
        .map(|s| s.author)
        .collect();
    assert_eq!(listed, ["author-of-ada"], "the lapsed one is not listed");
    assert!(store.has_subscriptions("general").await.expect("read"));
    assert!(!store.has_subscriptions("other").await.expect("read"));
    // Only its token removes it; a push service's "gone" removes any.
    assert!(!store
        .unsubscribe("general", "ada", Some("author-of-eve"))
        .await
        .expect("read"));
    assert!(store
        .unsubscribe("general", "ada", Some("author-of-ada"))
        .await
        .expect("removed"));
    assert!(store
        .unsubscribe("general", "ada", Some("author-of-ada"))
        .await
        .expect("gone already"));
    assert!(store
        .unsubscribe("general", "old", None)
        .await
        .expect("removed"));

    // A full room: nobody new, but its own renew.
    let full = chat_core::subscriptions::PUSH_SUBSCRIPTIONS_PER_ROOM;
    let items: Vec<std::collections::HashMap<String, AttributeValue>> = (0..full)
        .map(|i| {
            serde_dynamo::to_item(subscription(
                &format!("{i:04}"),
                "author-of-many",
                now + 3600,
            ))
            .expect("item")
        })
        .collect();
    for batch in items.chunks(25) {
        let writes = batch
            .iter()
            .map(|item| {
                aws_sdk_dynamodb::types::WriteRequest::builder()
                    .put_request(
                        aws_sdk_dynamodb::types::PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .expect("put"),
                    )
                    .build()
            })
            .collect();
        client
            .batch_write_item()
            .request_items("subscriptions", writes)
            .send()
            .await
            .expect("batch write");
    }
    let newcomer = subscription("new", "author-of-cy", now + 3600);
    assert_eq!(
        store.subscribe(&newcomer).await.expect("read"),
        Stored::RoomFull
    );
    let own = subscription("0007", "author-of-many", now + 7200);
    assert_eq!(
        store.subscribe(&own).await.expect("renewed"),
        Stored::Stored
    );
    assert_eq!(
        store
            .subscriptions("general", now)
            .await
            .expect("listed")
            .len(),
        full
    );
}
