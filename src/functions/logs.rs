//! `chatctl logs`: the functions' log lines from CloudWatch Logs, merged in
//! time order, read once or followed.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::Client;

use super::{log_group, Deployed};
use crate::aws::{aws_error, Aws};
use crate::error::Result;

/// How often `--follow` asks for new lines, at most.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// FilterLogEvents calls a follow makes per second, at most: CloudWatch
/// Logs allows 5 a second per account and Region (a quota AWS does not
/// raise), shared with every other reader of the account's logs, so all
/// six functions are polled about every three seconds.
const FOLLOW_CALLS_PER_SECOND: f64 = 2.0;

/// Lines may land in CloudWatch Logs a little after their timestamp: each
/// follow poll looks this far back, and drops the lines it already printed.
const FOLLOW_OVERLAP_MS: i64 = 10_000;

/// One log line of one handler.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    pub handler: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// RFC 3339, for people and scripts alike.
    pub time: String,
    pub message: String,
    #[serde(skip)]
    id: String,
}

impl LogLine {
    /// What tells two lines apart between polls: the event id, and the
    /// line itself (the emulator reuses ids across the lines of one
    /// invocation).
    fn key(&self) -> String {
        format!("{}\u{0}{}\u{0}{}", self.id, self.timestamp, self.message)
    }
}

/// What to read.
#[derive(Debug, Clone)]
pub struct LogsOptions {
    /// How far back to start.
    pub since: Duration,
    /// A CloudWatch Logs filter pattern.
    pub filter: Option<String>,
}

/// A function and the log group it writes to.
#[derive(Debug, Clone)]
struct Source {
    handler: String,
    group: String,
}

async fn sources(aws: &Aws, functions: &[Deployed]) -> Result<Vec<Source>> {
    let mut sources = Vec::new();
    for function in functions {
        sources.push(Source {
            handler: function.handler.clone(),
            group: log_group(aws, &function.function).await?,
        });
    }
    Ok(sources)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// The lines of every function since `options.since`, oldest first.
pub async fn read(
    aws: &Aws,
    functions: &[Deployed],
    options: &LogsOptions,
) -> Result<Vec<LogLine>> {
    let sources = sources(aws, functions).await?;
    let start = now_ms() - options.since.as_millis() as i64;
    let (lines, _) = lines_since(&aws.logs(), &sources, start, options.filter.as_deref()).await?;
    Ok(lines)
}

/// Prints (through `print`) the lines since `options.since`, then every new
/// line as it arrives, until the command is interrupted.
pub async fn follow(
    aws: &Aws,
    functions: &[Deployed],
    options: &LogsOptions,
    mut print: impl FnMut(&LogLine),
) -> Result<()> {
    let sources = sources(aws, functions).await?;
    let client = aws.logs();
    let mut start = now_ms() - options.since.as_millis() as i64;
    let mut printed: HashSet<String> = HashSet::new();
    loop {
        let polled = std::time::Instant::now();
        let (lines, calls) =
            lines_since(&client, &sources, start, options.filter.as_deref()).await?;
        for line in &lines {
            if printed.insert(line.key()) {
                print(line);
            }
        }
        if let Some(newest) = lines.last() {
            start = start.max(newest.timestamp - FOLLOW_OVERLAP_MS);
            // Only ids that can come back in the next poll are kept.
            let kept: HashSet<String> = lines
                .iter()
                .filter(|l| l.timestamp >= start)
                .map(LogLine::key)
                .collect();
            printed.retain(|id| kept.contains(id));
        }
        tokio::time::sleep(pause(calls, polled.elapsed())).await;
    }
}

/// The wait before the next poll: at least [`FOLLOW_EVERY`], and long
/// enough that `calls` stay within [`FOLLOW_CALLS_PER_SECOND`].
fn pause(calls: usize, took: Duration) -> Duration {
    Duration::from_secs_f64(calls as f64 / FOLLOW_CALLS_PER_SECOND)
        .saturating_sub(took)
        .max(FOLLOW_EVERY)
}

/// Every source's lines from `start_ms` in time order, and the calls it took.
async fn lines_since(
    client: &Client,
    sources: &[Source],
    start_ms: i64,
    filter: Option<&str>,
) -> Result<(Vec<LogLine>, usize)> {
    let mut lines = Vec::new();
    let mut calls = 0;
    for source in sources {
        let (group, pages) = group_lines(client, source, start_ms, filter).await?;
        lines.extend(group);
        calls += pages;
    }
    // Stable: lines of one function keep their order within a millisecond.
    lines.sort_by_key(|line| line.timestamp);
    Ok((lines, calls))
}

/// One log group's lines from `start_ms` (none when the group does not
/// exist yet: a function never invoked has written nothing), and the
/// pages it took.
async fn group_lines(
    client: &Client,
    source: &Source,
    start_ms: i64,
    filter: Option<&str>,
) -> Result<(Vec<LogLine>, usize)> {
    let mut lines = Vec::new();
    let mut pages_read = 0;
    let mut pages = client
        .filter_log_events()
        .log_group_name(&source.group)
        .start_time(start_ms)
        .set_filter_pattern(filter.map(str::to_string))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        pages_read += 1;
        let page = match page {
            Ok(page) => page,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Ok((lines, pages_read))
            }
            Err(e) => {
                return Err(aws_error(
                    &format!("reading the log group {}", source.group),
                    e,
                ))
            }
        };
        for event in page.events() {
            let timestamp = event.timestamp().unwrap_or_default();
            lines.push(LogLine {
                handler: source.handler.clone(),
                timestamp,
                time: rfc3339(timestamp),
                message: printable(event.message().unwrap_or_default()),
                id: event.event_id().unwrap_or_default().to_string(),
            });
        }
    }
    Ok((lines, pages_read))
}

