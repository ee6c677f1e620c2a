use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use super::*;

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("conn-{i:05}")).collect()
}

fn payloads(n: usize, bytes: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(bytes)))
        .collect()
}

fn decode(frame: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(frame)
        .expect("base64");
    String::from_utf8(bytes).expect("utf-8")
}

/// Every connection gets every frame once, in order, and no delivery is
/// over its bounds; a connection stays in one message group.
fn check_plan(connections: usize, frames: usize, frame_bytes: usize) -> usize {
    let conns = ids(connections);
    let frames = payloads(frames, frame_bytes);
    let planned = plan("general", &frames, &conns);
    let mut received: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut group_of_connection: BTreeMap<&str, &str> = BTreeMap::new();
    for (group, delivery) in &planned {
        assert!(
            delivery.frames.len() * delivery.connections.len() <= POSTS_PER_DELIVERY
                || delivery.connections.len() == 1,
            "a delivery of {} posts",
            delivery.frames.len() * delivery.connections.len()
        );
        let bytes: usize = delivery.frames.iter().map(String::len).sum();
        assert!(
            bytes <= FRAME_BYTES_PER_DELIVERY || delivery.frames.len() == 1,
            "{bytes} bytes of frames"
        );
        assert!(delivery.to_json().len() < 256 * 1024, "over SQS's limit");
        for connection in &delivery.connections {
            let seen = group_of_connection.entry(connection).or_insert(group);
            assert_eq!(seen, group, "{connection} is in two message groups");
            received
                .entry(connection)
                .or_default()
                .extend(delivery.frames.iter().map(|f| decode(f)));
        }
    }
    assert_eq!(received.len(), connections, "a connection got nothing");
    for (connection, got) in received {
        assert_eq!(
            got, frames,
            "{connection} got the frames out of order or twice"
        );
    }
    planned.len()
}

#[test]
fn plans_cover_every_connection_once_in_order_within_bounds() {
    assert_eq!(check_plan(2, 1, 100), 2.min(GROUPS_PER_ROOM));
    // 10,000 connections and one message: one delivery per group.
    assert_eq!(check_plan(10_000, 1, 200), GROUPS_PER_ROOM);
    // A flooded stream batch: 100 frames a room, so 10 connections a delivery.
    assert!(check_plan(1_000, 100, 200) >= 100);
    // Frames too large for one message are bundled apart.
    assert!(check_plan(3, 8, 60_000) >= 3 * 3);
    assert_eq!(check_plan(0, 5, 10), 0, "an empty room queues nothing");
}

#[test]
fn a_room_keeps_its_connections_in_sixteen_groups() {
    let groups: BTreeSet<String> = ids(1000).iter().map(|c| group_of("r", c)).collect();
    assert_eq!(groups.len(), GROUPS_PER_ROOM);
    assert_eq!(group_of("r", "conn-1"), group_of("r", "conn-1"));
    assert_ne!(group_of("r", "conn-1"), group_of("s", "conn-1"));
}

/// Connections whose posts are scripted: `throttle` answers 429 that many
/// times to each listed connection, `gone` answers 410.
#[derive(Default)]
struct Fake {
    throttle: Mutex<BTreeMap<String, usize>>,
    gone: BTreeSet<String>,
    posts: Mutex<Vec<(String, String)>>,
    pruned: Mutex<Vec<String>>,
}

impl Connections for Fake {
    async fn post(&self, connection: &str, payload: &str) -> Posted {
        if self.gone.contains(connection) {
            return Posted::Gone;
        }
        if let Some(left) = self
            .throttle
            .lock()
            .expect("lock")
            .get_mut(connection)
            .filter(|left| **left > 0)
        {
            *left -= 1;
            return Posted::Throttled;
        }
        self.posts
            .lock()
            .expect("lock")
            .push((connection.to_string(), payload.to_string()));
        Posted::Delivered
    }

