//! `chatctl invoke`: one synchronous invocation of a deployed function,
//! with its response and the tail of its log.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use base64::Engine;

use super::Deployed;
use crate::aws::{aws_error, Aws};
use crate::error::{Error, Result};

/// What one invocation came to.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Invocation {
    pub handler: String,
    pub function: String,
    pub status_code: i32,
    /// The function's response: JSON when it is, else the text.
    pub response: serde_json::Value,
    /// The last 4 KB of the invocation's log (Lambda's `LogType: Tail`).
    pub log: String,
    /// `Unhandled` (or another type) when the function failed.
    pub function_error: Option<String>,
}

/// Invokes `function` with `event` and waits for its answer.
pub async fn invoke(
    aws: &Aws,
    function: &Deployed,
    event: &serde_json::Value,
) -> Result<Invocation> {
    let payload = serde_json::to_vec(event)
        .map_err(|e| Error::usage(format!("the event is not JSON: {e}")))?;
    let out = aws
        .lambda()
        .invoke()
        .function_name(&function.function)
        .invocation_type(InvocationType::RequestResponse)
        .log_type(LogType::Tail)
        .payload(Blob::new(payload))
        .send()
        .await
        .map_err(|e| aws_error(&format!("invoking {}", function.function), e))?;
    let raw = out
        .payload()
        .map(|p| p.as_ref().to_vec())
        .unwrap_or_default();
    let response = serde_json::from_slice(&raw)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&raw).into_owned()));
    let log = out
        .log_result()
        .and_then(|tail| base64::engine::general_purpose::STANDARD.decode(tail).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    Ok(Invocation {
        handler: function.handler.clone(),
        function: function.function.clone(),
        status_code: out.status_code(),
        response,
        log,
        function_error: out.function_error().map(str::to_string),
    })
}

impl Invocation {
    /// The failure, when the function reported one: its type and message.
    pub fn failure(&self) -> Option<Error> {
        let kind = self.function_error.as_ref()?;
        let field = |name: &str| self.response.get(name).and_then(|v| v.as_str());
        Some(
            Error::failed(format!(
                "{} failed ({kind}): {}: {}",
                self.handler,
                field("errorType").unwrap_or("no error type"),
                field("errorMessage").unwrap_or("no message")
            ))
            .with_hint("its log is above; `chatctl logs` shows more"),
        )
    }
}
