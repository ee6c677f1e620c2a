//! `cost --observed`: what the stack really did over the last 7 days, as
//! CloudWatch counted it, priced and scaled to the month. Only what
//! CloudWatch counts is here; the rest is named as not observed.

use serde::Serialize;

use super::metrics::{self, WINDOW_DAYS};
use super::prices::Prices;
use super::{calls_and_units, line, Calls, Line, Stack, DAYS_PER_MONTH, GB};
use crate::aws::{aws_error, Aws};
use crate::config::Project;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observed {
    /// The days read, scaled to `DAYS_PER_MONTH`.
    pub days: u64,
    pub lines: Vec<Line>,
    pub total: f64,
    /// Drivers CloudWatch does not count (by default), left out of `total`.
    pub not_observed: Vec<&'static str>,
}

/// What CloudWatch has no metric for without more set-up.
const NOT_OBSERVED: [&str; 5] = [
    "API Gateway WebSocket connection minutes",
    "S3 requests and storage (request metrics are off by default)",
    "SQS requests",
    "DynamoDB storage",
    "WAF",
];

pub async fn observe(
    aws: &Aws,
    project: &Project,
    stack: &Stack,
    prices: &Prices,
) -> Result<Observed> {
    let outputs = crate::deploy::deployed_outputs(aws, project).await?;
    let output = |key: &str| {
        outputs.get(key).map(String::as_str).ok_or_else(|| {
            Error::failed(format!("the stack has no output {key}"))
                .with_hint("run `chatctl launch` to bring the stack up to date")
        })
    };
    let scale = DAYS_PER_MONTH / WINDOW_DAYS as f64;
    let mut requests = 0.0;
    let mut gb_seconds = 0.0;
    let mut log_bytes = 0.0;
    for function in crate::functions::deployed(project, &outputs, &[])? {
        let name = [("FunctionName", function.function.as_str())];
        requests += metrics::sum(aws, "AWS/Lambda", "Invocations", &name).await?;
        let memory_gb = f64::from(*stack.memory_mb.get(&function.handler).unwrap_or(&256)) / 1024.0;
        gb_seconds +=
            metrics::sum(aws, "AWS/Lambda", "Duration", &name).await? / 1000.0 * memory_gb;
        let group = crate::functions::log_group(aws, &function.function).await?;
        log_bytes += metrics::sum(
            aws,
            "AWS/Logs",
            "IncomingBytes",
            &[("LogGroupName", &group)],
        )
        .await?;
    }
    let websocket = [("ApiId", output("WebSocketApiId")?)];
    let http = [("ApiId", output("HttpApiId")?)];
    let mut read_units = 0.0;
    let mut write_units = 0.0;
    for table in [
        "MessagesTableName",
        "ConnectionsTableName",
        "LimitsTableName",
        "SubscriptionsTableName",
    ] {
        let name = output(table)?;
        let table = [("TableName", name)];
        read_units +=
            metrics::sum(aws, "AWS/DynamoDB", "ConsumedReadCapacityUnits", &table).await?;
        write_units +=
            metrics::sum(aws, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", &table).await?;
        // An index's writes are billed too, and counted apart from its table's.
        for index in indexes(aws, name).await? {
            let index = [("TableName", name), ("GlobalSecondaryIndexName", &index)];
            write_units +=
                metrics::sum(aws, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", &index).await?;
        }
    }

    // CloudFront publishes its metrics in us-east-1 only.
    let edge = aws.in_region("us-east-1");
    let distribution = [
        ("DistributionId", output("DistributionId")?),
        ("Region", "Global"),
    ];
    let mut lines: Vec<Line> = vec![
        line(
            "API Gateway",
            "WebSocket messages",
            metrics::sum(aws, "AWS/ApiGateway", "MessageCount", &websocket).await?,
            "message",
            price!(prices, websocket_message),
        ),
        line(
            "API Gateway",
            "HTTP API requests",
            metrics::sum(aws, "AWS/ApiGateway", "Count", &http).await?,
            "request",
            price!(prices, http_api_request),
        ),
        line(
            "CloudFront",
            "HTTPS requests",
            metrics::sum(&edge, "AWS/CloudFront", "Requests", &distribution).await?,
            "request",
            price!(prices, cloudfront_https_request),
        ),
        line(
            "CloudFront",
            "data transfer out",
            metrics::sum(&edge, "AWS/CloudFront", "BytesDownloaded", &distribution).await? / GB,
            "GB",
            price!(prices, cloudfront_transfer_gb),
        ),
    ];
    lines.extend(calls_and_units(
        stack,
        prices,
        Calls {
            invocations: requests,
            gb_seconds,
            write_units,
            read_units,
            log_gb: log_bytes / GB,
        },
    ));
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|observed| {
            let quantity = observed.quantity * scale;
            Line {
                quantity,
                monthly: quantity * observed.unit_price,
                ..observed
            }
        })
        .collect();
    Ok(Observed {
        days: WINDOW_DAYS,
        total: lines.iter().map(|l| l.monthly).sum(),
        lines,
        not_observed: NOT_OBSERVED.to_vec(),
    })
}

/// The table's global secondary indexes, as deployed.
async fn indexes(aws: &Aws, table: &str) -> Result<Vec<String>> {
    let described = aws
        .dynamodb()
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| aws_error(&format!("describing table {table}"), e))?;
    Ok(described
        .table()
        .map(|t| t.global_secondary_indexes())
        .unwrap_or_default()
        .iter()
        .filter_map(|index| index.index_name().map(str::to_string))
        .collect())
}