    async fn prune(&self, connection: &str) {
        self.pruned
            .lock()
            .expect("lock")
            .push(connection.to_string());
    }
}

fn one_delivery(connections: usize, frames: usize) -> Delivery {
    plan("general", &payloads(frames, 10), &ids(connections))
        .into_iter()
        .map(|(_, d)| d)
        .reduce(|mut all, d| {
            all.connections.extend(d.connections);
            all
        })
        .expect("a delivery")
}

#[tokio::test]
async fn throttled_posts_are_retried_and_nobody_gets_a_frame_twice() {
    let fake = Fake::default();
    fake.throttle
        .lock()
        .expect("lock")
        .extend([("conn-00001".to_string(), 2), ("conn-00002".to_string(), 1)]);
    let delivery = one_delivery(5, 3);
    let (counts, rest) = deliver(&fake, &delivery, Duration::from_secs(5)).await;
    assert_eq!(rest, None, "everything was delivered within the budget");
    assert_eq!(counts.delivered, 15);
    assert_eq!(counts.throttled, 3);
    let posts = fake.posts.lock().expect("lock").clone();
    let unique: BTreeSet<_> = posts.iter().collect();
    assert_eq!(unique.len(), posts.len(), "a frame was sent twice");
    assert_eq!(posts.len(), 15);
}

#[tokio::test]
async fn what_is_still_owed_after_the_budget_goes_back_and_only_that() {
    let fake = Fake::default();
    // Throttled for longer than the budget allows.
    fake.throttle
        .lock()
        .expect("lock")
        .insert("conn-00003".to_string(), 1_000);
    let delivery = one_delivery(4, 2);
    let (counts, rest) = deliver(&fake, &delivery, Duration::from_millis(300)).await;
    let rest = rest.expect("a remainder");
    assert_eq!(rest.connections, vec!["conn-00003".to_string()]);
    assert!(rest.resume.is_empty(), "it got nothing yet: {rest:?}");
    assert_eq!(rest.attempt, 1);
    assert_eq!(counts.delivered, 6);
    // The remainder, once the throttle lifts, sends only what is owed.
    fake.throttle.lock().expect("lock").clear();
    let (counts, again) = deliver(&fake, &rest, Duration::from_secs(1)).await;
    assert_eq!((counts.delivered, again), (2, None));
    assert_eq!(
        fake.posts.lock().expect("lock").len(),
        8,
        "4 connections x 2 frames, once each"
    );
}

#[tokio::test]
async fn a_connection_throttled_mid_way_resumes_at_its_next_frame() {
    let fake = Fake::default();
    let delivery = one_delivery(1, 3);
    // The first frame goes through; then 429 for longer than the budget.
    struct AfterFirst<'a>(&'a Fake, Mutex<usize>);
    impl Connections for AfterFirst<'_> {
        async fn post(&self, connection: &str, payload: &str) -> Posted {
            let first = {
                let mut sent = self.1.lock().expect("lock");
                *sent += 1;
                *sent == 1
            };
            if !first {
                return Posted::Throttled;
            }
            self.0.post(connection, payload).await
        }
        async fn prune(&self, connection: &str) {
            self.0.prune(connection).await
        }
    }
    let first = AfterFirst(&fake, Mutex::new(0));
    let (_, rest) = deliver(&first, &delivery, Duration::from_millis(200)).await;
    let rest = rest.expect("a remainder");
    assert_eq!(rest.resume.get("conn-00000"), Some(&1));
    let (counts, none) = deliver(&fake, &rest, Duration::from_secs(1)).await;
    assert_eq!((counts.delivered, none), (2, None));
    let frames: Vec<String> = fake
        .posts
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, p)| p.clone())
        .collect();
    assert_eq!(frames, payloads(3, 10), "each frame once, in order");
}

