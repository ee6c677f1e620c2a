//! `chatctl cost`: the monthly estimate (`cost::estimate`) as a table.

use serde_json::json;

use crate::aws::Aws;
use crate::cli::CostArgs;
use crate::config::Project;
use crate::cost::prices::PriceTable;
use crate::cost::{self, Source, Usage};
use crate::error::{Error, Result};
use crate::output::Report;

pub async fn run(project: &Project, aws: Option<&Aws>, args: &CostArgs) -> Result<Report> {
    let usage = usage(&project.config.cost, args)?;
    let table = match &args.prices {
        Some(path) => PriceTable::load(path)?,
        None => PriceTable::embedded(),
    };
    let source = match aws {
        Some(aws) => Source::Deployed(aws),
        None => Source::Plan,
    };
    let stack = cost::stack_of(project, source).await?;
    let estimate = cost::estimate(&stack, &usage, &table.prices);
    let currency = &table.currency;
    let mut text = format!(
        "{} per month ({} days), {} prices of {} ({}){}\n\n",
        project.stack_name(),
        cost::DAYS_PER_MONTH,
        table.region,
        table.taken,
        currency,
        if aws.is_none() {
            ", as configured"
        } else {
            ", as deployed"
        }
    );
    text.push_str(&format!(
        "{:<16} {:<42} {:>16} {:<10} {:>12}\n",
        "service", "driver", "quantity", "unit", currency
    ));
    for line in &estimate.lines {
        text.push_str(&format!(
            "{:<16} {:<42} {:>16.2} {:<10} {:>12.4}\n",
            line.service, line.driver, line.quantity, line.unit, line.monthly
        ));
    }
    text.push_str(&format!(
        "\ntotal: {:.2} {currency} a month ({:.2} of it fixed)\none more message in a room of {}: {:.8} {currency}\nno free tier counted; prices: {}\n",
        estimate.total,
        estimate.fixed,
        usage.room_size,
        estimate.one_message,
        table.source
    ));
    Ok(Report::new(
        text,
        json!({
            "stack": project.stack_name(),
            "plan": aws.is_none(),
            "usage": usage,
            "deployed": stack,
            "estimate": estimate,
            "prices": table,
        }),
    ))
}

/// The configuration's usage with the command line's overrides, each
/// checked: a negative or non-finite amount is a usage error.
fn usage(configured: &Usage, args: &CostArgs) -> Result<Usage> {
    let mut usage = configured.clone();
    let overrides = [
        (
            "--messages-per-day",
            args.messages_per_day,
            &mut usage.messages_per_day,
        ),
        ("--room-size", args.room_size, &mut usage.room_size),
        (
            "--people-per-day",
            args.people_per_day,
            &mut usage.people_per_day,
        ),
        (
            "--connected-hours-per-person",
            args.connected_hours_per_person,
            &mut usage.connected_hours_per_person,
        ),
        (
            "--joins-per-person",
            args.joins_per_person,
            &mut usage.joins_per_person,
        ),
        (
            "--page-views-per-day",
            args.page_views_per_day,
            &mut usage.page_views_per_day,
        ),
        (
            "--message-bytes",
            args.message_bytes,
            &mut usage.message_bytes,
        ),
    ];
    for (flag, value, field) in overrides {
        if let Some(value) = value {
            if !value.is_finite() || value < 0.0 {
                return Err(Error::usage(format!(
                    "{flag} {value}: give a number of zero or more"
                )));
            }
            *field = value;
        }
    }
    let values = serde_json::to_value(&usage).unwrap_or_default();
    if let Some((key, value)) = values
        .as_object()
        .into_iter()
        .flatten()
        .find(|(_, v)| v.as_f64().is_none_or(|v| v < 0.0))
    {
        return Err(Error::usage(format!(
            "cost.{key} is {value} in the configuration: give a number of zero or more"
        )));
    }
    Ok(usage)
}
