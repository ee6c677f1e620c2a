//! `chatctl cost`: the monthly cost of the stack for a usage profile, per
//! service and per driver. The work one message, one join and one page view
//! cause comes from `chat_limits::work` (checked against a real message on
//! the emulator); this module counts it over a month and prices it. Every
//! line is linear in the usage, except the web ACL's monthly fee.

/// A line's price: the key it has in the price table, and its value.
macro_rules! price {
    ($prices:expr, $key:ident) => {
        (stringify!($key), $prices.$key)
    };
}

pub mod durations;
pub mod free_tier;
mod metrics;
pub mod observed;
pub mod prices;
mod stack;

pub use stack::{stack_of, Source};

use chat_limits::work::{self, Work};
use serde::{Deserialize, Serialize};

use crate::config::Architecture;
use prices::Prices;

/// Days in the month the estimate is for.
pub const DAYS_PER_MONTH: f64 = 30.0;

/// How the chat is used; `cost:` in chatctl.yaml, each overridable on the
/// command line.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Usage {
    /// Messages sent per day, all rooms together.
    pub messages_per_day: f64,
    /// Connections in the room of an average message (its sender's included).
    pub room_size: f64,
    /// People who open the chat on a day.
    pub people_per_day: f64,
    /// Hours each of them stays connected per day.
    pub connected_hours_per_person: f64,
    /// Times each of them joins a room per day (a tab opened, a reconnect).
    pub joins_per_person: f64,
    /// Page loads per day (each loads the site's page, script, style and config).
    pub page_views_per_day: f64,
    /// The average message's text, in bytes.
    pub message_bytes: f64,
}

impl Default for Usage {
    fn default() -> Self {
        Usage {
            messages_per_day: 1000.0,
            room_size: 10.0,
            people_per_day: 50.0,
            connected_hours_per_person: 2.0,
            joins_per_person: 2.0,
            page_views_per_day: 100.0,
            message_bytes: 200.0,
        }
    }
}

impl Usage {
    /// Every per-day quantity `times` over (room size and message size stay).
    pub fn scaled(&self, times: f64) -> Usage {
        Usage {
            messages_per_day: self.messages_per_day * times,
            people_per_day: self.people_per_day * times,
            page_views_per_day: self.page_views_per_day * times,
            ..self.clone()
        }
    }
}

/// What the stack is: from the deployed functions, or the configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stack {
    pub architecture: Architecture,
    /// Memory of each function, by handler.
    pub memory_mb: std::collections::BTreeMap<String, u32>,
    pub history_length: u32,
    pub message_retention_days: u32,
    pub log_retention_days: u32,
    /// The bytes a page view transfers (the site's page, script, style, config).
    pub page_bytes: u64,
    /// A web ACL in front of the distribution (`protection.waf`).
    pub waf: bool,
    /// Each function's measured duration, by handler (deployed functions
    /// that ran in the last 7 days); the others' is assumed.
    pub measured: std::collections::BTreeMap<String, durations::Measured>,
}

/// One priced driver.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub service: &'static str,
    pub driver: &'static str,
    /// Per month.
    pub quantity: f64,
    pub unit: &'static str,
    /// The price's key in the price table.
    pub price: &'static str,
    pub unit_price: f64,
    pub monthly: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub lines: Vec<Line>,
    pub total: f64,
    /// The part that does not grow with use (the web ACL's fees).
    pub fixed: f64,
    /// One more message in a room of `usage.room_size`.
    pub one_message: f64,
}

/// What a stored message takes in DynamoDB: its text, its other attributes
/// and DynamoDB's per-item overhead.
fn item_bytes(message_bytes: f64) -> f64 {
    message_bytes + 300.0
}

/// Log bytes per invocation: the function's request line and Lambda's
/// START, END and REPORT lines.
const LOG_BYTES_PER_INVOCATION: f64 = 600.0;
/// A connection as the fan-out's keys-only index holds it.
const CONNECTION_INDEX_BYTES: f64 = 120.0;
/// A connection as `by-room-people` holds it: its keys, name and author hash.
const PEOPLE_INDEX_BYTES: f64 = 200.0;
pub const GB: f64 = 1024.0 * 1024.0 * 1024.0;