fn rfc3339(timestamp_ms: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(timestamp_ms.max(0) as u64);
    humantime::format_rfc3339_millis(time).to_string()
}

/// A log message on one line with no control characters: a function's
/// output never moves the reader's cursor or forges a line of its own.
pub fn printable(message: &str) -> String {
    message
        .trim_end_matches(['\n', '\r'])
        .chars()
        .flat_map(|c| match c {
            '\t' => vec![c],
            c if c.is_control() => c.escape_default().collect(),
            c => vec![c],
        })
        .collect()
}

/// A line for people: time, the handler's name (coloured at a terminal),
/// the message.
pub fn text_line(line: &LogLine, width: usize, colour: bool) -> String {
    let name = format!("{:<width$}", line.handler);
    let name = if colour {
        format!("\u{1b}[{}m{name}\u{1b}[0m", colour_of(&line.handler))
    } else {
        name
    };
    format!("{} {name} | {}", line.time, line.message)
}

/// One of six colours, the same for a handler every time.
fn colour_of(handler: &str) -> u8 {
    let sum: u32 = handler.bytes().map(u32::from).sum();
    31 + (sum % 6) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_follow_stays_within_the_accounts_filter_log_events_rate() {
        assert_eq!(pause(1, Duration::ZERO), FOLLOW_EVERY);
        assert_eq!(pause(6, Duration::ZERO), Duration::from_secs(3));
        assert_eq!(
            pause(6, Duration::from_millis(500)),
            Duration::from_millis(2500)
        );
        assert_eq!(pause(6, Duration::from_secs(10)), FOLLOW_EVERY);
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(printable("ok\n"), "ok");
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("one\ntwo"), "one\\ntwo");
        assert_eq!(printable("tab\there"), "tab\there");
    }

    #[test]
    fn lines_read_alike_and_colour_only_when_asked() {
        let line = LogLine {
            handler: "message".into(),
            timestamp: 1_764_000_000_123,
            time: rfc3339(1_764_000_000_123),
            message: "request".into(),
            id: "1".into(),
        };
        assert_eq!(
            text_line(&line, 10, false),
            "2025-11-24T16:00:00.123Z message    | request"
        );
        let coloured = text_line(&line, 10, true);
        assert!(coloured.contains("\u{1b}[") && coloured.ends_with("| request"));
    }
}
