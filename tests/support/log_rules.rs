//! Rule 12: FilterLogEvents applies its filter pattern. The emulator
//! returns every event whatever the pattern; CloudWatch Logs returns only
//! the matching ones. The layer filters the emulator's answer by AWS's
//! term syntax (every term must appear, case-sensitive; `"a phrase"` as
//! written; `-term` must not appear) and passes other patterns (JSON and
//! space-delimited ones) through unfiltered.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};

use super::aws_rules::{read_upstream, Upstream};

/// What a term pattern asks of a message.
#[derive(Debug, PartialEq, Eq)]
pub struct TermPattern {
    pub required: Vec<String>,
    pub excluded: Vec<String>,
}

/// The terms of a plain pattern; `None` for the JSON (`{ ... }`) and
/// space-delimited (`[ ... ]`) forms, which the layer leaves alone.
pub fn terms(pattern: &str) -> Option<TermPattern> {
    let pattern = pattern.trim();
    if pattern.starts_with('{') || pattern.starts_with('[') || pattern.contains('?') {
        return None;
    }
    let mut required = Vec::new();
    let mut excluded = Vec::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        let (term, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"')?;
            (quoted[..end].to_string(), &quoted[end + 1..])
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            (rest[..end].to_string(), &rest[end..])
        };
        match term.strip_prefix('-') {
            Some(excluded_term) if !excluded_term.is_empty() => {
                excluded.push(excluded_term.to_string())
            }
            _ if !term.is_empty() => required.push(term),
            _ => {}
        }
        rest = after.trim_start();
    }
    Some(TermPattern { required, excluded })
}

impl TermPattern {
    pub fn matches(&self, message: &str) -> bool {
        self.required.iter().all(|t| message.contains(t.as_str()))
            && !self.excluded.iter().any(|t| message.contains(t.as_str()))
    }
}

pub async fn filter_patterns(
    upstream: &Upstream,
    parts: &Parts,
    body: &Bytes,
) -> Option<Response<Full<Bytes>>> {
    let target = parts.headers.get("x-amz-target")?.to_str().ok()?;
    if !target.ends_with(".FilterLogEvents") {
        return None;
    }
    let asked: serde_json::Value = serde_json::from_slice(body).ok()?;
    let pattern = terms(asked["filterPattern"].as_str()?)?;
    let answer = read_upstream(
        upstream,
        parts,
        "logs",
        Method::POST,
        "/",
        &String::from_utf8_lossy(body),
        &[
            ("x-amz-target", target),
            ("content-type", "application/x-amz-json-1.1"),
        ],
    )
    .await?;
    let mut answer: serde_json::Value = serde_json::from_str(&answer).ok()?;
    if let Some(events) = answer["events"].as_array_mut() {
        events.retain(|event| pattern.matches(event["message"].as_str().unwrap_or_default()));
    }
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(Bytes::from(answer.to_string())))
        .ok()
}
