//! What one chat action makes AWS do: the drivers `chatctl cost` prices.
//! Counted from the handlers' code (chat-core's `message.rs` for a send,
//! `fanout.rs` and `delivery.rs` for its delivery, `connect.rs` for a
//! join; a room nobody asked notifications of, so no `notify.rs`) and checked against every operation the emulator records for a
//! real message in a room of three and a real join (chatctl's
//! `tests/cost.rs`): a change to the code that changes one of these counts
//! fails that test until it is changed here too.

/// A room whose frames take at most this many posts is delivered by the
/// fan-out itself; a bigger one through the delivery queue.
pub const INLINE_POSTS_PER_ROOM: usize = 100;
/// A room of at most this many connections lists its people, and is told
/// live when someone arrives or leaves; a bigger one only shows a count
/// (a live list would cost a post to everyone per join and leave).
pub const PRESENCE_LIST_MAX: usize = INLINE_POSTS_PER_ROOM;
/// Posts (connections x frames) in one delivery-queue message, and in one
/// invocation of the delivery function.
pub const POSTS_PER_DELIVERY: usize = 1000;

/// AWS operations and invocations, per action; fractions are averages.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Work {
    /// WebSocket messages from clients to API Gateway.
    pub websocket_in: f64,
    /// PostToConnection calls: WebSocket messages to clients.
    pub posts: f64,
    pub dynamodb_get_item: f64,
    pub dynamodb_query: f64,
    pub dynamodb_put_item: f64,
    pub dynamodb_update_item: f64,
    pub dynamodb_delete_item: f64,
    /// Of the puts, the messages (a write unit per KB of the message; any
    /// other item chatctl writes is under 1 KB).
    pub messages_put: f64,
    /// Writes DynamoDB repeats into a global secondary index, a write unit
    /// each: a connection's put and delete, into `by-room-keys` and
    /// `by-room-people`.
    pub index_writes: f64,
    /// Room snapshots written (the page without JavaScript reads them).
    pub s3_put: f64,
    /// Delivery-queue requests: send, and the delivery function's
    /// receive and delete.
    pub sqs_requests: f64,
    /// Connections read by the fan-out's query of a room.
    pub connections_read: f64,
    /// Connections read with their names and authors (`by-room-people`):
    /// who is in a room, at most `PRESENCE_LIST_MAX + 1` a read.
    pub people_read: f64,
    /// Messages read by a history page or a snapshot.
    pub messages_read: f64,
    pub invocations: Invocations,
}

/// Function invocations, by handler.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Invocations {
    pub connect: f64,
    pub disconnect: f64,
    pub message: f64,
    pub fanout: f64,
    pub delivery: f64,
    pub http: f64,
}

/// One message sent over the WebSocket into a room of `room` connections
/// (the sender's included).
pub fn send(room: u64, history_length: u32) -> Work {
    let room = room as f64;
    // Each connection gets the message; the sender also its `sent` answer.
    let posts = room + 1.0;
    let queued = room > INLINE_POSTS_PER_ROOM as f64;
    let deliveries = if queued {
        (room / POSTS_PER_DELIVERY as f64).ceil()
    } else {
        0.0
    };
    Work {
        websocket_in: 1.0,
        posts,
        // message.rs: the sender's connection; fanout.rs: the room's queue mark.
        dynamodb_get_item: 2.0,
        // fanout.rs: the room's connections, its newest messages and
        // people for the snapshots, and whether it has push subscriptions.
        dynamodb_query: 4.0,
        // message.rs: the message.
        dynamodb_put_item: 1.0,
        // message.rs: the client's rate counters, by address and by token.
        dynamodb_update_item: 2.0,
        dynamodb_delete_item: 0.0,
        messages_put: 1.0,
        index_writes: 0.0,
        // fanout.rs: the room's snapshot page and its JSON.
        s3_put: 2.0,
        sqs_requests: 3.0 * deliveries,
        connections_read: room,
        people_read: people_read(room),
        messages_read: f64::from(history_length),
        invocations: Invocations {
            message: 1.0,
            // At most one: a stream batch can carry several messages.
            fanout: 1.0,
            delivery: deliveries,
            ..Invocations::default()
        },
    }
}

/// Connections one presence read returns in a room of `room`.
fn people_read(room: f64) -> f64 {
    room.min(PRESENCE_LIST_MAX as f64 + 1.0)
}

/// One person joining a room of `room` connections (theirs included),
/// reading its first history page, and leaving. Their arrival and their
/// leaving are each told to everyone else there, in a room small enough
/// to list (`presence.rs`).
pub fn join(room: u64, history_length: u32) -> Work {
    let room = (room as f64).max(1.0);
    let told = if room <= PRESENCE_LIST_MAX as f64 {
        room - 1.0
    } else {
        0.0
    };
    Work {
        websocket_in: 1.0,
        // The history page, and the presence frames of the arrival and the leaving.
        posts: 1.0 + 2.0 * told,
        // message.rs: the connection, for the history request.
        dynamodb_get_item: 1.0,
        // message.rs: the history page and who is here; presence.rs: who
        // is here after the arrival, and after the leaving.
        dynamodb_query: 4.0,
        // connect.rs: the connection.
        dynamodb_put_item: 1.0,
        // connect.rs: the address's and the room's slots, taken and given
        // back; message.rs: the rate counters, for the history request.
        dynamodb_update_item: 6.0,
        // connect.rs: the connection, at $disconnect.
        dynamodb_delete_item: 1.0,
        messages_put: 0.0,
        // The connection's put and delete, each also in both indexes.
        index_writes: 4.0,
        s3_put: 0.0,
        sqs_requests: 0.0,
        connections_read: 0.0,
        people_read: 3.0 * people_read(room),
        messages_read: f64::from(history_length),
        invocations: Invocations {
            connect: 1.0,
            disconnect: 1.0,
            message: 1.0,
            // The connections stream's batches with the arrival and the leaving.
            fanout: 2.0,
            ..Invocations::default()
        },
    }
}

impl Work {
    /// `self` `times` over.
    pub fn times(self, times: f64) -> Work {
        let i = self.invocations;
        Work {
            websocket_in: self.websocket_in * times,
            posts: self.posts * times,
            dynamodb_get_item: self.dynamodb_get_item * times,
            dynamodb_query: self.dynamodb_query * times,
            dynamodb_put_item: self.dynamodb_put_item * times,
            dynamodb_update_item: self.dynamodb_update_item * times,
            dynamodb_delete_item: self.dynamodb_delete_item * times,
            messages_put: self.messages_put * times,
            index_writes: self.index_writes * times,
            s3_put: self.s3_put * times,
            sqs_requests: self.sqs_requests * times,
            connections_read: self.connections_read * times,
            people_read: self.people_read * times,
            messages_read: self.messages_read * times,
            invocations: Invocations {
                connect: i.connect * times,
                disconnect: i.disconnect * times,
                message: i.message * times,
                fanout: i.fanout * times,
                delivery: i.delivery * times,
                http: i.http * times,
            },
        }
    }
}
