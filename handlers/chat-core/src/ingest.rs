//! Messages published to the chat's SNS topic by other systems (bots,
//! alerts, CI): the room comes from the `room` message attribute, the sender
//! from the `name` attribute, the subject, or "sns".

use aws_lambda_events::sns::SnsEvent;
use lambda_runtime::{Error, LambdaEvent};

use crate::model::Message;
use crate::store::Store;
use crate::validate::{validate_name, validate_room, validate_text};

/// The message one SNS record becomes, or why it is dropped.
pub fn message_of(
    record: &aws_lambda_events::sns::SnsRecord,
    max_bytes: usize,
    retention_days: i64,
    now: i64,
) -> Result<Message, String> {
    let sns = &record.sns;
    let attribute = |key: &str| sns.message_attributes.get(key).map(|a| a.value.clone());
    let room = attribute("room").ok_or("the `room` message attribute is missing")?;
    validate_room(&room).map_err(|e| e.to_string())?;
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
    validate_name(&name).map_err(|e| e.to_string())?;
    validate_text(&text, max_bytes).map_err(|e| e.to_string())?;
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
    })
}

pub async fn handle(store: &Store, event: LambdaEvent<SnsEvent>) -> Result<(), Error> {
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
                reason,
                "SNS message dropped"
            ),
        }
    }
    Ok(())
}
