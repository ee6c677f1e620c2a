//! Who is notified of a message, and what becomes of each push service's
//! answer, on the in-memory chat.

use std::time::Duration;

use super::*;
use crate::memory::{lock, Memory, PushServices, Queue};
use crate::model::Connection;
use crate::subscriptions::subscription_id;

const ADA: &str = "a";
const BOB: &str = "b";
const CY: &str = "c";

fn author(who: &str) -> String {
    who.repeat(64)
}

fn endpoint(who: &str) -> String {
    format!("https://push.example.net/{who}")
}

fn subscribe(store: &Memory, who: &str, room: &str) {
    let endpoint = endpoint(who);
    let subscription = Subscription {
        room: room.into(),
        id: subscription_id(&endpoint),
        endpoint,
        p256dh: "key".into(),
        auth: "auth".into(),
        author: author(who),
        expires_at: crate::now_seconds() + 3600,
    };
    lock(&store.subscriptions).insert((room.into(), subscription.id.clone()), subscription);
}

fn connect(store: &Memory, who: &str, room: &str) {
    let connection = Connection {
        connection_id: format!("{who}-socket"),
        room: room.into(),
        name: who.into(),
        token: String::new(),
        token_sealed: None,
        author: author(who),
        expires_at: crate::now_seconds() + 3600,
        client: None,
        user: None,
        moderator: false,
    };
    lock(&store.connections).insert(connection.connection_id.clone(), connection);
}

fn notify() -> Notify<Memory, PushServices, Queue> {
    Notify {
        store: Memory::default(),
        pusher: PushServices::default(),
        queue: Queue::default(),
        pause: Duration::ZERO,
    }
}

fn job_from(who: &str, room: &str) -> NotifyJob {
    NotifyJob {
        room: room.into(),
        id: "01J00000000000000000000000".into(),
        name: who.to_uppercase(),
        text: "hello".into(),
        author: Some(author(who)),
        only: None,
        attempt: 0,
    }
}

#[tokio::test]
async fn everyone_subscribed_is_notified_but_the_author_and_the_people_in_the_room() {
    let notify = notify();
    for who in [ADA, BOB, CY] {
        subscribe(&notify.store, who, "general");
    }
    subscribe(&notify.store, "d", "other");
    connect(&notify.store, BOB, "general");
    let sent = notify_one(&notify, &job_from(ADA, "general"))
        .await
        .expect("sent");
    assert_eq!(sent.delivered, 1);
    assert_eq!(notify.pusher.received_by(&endpoint(CY)).len(), 1);
    for skipped in [ADA, BOB, "d"] {
        assert!(
            notify.pusher.received_by(&endpoint(skipped)).is_empty(),
            "{skipped}"
        );
    }
    let payload = &notify.pusher.received_by(&endpoint(CY))[0];
    assert_eq!(payload["room"], "general");
    assert_eq!(payload["name"], "A");
    assert_eq!(payload["text"], "hello");
}

#[tokio::test]
async fn a_gone_subscription_is_removed_and_a_refused_one_kept() {
    let notify = notify();
    subscribe(&notify.store, BOB, "general");
    subscribe(&notify.store, CY, "general");
    notify.pusher.will_answer(&endpoint(BOB), &[Outcome::Gone]);
    notify
        .pusher
        .will_answer(&endpoint(CY), &[Outcome::Refused]);
    let sent = notify_one(&notify, &job_from(ADA, "general"))
        .await
        .expect("sent");
    assert_eq!((sent.removed, sent.refused), (1, 1));
    let left: Vec<String> = lock(&notify.store.subscriptions)
        .values()
        .map(|s| s.author.clone())
        .collect();
    assert_eq!(left, [author(CY)]);
    assert!(lock(&notify.queue.notify).is_empty(), "neither is retried");
}

