//! What a command hands back for stdout, in both output formats.
//!
//! Commands never print their result themselves: they return a `Report` and
//! `app::run` prints it, so `--output json` always yields exactly one JSON
//! document on stdout, errors included.

use serde_json::{json, Value};

use crate::error::Error;

/// How a command's result is printed on stdout (`--output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// Exactly one JSON document.
    Json,
}

/// A command's result: text for people, JSON for programs.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub text: String,
    pub json: Value,
}

impl Report {
    pub fn new(text: impl Into<String>, json: Value) -> Report {
        Report {
            text: text.into(),
            json,
        }
    }

    /// Renders the report for stdout.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => ensure_newline(&self.text),
            Format::Json => json_document(&self.json),
        }
    }
}

/// The JSON document printed on stdout when a command fails in `--output json` mode.
pub fn error_document(error: &Error) -> String {
    json_document(&json!({
        "error": {
            "kind": error.kind(),
            "message": error.to_string(),
            "hint": error.hint(),
            "exit_code": error.exit_status().code(),
        }
    }))
}

fn json_document(value: &Value) -> String {
    // Serializing a `Value` cannot fail: its map keys are always strings.
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_string());
    ensure_newline(&text)
}

fn ensure_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

/// One line of a streaming command's output (`logs --follow`, `dev`),
/// flushed at once. A closed stdout (`| head`) ends the command, with 0.
pub fn stream_line(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}