pub fn estimate(stack: &Stack, usage: &Usage, prices: &Prices) -> Estimate {
    let days = DAYS_PER_MONTH;
    let sends = usage.messages_per_day * days;
    let joins = usage.people_per_day * usage.joins_per_person * days;
    let views = usage.page_views_per_day * days;
    let send = work::send(
        usage.room_size.max(1.0).round() as u64,
        stack.history_length,
    );
    let join = work::join(
        usage.room_size.max(1.0).round() as u64,
        stack.history_length,
    );
    let mut lines = Vec::new();
    lines.extend(work_lines(
        stack,
        usage,
        prices,
        &send.times(sends),
        send_posts(&send),
    ));
    merge(
        &mut lines,
        work_lines(stack, usage, prices, &join.times(joins), 1.0),
    );
    let minutes = usage.people_per_day * usage.connected_hours_per_person * 60.0 * days;
    lines.push(line(
        "API Gateway",
        "WebSocket connection minutes",
        minutes,
        "minute",
        price!(prices, websocket_connection_minute),
    ));
    // A message kept for the retention period: the table holds a month's
    // worth per month of retention.
    let stored_gb = usage.messages_per_day
        * f64::from(stack.message_retention_days)
        * item_bytes(usage.message_bytes)
        / GB;
    lines.push(line(
        "DynamoDB",
        "storage",
        stored_gb,
        "GB-month",
        price!(prices, dynamodb_storage_gb_month),
    ));
    lines.push(line(
        "DynamoDB",
        "stream reads (free for Lambda triggers)",
        // A message's record, and a join's two (its connection opened and closed).
        sends + 2.0 * joins,
        "record",
        price!(prices, dynamodb_stream_read_request),
    ));
    // Each page view: the page, script, style and config.json through
    // CloudFront; HTML and JSON are `no-cache`, so two reach S3.
    lines.push(line(
        "CloudFront",
        "HTTPS requests",
        views * 4.0,
        "request",
        price!(prices, cloudfront_https_request),
    ));
    lines.push(line(
        "CloudFront",
        "data transfer out",
        views * stack.page_bytes as f64 / GB,
        "GB",
        price!(prices, cloudfront_transfer_gb),
    ));
    lines.push(line(
        "S3",
        "GET requests (CloudFront revalidations)",
        views * 2.0,
        "request",
        price!(prices, s3_get_request),
    ));
    if stack.waf {
        lines.push(line(
            "WAF",
            "web ACL",
            1.0,
            "ACL-month",
            price!(prices, waf_web_acl_month),
        ));
        lines.push(line(
            "WAF",
            "rules",
            3.0,
            "rule-month",
            price!(prices, waf_rule_month),
        ));
        lines.push(line(
            "WAF",
            "requests",
            views * 4.0,
            "request",
            price!(prices, waf_request),
        ));
    }
    lines.push(line(
        "KMS",
        "requests (the tables use AWS owned keys)",
        0.0,
        "request",
        price!(prices, kms_request),
    ));
    lines.push(line(
        "SNS",
        "publishes (only what posts to the topic)",
        0.0,
        "publish",
        price!(prices, sns_publish),
    ));
    let fixed = if stack.waf {
        prices.waf_web_acl_month + 3.0 * prices.waf_rule_month
    } else {
        0.0
    };
    let one = estimate_work(stack, usage, prices, &send);
    Estimate {
        total: lines.iter().map(|l| l.monthly).sum(),
        lines,
        fixed,
        one_message: one,
    }
}

/// Posts per fan-out or delivery invocation, for its duration.
fn send_posts(send: &Work) -> f64 {
    let invocations = send.invocations.fanout + send.invocations.delivery;
    if invocations > 0.0 {
        send.posts / invocations
    } else {
        0.0
    }
}

/// What one unit of `work` costs.
fn estimate_work(stack: &Stack, usage: &Usage, prices: &Prices, work: &Work) -> f64 {
    work_lines(stack, usage, prices, work, send_posts(work))
        .iter()
        .map(|l| l.monthly)
        .sum()
}

