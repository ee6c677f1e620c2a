//! How long each function runs per call, which Lambda bills by the
//! millisecond: measured from the deployed function's `AWS/Lambda`
//! `Duration` metric over the last 7 days when it ran, else assumed.

use aws_sdk_cloudwatch::types::Statistic;
use serde::Serialize;

use super::metrics;
use crate::aws::Aws;
use crate::error::Result;

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
/// day's invocations; `None` when it did not run.
pub async fn measure(aws: &Aws, function: &str) -> Result<Option<Measured>> {
    let points = metrics::datapoints(
        aws,
        "AWS/Lambda",
        "Duration",
        &[("FunctionName", function)],
        &[Statistic::Average, Statistic::SampleCount],
    )
    .await?;
    let (total_ms, invocations) = points
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
