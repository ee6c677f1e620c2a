//! Sample events for `chatctl invoke --sample NAME`, as AWS delivers them
//! to each handler. chat-core's tests decode every one with the handlers'
//! own event types, so they cannot drift from the code.

/// One sample event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub name: &'static str,
    pub handler: &'static str,
    pub about: &'static str,
    pub event: &'static str,
}

/// A sample named `$name`, read from `samples/$name.json`.
macro_rules! sample {
    ($name:literal, $handler:literal, $about:literal) => {
        Sample {
            name: $name,
            handler: $handler,
            about: $about,
            event: include_str!(concat!("../../handlers/chat-core/samples/", $name, ".json")),
        }
    };
}

pub const SAMPLES: &[Sample] = &[
    sample!(
        "connect",
        "connect",
        "a WebSocket $connect to room general as \"sample\""
    ),
    sample!("disconnect", "disconnect", "a WebSocket $disconnect"),
    sample!(
        "send",
        "message",
        "a WebSocket send frame (from a connection that does not exist)"
    ),
    sample!(
        "stream-insert",
        "fanout",
        "a Messages stream insert in room general (delivered to its connections)"
    ),
    sample!(
        "stream-connect",
        "fanout",
        "a Connections stream insert in room general (its people are told \"sample\" arrived)"
    ),
    sample!(
        "sns",
        "ingest",
        "a message published to the chat's SNS topic for room general"
    ),
    sample!(
        "http-get",
        "http",
        "GET /api/rooms/general/messages (the room's history)"
    ),
    sample!(
        "http-form-post",
        "http",
        "a form POST to /api/rooms/general/messages (stores a message)"
    ),
];

/// The sample called `name`.
pub fn find(name: &str) -> Option<&'static Sample> {
    SAMPLES.iter().find(|sample| sample.name == name)
}

/// The list `--sample` prints: name, handler, what it is.
pub fn listing() -> String {
    SAMPLES
        .iter()
        .map(|s| format!("{:<15} {:<11} {}\n", s.name, s.handler, s.about))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_is_json_and_named_once() {
        let mut names: Vec<&str> = SAMPLES.iter().map(|s| s.name).collect();
        for sample in SAMPLES {
            serde_json::from_str::<serde_json::Value>(sample.event)
                .unwrap_or_else(|e| panic!("{}: {e}", sample.name));
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), SAMPLES.len());
        assert_eq!(find("send").map(|s| s.handler), Some("message"));
        assert!(listing().lines().count() == SAMPLES.len());
    }
}
