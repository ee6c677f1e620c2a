//! Reading CloudWatch metrics of the last 7 days, a datapoint a day.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Datapoint, Dimension, Statistic};

use crate::aws::{aws_error, Aws};
use crate::error::Result;

/// The window read, in days, and the period of each datapoint.
pub const WINDOW_DAYS: u64 = 7;
const PERIOD_SECONDS: i32 = 24 * 3600;

/// One metric's daily datapoints over the window. Needs
/// `cloudwatch:GetMetricStatistics`.
pub async fn datapoints(
    aws: &Aws,
    namespace: &str,
    metric: &str,
    dimensions: &[(&str, &str)],
    statistics: &[Statistic],
) -> Result<Vec<Datapoint>> {
    let end = SystemTime::now();
    let start = end - Duration::from_secs(WINDOW_DAYS * 24 * 3600);
    let mut request = aws
        .metrics()
        .get_metric_statistics()
        .namespace(namespace)
        .metric_name(metric)
        .start_time(DateTime::from(start))
        .end_time(DateTime::from(end))
        .period(PERIOD_SECONDS);
    for (name, value) in dimensions {
        request = request.dimensions(Dimension::builder().name(*name).value(*value).build());
    }
    for statistic in statistics {
        request = request.statistics(statistic.clone());
    }
    let answer = request.send().await.map_err(|e| {
        let of = dimensions
            .iter()
            .map(|(_, value)| *value)
            .collect::<Vec<_>>()
            .join(" ");
        aws_error(
            &format!("reading the {namespace} {metric} metric of {of}"),
            e,
        )
    })?;
    Ok(answer.datapoints().to_vec())
}

/// A metric's sum over the window.
pub async fn sum(
    aws: &Aws,
    namespace: &str,
    metric: &str,
    dimensions: &[(&str, &str)],
) -> Result<f64> {
    Ok(
        datapoints(aws, namespace, metric, dimensions, &[Statistic::Sum])
            .await?
            .iter()
            .filter_map(Datapoint::sum)
            .sum(),
    )
}