fn work_lines(
    stack: &Stack,
    usage: &Usage,
    prices: &Prices,
    work: &Work,
    posts_per_invocation: f64,
) -> Vec<Line> {
    let i = work.invocations;
    let by_handler = [
        ("connect", i.connect),
        ("disconnect", i.disconnect),
        ("message", i.message),
        ("fanout", i.fanout),
        // The delivery queue's function is the fan-out's own code.
        ("fanout", i.delivery),
        ("http", i.http),
    ];
    let invocations: f64 = by_handler.iter().map(|(_, n)| n).sum();
    let gb_seconds: f64 = by_handler
        .iter()
        .map(|(handler, n)| {
            let memory = f64::from(*stack.memory_mb.get(*handler).unwrap_or(&256)) / 1024.0;
            n * memory * duration_ms(stack, handler, posts_per_invocation) / 1000.0
        })
        .sum();
    let message_kb = (item_bytes(usage.message_bytes) / 1024.0).ceil();
    // A message is the one item that may take more than 1 KB; an index
    // write is a unit more (on-demand bills the index's writes too).
    let write_units = work.messages_put * message_kb
        + (work.dynamodb_put_item - work.messages_put)
        + work.dynamodb_update_item
        + work.dynamodb_delete_item
        + work.index_writes;
    // Strongly consistent, 4 KB a unit, and a unit more a query for the
    // rounding up of each call.
    let read_units = work.dynamodb_get_item
        + work.connections_read * CONNECTION_INDEX_BYTES / 4096.0
        + work.people_read * PEOPLE_INDEX_BYTES / 4096.0
        + work.messages_read * item_bytes(usage.message_bytes) / 4096.0
        + work.dynamodb_query;
    let mut lines = vec![line(
        "API Gateway",
        "WebSocket messages",
        work.websocket_in + work.posts,
        "message",
        price!(prices, websocket_message),
    )];
    lines.extend(calls_and_units(
        stack,
        prices,
        Calls {
            invocations,
            gb_seconds,
            write_units,
            read_units,
            log_gb: invocations * LOG_BYTES_PER_INVOCATION / GB,
        },
    ));
    lines.push(line(
        "S3",
        "PUT requests (room snapshots)",
        work.s3_put,
        "request",
        price!(prices, s3_put_request),
    ));
    lines.push(line(
        "SQS",
        "delivery-queue requests",
        work.sqs_requests,
        "request",
        price!(prices, sqs_request),
    ));
    lines
}

/// Lambda calls and DynamoDB units, estimated or observed.
struct Calls {
    invocations: f64,
    gb_seconds: f64,
    write_units: f64,
    read_units: f64,
    /// What the calls log, kept for the stack's log retention.
    log_gb: f64,
}

/// The lines of Lambda, DynamoDB's request units and CloudWatch Logs.
fn calls_and_units(stack: &Stack, prices: &Prices, calls: Calls) -> [Line; 6] {
    let gb_second = match stack.architecture {
        Architecture::X86_64 => price!(prices, lambda_gb_second_x86_64),
        Architecture::Arm64 => price!(prices, lambda_gb_second_arm64),
    };
    let log_months = f64::from(stack.log_retention_days) / DAYS_PER_MONTH;
    [
        line(
            "Lambda",
            "requests",
            calls.invocations,
            "request",
            price!(prices, lambda_request),
        ),
        line(
            "Lambda",
            "compute",
            calls.gb_seconds,
            "GB-second",
            gb_second,
        ),
        line(
            "DynamoDB",
            "write request units",
            calls.write_units,
            "unit",
            price!(prices, dynamodb_write_request_unit),
        ),
        line(
            "DynamoDB",
            "read request units",
            calls.read_units,
            "unit",
            price!(prices, dynamodb_read_request_unit),
        ),
        line(
            "CloudWatch Logs",
            "ingestion",
            calls.log_gb,
            "GB",
            price!(prices, logs_ingestion_gb),
        ),
        line(
            "CloudWatch Logs",
            "storage",
            calls.log_gb * log_months,
            "GB-month",
            price!(prices, logs_storage_gb_month),
        ),
    ]
}

/// Adds `more` into `lines`, line by line (same service and driver).
fn merge(lines: &mut [Line], more: Vec<Line>) {
    for extra in more {
        if let Some(line) = lines
            .iter_mut()
            .find(|l| l.service == extra.service && l.driver == extra.driver)
        {
            line.quantity += extra.quantity;
            line.monthly += extra.monthly;
        }
    }
}

fn line(
    service: &'static str,
    driver: &'static str,
    quantity: f64,
    unit: &'static str,
    (price, unit_price): (&'static str, f64),
) -> Line {
    Line {
        service,
        driver,
        quantity,
        unit,
        price,
        unit_price,
        monthly: quantity * unit_price,
    }
}

/// A function's duration per call: measured, or assumed.
fn duration_ms(stack: &Stack, handler: &str, posts_per_invocation: f64) -> f64 {
    match stack.measured.get(handler) {
        Some(measured) => measured.mean_ms,
        None => durations::assumed_ms(handler, posts_per_invocation),
    }
}

#[cfg(test)]
mod tests;