#[tokio::test]
async fn gone_connections_are_pruned_once_and_not_retried() {
    let fake = Fake {
        gone: BTreeSet::from(["conn-00000".to_string()]),
        ..Fake::default()
    };
    let (counts, rest) = deliver(&fake, &one_delivery(2, 3), Duration::from_secs(1)).await;
    assert_eq!(rest, None);
    assert_eq!((counts.pruned, counts.delivered), (1, 3));
    assert_eq!(
        *fake.pruned.lock().expect("lock"),
        vec!["conn-00000".to_string()]
    );
}

#[test]
fn only_small_rooms_go_inline_and_only_within_the_invocations_budget() {
    use inline::{InlineBudget, INLINE_POSTS_PER_INVOCATION, INLINE_POSTS_PER_ROOM};
    let budget = InlineBudget::default();
    assert!(
        !budget.take(INLINE_POSTS_PER_ROOM + 1),
        "a big room is queued"
    );
    let rooms = INLINE_POSTS_PER_INVOCATION / INLINE_POSTS_PER_ROOM;
    for _ in 0..rooms {
        assert!(budget.take(INLINE_POSTS_PER_ROOM));
    }
    assert!(!budget.take(1), "the invocation's inline posts are spent");
    assert!(
        InlineBudget::default().take(0),
        "an empty room costs nothing"
    );
}

#[tokio::test]
async fn a_small_room_is_delivered_inline_every_frame_once_in_order() {
    let fake = Fake::default();
    let budget = inline::InlineBudget::default();
    let frames = payloads(3, 10);
    let planned = plan("general", &frames, &ids(20));
    let (counts, owed) = inline::deliver_now(&fake, planned, &budget).await;
    assert!(owed.is_empty(), "nothing is owed: {owed:?}");
    assert_eq!(counts.delivered, 60);
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (connection, payload) in fake.posts.lock().expect("lock").iter() {
        got.entry(connection.clone())
            .or_default()
            .push(payload.clone());
    }
    assert_eq!(got.len(), 20);
    assert!(got.values().all(|each| *each == frames), "{got:?}");
    assert!(
        budget.take(1),
        "no throttling, so later rooms may go inline"
    );
}

#[tokio::test]
async fn a_throttled_inline_room_queues_only_what_is_owed_and_stops_inlining() {
    let fake = Fake::default();
    fake.throttle
        .lock()
        .expect("lock")
        .insert("conn-00004".to_string(), 1_000);
    let budget = inline::InlineBudget::default();
    // Frames of 60 KB: three deliveries per group, so the throttled
    // connection's group has later deliveries that must wait behind it.
    let frames = payloads(6, 60_000);
    let planned = plan("general", &frames, &ids(8));
    let throttled_group = group_of("general", "conn-00004");
    let (counts, owed) = inline::deliver_now(&fake, planned, &budget).await;
    assert!(
        !budget.take(1),
        "after a throttled post nothing more goes inline"
    );
    assert!(!owed.is_empty());
    assert!(
        owed.iter().all(|(group, _)| *group == throttled_group),
        "only the throttled connection's group is queued"
    );
    // The queue delivers what is owed once the throttle lifts.
    fake.throttle.lock().expect("lock").clear();
    for (_, delivery) in &owed {
        let (more, rest) = deliver(&fake, delivery, Duration::from_secs(1)).await;
        assert_eq!(rest, None);
        assert!(more.delivered > 0);
    }
    let posts = fake.posts.lock().expect("lock").clone();
    let unique: BTreeSet<_> = posts.iter().collect();
    assert_eq!(unique.len(), posts.len(), "a frame was sent twice");
    assert_eq!(posts.len(), 8 * 6, "every connection every frame");
    let mut got: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (connection, payload) in &posts {
        got.entry(connection).or_default().push(payload);
    }
    let expected: Vec<&str> = frames.iter().map(String::as_str).collect();
    assert!(got.values().all(|each| *each == expected), "out of order");
    assert!(counts.throttled > 0);
}
