//! Messages published to the chat's SNS topic by other systems (bots,
//! alerts, CI): the room comes from the `room` message attribute, the sender
//! from the `name` attribute, the subject, or "sns".

use aws_lambda_events::sns::SnsEvent;
use lambda_runtime::{Error, LambdaEvent};

use crate::model::Message;
use crate::ports::MessageStore;
use crate::validate::{validate_name, validate_room, validate_text, ValidationError};

/// Why an SNS message is dropped: it can never become a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Dropped {
    #[error("the `room` message attribute is missing")]
    NoRoom,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

/// The message one SNS record becomes, or why it is dropped.
pub fn message_of(
    record: &aws_lambda_events::sns::SnsRecord,
    max_bytes: usize,
    retention_days: i64,
    now: i64,
) -> Result<Message, Dropped> {
    let sns = &record.sns;
    let attribute = |key: &str| sns.message_attributes.get(key).map(|a| a.value.clone());
    let room = attribute("room").ok_or(Dropped::NoRoom)?;
    validate_room(&room)?;
    // A JSON body may carry the name and text; otherwise the body is the text.
    let body: Option<serde_json::Value> = serde_json::from_str(&sns.message).ok();
    let text = body
        .as_ref()
        .and_then(|b| b.get("text"))
        .and_then(|t| t.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| sns.message.clone());
    let name = attribute("name")
        .or_else(|| {
            body.as_ref()
                .and_then(|b| b.get("name"))
                .and_then(|n| n.as_str())
                .map(str::to_string)
        })
        .or_else(|| sns.subject.clone())
        .unwrap_or_else(|| "sns".to_string());
    validate_name(&name)?;
    validate_text(&text, max_bytes)?;
    Ok(Message {
        room,
        id: ulid::Ulid::new().to_string(),
        name,
        text,
        created_at: now,
        edited_at: None,
        author: None,
        expires_at: now + retention_days * 86_400,
        source: Some(crate::model::Source::Sns),
        verified: false,
    })
}

pub async fn handle<S: MessageStore>(store: &S, event: LambdaEvent<SnsEvent>) -> Result<(), Error> {
    let settings = store.settings();
    for record in &event.payload.records {
        match message_of(
            record,
            settings.max_message_bytes,
            settings.message_retention_days,
            crate::now_seconds(),
        ) {
            // A storage failure fails the invocation: SNS retries, then the dead-letter queue keeps it.
            Ok(message) => store.put_message(&message).await?,
            // A message that can never be valid is dropped with a log line, not retried.
            Err(reason) => tracing::warn!(
                message_id = record.sns.message_id,
                reason = %reason,
                "SNS message dropped"
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Memory;
    use crate::model::Source;
    use crate::test_events::sns;
    use crate::Settings;

    #[tokio::test]
    async fn a_published_message_is_stored_under_its_attributes_or_its_subject() {
        let store = Memory::new(Settings::default());
        let event = sns("deploy finished", None, &[("room", "ops"), ("name", "CI")]);
        handle(&store, event).await.expect("handled");
        let event = sns(
            r#"{"text":"from json"}"#,
            Some("Alerts"),
            &[("room", "ops")],
        );
        handle(&store, event).await.expect("handled");
        let event = sns("plain", None, &[("room", "ops")]);
        handle(&store, event).await.expect("handled");
        let mut stored: Vec<(String, String)> = store
            .stored_messages()
            .into_iter()
            .map(|m| {
                assert_eq!(m.room, "ops");
                assert_eq!(m.source, Some(Source::Sns));
                assert_eq!(m.author, None);
                (m.name, m.text)
            })
            .collect();
        stored.sort();
        assert_eq!(
            stored,
            [
                ("Alerts".to_string(), "from json".to_string()),
                ("CI".to_string(), "deploy finished".to_string()),
                ("sns".to_string(), "plain".to_string()),
            ]
        );
    }

    #[tokio::test]
    async fn a_message_that_can_never_be_valid_is_dropped_not_retried() {
        let store = Memory::new(Settings::default());
        for event in [
            sns("no room", None, &[]),
            sns("bad room", None, &[("room", "no spaces")]),
            sns("", None, &[("room", "ops")]),
            sns(&"x".repeat(2_001), None, &[("room", "ops")]),
        ] {
            handle(&store, event).await.expect("dropped, not failed");
        }
        assert!(store.stored_messages().is_empty());
        let record = &sns("no room", None, &[]).payload.records[0];
        assert_eq!(message_of(record, 2_000, 30, 0), Err(Dropped::NoRoom));
    }

    #[tokio::test]
    async fn a_storage_failure_fails_the_invocation_so_sns_retries() {
        let store = Memory::new(Settings::default());
        store.fail("put_message");
        let event = sns("hi", None, &[("room", "ops")]);
        assert!(handle(&store, event).await.is_err());
    }
}