#[tokio::test]
async fn a_busy_push_service_is_tried_again_then_queued_then_dead_lettered() {
    let notify = notify();
    subscribe(&notify.store, BOB, "general");
    subscribe(&notify.store, CY, "general");
    // Once "later", then accepted: the retry within the invocation does it.
    notify.pusher.will_answer(&endpoint(BOB), &[Outcome::Retry]);
    notify
        .pusher
        .will_answer(&endpoint(CY), &[Outcome::Retry; 20]);
    let sent = notify_one(&notify, &job_from(ADA, "general"))
        .await
        .expect("sent");
    assert_eq!(sent.delivered, 1);
    assert_eq!(notify.pusher.received_by(&endpoint(BOB)).len(), 2);
    // Cy's is owed: queued again, for Cy only, with a delay.
    let (again, delay) = lock(&notify.queue.notify).pop().expect("queued again");
    assert_eq!(again.only, Some(vec![subscription_id(&endpoint(CY))]));
    assert_eq!((again.attempt, delay), (1, 30));
    let mut job = again;
    for attempt in 2..=QUEUE_ATTEMPTS {
        notify_one(&notify, &job).await.expect("sent");
        let (next, delay) = lock(&notify.queue.notify).pop().expect("queued again");
        assert_eq!(
            (next.attempt, delay),
            (attempt, retry_delay_seconds(attempt))
        );
        job = next;
    }
    assert_eq!(
        notify.pusher.received_by(&endpoint(BOB)).len(),
        2,
        "Bob is not sent again"
    );
    notify_one(&notify, &job).await.expect("sent");
    assert!(lock(&notify.queue.notify).is_empty());
    let dead = lock(&notify.queue.dead_letters).clone();
    assert_eq!(dead.len(), 1, "the last attempt's job is dead-lettered");
    assert_eq!(dead[0].only, Some(vec![subscription_id(&endpoint(CY))]));
}

#[tokio::test]
async fn a_failed_read_of_the_subscriptions_retries_the_job_and_of_presence_skips_nobody() {
    let notify = notify();
    subscribe(&notify.store, BOB, "general");
    connect(&notify.store, BOB, "general");
    notify.store.fail("people_in_room");
    let sent = notify_one(&notify, &job_from(ADA, "general"))
        .await
        .expect("sent");
    assert_eq!(sent.delivered, 1, "Bob is notified though connected");
    notify.store.fail("subscriptions");
    let event =
        crate::test_events::sqs(
            &[&serde_json::to_string(&job_from(ADA, "general")).expect("json")],
        );
    let response = handle(&notify, event).await.expect("answered");
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "the queue delivers it again"
    );
}

#[tokio::test]
async fn an_unreadable_job_is_failed_and_the_rest_are_sent() {
    let notify = notify();
    subscribe(&notify.store, BOB, "general");
    let good = serde_json::to_string(&job_from(ADA, "general")).expect("json");
    let event = crate::test_events::sqs(&["not json", &good]);
    let response = handle(&notify, event).await.expect("answered");
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(notify.pusher.tries(), 1);
}

#[test]
fn a_job_carries_a_shortened_text_and_the_queue_waits_longer_each_time() {
    let long = crate::model::Message {
        room: "general".into(),
        id: "01J00000000000000000000000".into(),
        name: "Ada".into(),
        text: "é".repeat(2_000),
        created_at: 0,
        edited_at: None,
        author: None,
        expires_at: 0,
        source: None,
        verified: false,
    };
    let job = NotifyJob::of(&long);
    assert_eq!(
        job.text.chars().count(),
        PUSH_TEXT_CHARS + 1,
        "cut, with an ellipsis"
    );
    assert!(job.payload().len() < 3_000, "inside a push message's 4 KB");
    assert_eq!([1, 2, 3, 4].map(retry_delay_seconds), [30, 60, 120, 240]);
    assert_eq!(retry_delay_seconds(20), 900);
}

#[tokio::test]
async fn a_big_room_is_sent_in_jobs_of_at_most_200_pushes() {
    let notify = notify();
    for i in 0..450 {
        subscribe(&notify.store, &format!("x{i:03}"), "general");
    }
    let mut job = job_from(ADA, "general");
    let mut sent = Vec::new();
    loop {
        sent.push(notify_one(&notify, &job).await.expect("sent").delivered);
        match lock(&notify.queue.notify).pop() {
            Some((rest, delay)) => {
                assert_eq!((delay, rest.attempt), (0, 0), "at once, not a retry");
                job = rest;
            }
            None => break,
        }
    }
    assert_eq!(sent, [200, 200, 50]);
    assert_eq!(notify.pusher.tries(), 450, "each subscriber once");
}
