//! How long each function runs per call, which Lambda bills by the
//! millisecond: measured from the deployed function's `AWS/Lambda`
//! `Duration` metric over the last 7 days when it ran, else assumed.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use serde::Serialize;

use crate::aws::aws_error;
use crate::aws::Aws;
use crate::error::Result;

/// The window measured, and the period each datapoint covers.
const WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);
const PERIOD_SECONDS: i32 = 24 * 3600;

/// A function's mean duration over the window, from CloudWatch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measured {
    pub mean_ms: f64,
    pub invocations: f64,
}

/// The assumed duration of a warm call, in milliseconds, where nothing was
/// measured: a few DynamoDB and S3 round trips of 5 to 10 ms each in a
/// region; the fan-out also posts, 32 at a time, about 1 ms of CPU a post.
pub fn assumed_ms(handler: &str, posts_per_invocation: f64) -> f64 {
    match handler {
        "connect" | "disconnect" => 20.0,
        "message" | "http" | "ingest" => 25.0,
        "fanout" => 40.0 + posts_per_invocation,
        _ => 25.0,
    }
}

/// The function's mean `Duration` over the last 7 days, weighted by each
/// day's invocations; `None` when it did not run. Needs
/// `cloudwatch:GetMetricStatistics`.
pub async fn measure(aws: &Aws, function: &str) -> Result<Option<Measured>> {
    let end = SystemTime::now();
    let answer = aws
        .metrics()
        .get_metric_statistics()
        .namespace("AWS/Lambda")
        .metric_name("Duration")
        .dimensions(
            Dimension::builder()
                .name("FunctionName")
                .value(function)
                .build(),
        )
        .start_time(DateTime::from(end - WINDOW))
        .end_time(DateTime::from(end))
        .period(PERIOD_SECONDS)
        .statistics(Statistic::Average)
        .statistics(Statistic::SampleCount)
        .send()
        .await
        .map_err(|e| aws_error(&format!("reading function {function}'s Duration metric"), e))?;
    let (total_ms, invocations) = answer
        .datapoints()
        .iter()
        .filter_map(|point| Some((point.average()?, point.sample_count()?)))
        .fold((0.0, 0.0), |(ms, n), (average, count)| {
            (ms + average * count, n + count)
        });
    Ok((invocations > 0.0).then(|| Measured {
        mean_ms: total_ms / invocations,
        invocations,
    }))
}
