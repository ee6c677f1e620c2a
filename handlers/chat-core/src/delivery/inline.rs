//! Small rooms are delivered from the stream invocation itself, big rooms
//! through the delivery queue. A two-person room then never waits in line
//! behind a room of 1,000 (the queue's message groups are shared by every
//! room, and a flooded big room can fill them), and it skips a queue hop.
//!
//! The stream invocation's work stays bounded: a room goes inline only when
//! its posts (connections x frames) are at most [`INLINE_POSTS_PER_ROOM`],
//! and all inline rooms of one invocation together at most
//! [`INLINE_POSTS_PER_INVOCATION`], the same bound as one queued delivery.
//! Once a post is throttled, the invocation stops delivering inline: what
//! is still owed, and every later room, goes on the queue, whose retries
//! never re-send a frame.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::stream::{self, StreamExt};

use super::{deliver, Connections, Counts, Delivery, GROUPS_PER_ROOM, POSTS_PER_DELIVERY};

/// A room whose frames make at most this many posts is delivered inline
/// (defined with the other drivers of `chatctl cost`).
pub const INLINE_POSTS_PER_ROOM: usize = chat_limits::work::INLINE_POSTS_PER_ROOM;

/// Inline posts one stream invocation may make across its rooms: one
/// delivery's worth, so the timeout arithmetic in docs/performance.md holds.
pub const INLINE_POSTS_PER_INVOCATION: usize = POSTS_PER_DELIVERY;

/// Throttled inline posts are retried this long before the rest is queued:
/// shorter than the queue's budget, as the stream invocation has other
/// rooms waiting.
pub const INLINE_BACKOFF_BUDGET: Duration = Duration::from_millis(500);

/// What is left of one stream invocation's inline posts. Shared by the
/// rooms it handles side by side.
#[derive(Debug)]
pub struct InlineBudget {
    posts: AtomicUsize,
    throttled: AtomicBool,
}

impl Default for InlineBudget {
    fn default() -> Self {
        Self {
            posts: AtomicUsize::new(INLINE_POSTS_PER_INVOCATION),
            throttled: AtomicBool::new(false),
        }
    }
}

impl InlineBudget {
    /// Takes `posts` from the budget when a room of that many posts may be
    /// delivered inline: it is small, the budget has them, and no post of
    /// this invocation has been throttled.
    pub fn take(&self, posts: usize) -> bool {
        if posts > INLINE_POSTS_PER_ROOM || self.throttled.load(Ordering::Relaxed) {
            return false;
        }
        self.posts
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(posts)
            })
            .is_ok()
    }

    fn throttled(&self) {
        self.throttled.store(true, Ordering::Relaxed);
    }
}

/// Posts a room's planned deliveries (`delivery::plan`) now: message groups
/// side by side, each group's deliveries in order. Returns the counts and
/// what must still be queued, in queue order: a delivery's throttled rest
/// and every later delivery of its group, so each connection keeps the
/// room's order.
pub async fn deliver_now<C: Connections>(
    connections: &C,
    planned: Vec<(String, Delivery)>,
    budget: &InlineBudget,
) -> (Counts, Vec<(String, Delivery)>) {
    let mut groups: BTreeMap<String, Vec<Delivery>> = BTreeMap::new();
    for (group, delivery) in planned {
        groups.entry(group).or_default().push(delivery);
    }
    let outcomes: Vec<(Counts, Vec<(String, Delivery)>)> = stream::iter(groups)
        .map(|(group, deliveries)| async move {
            let mut counts = Counts::default();
            let mut owed = Vec::new();
            for delivery in deliveries {
                if !owed.is_empty() {
                    owed.push((group.clone(), delivery));
                    continue;
                }
                let (delivered, rest) =
                    deliver(connections, &delivery, INLINE_BACKOFF_BUDGET).await;
                counts += delivered;
                if let Some(rest) = rest {
                    budget.throttled();
                    owed.push((group.clone(), rest));
                }
            }
            (counts, owed)
        })
        .buffer_unordered(GROUPS_PER_ROOM)
        .collect()
        .await;
    let mut counts = Counts::default();
    let mut owed = Vec::new();
    for (group_counts, group_owed) in outcomes {
        counts += group_counts;
        owed.extend(group_owed);
    }
    (counts, owed)
}
