//! `chatctl cost`: the monthly estimate (`cost::estimate`) as a table.

use serde_json::json;

use crate::aws::Aws;
use crate::cli::CostArgs;
use crate::config::Project;
use crate::cost::prices::PriceTable;
use crate::cost::{self, durations, free_tier, Source, Usage};
use crate::error::{Error, Result};
use crate::output::Report;

pub async fn run(
    project: &Project,
    aws: Option<&Aws>,
    region: Option<&str>,
    args: &CostArgs,
) -> Result<Report> {
    let usage = usage(&project.config.cost, args)?;
    let (table, region_note) = match &args.prices {
        Some(path) => (PriceTable::load(path)?, String::new()),
        None => embedded(region),
    };
    let source = match aws {
        Some(aws) => Source::Deployed(aws),
        None => Source::Plan,
    };
    let stack = cost::stack_of(project, source).await?;
    let estimate = cost::estimate(&stack, &usage, &table.prices);
    let free = match (&table.free_tier, args.free_tier) {
        (_, false) => None,
        (Some(free), true) => Some(free_tier::apply(&estimate, free)),
        (None, true) => {
            return Err(Error::usage(
                "--free-tier: the price table has no `free_tier` allowances",
            )
            .with_hint(
                "copy `free_tier` from `chatctl cost --plan --output json`'s `prices` into the file, or leave out --free-tier",
            ))
        }
    };
    let observed = match aws {
        Some(aws) if args.observed => {
            Some(cost::observed::observe(aws, project, &stack, &table.prices).await?)
        }
        _ => None,
    };
    let currency = &table.currency;
    let mut text = format!(
        "{} per month ({} days), {} prices of {} ({}){}\n{region_note}\n",
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
        text.push_str(&row(line));
    }
    text.push_str(&format!(
        "\ntotal: {:.2} {currency} a month ({:.2} of it fixed)\none more message in a room of {}: {:.8} {currency}\n{}\n",
        estimate.total,
        estimate.fixed,
        usage.room_size,
        estimate.one_message,
        durations_line(&stack),
    ));
    match &free {
        None => text.push_str(&format!(
            "no free tier counted (--free-tier shows it); prices: {}\n",
            table.source
        )),
        Some(free) => {
            text.push_str("\nthe always-free tier, if nothing else in the account uses it:\n");
            for deduction in &free.deductions {
                text.push_str(&format!(
                    "{:<28} {:>16.2} of {:>14.0} free {:>12.4}\n",
                    deduction.allowance,
                    deduction.used,
                    deduction.free,
                    // Not `-0.0000` for an allowance nothing used.
                    if deduction.saved > 0.0 {
                        -deduction.saved
                    } else {
                        0.0
                    }
                ));
            }
            text.push_str(&format!(
                "total after the free tier: {:.2} {currency} a month\nprices: {}\nfree tier: {}\n",
                free.total, table.source, free.source
            ));
        }
    }
    if let Some(observed) = &observed {
        text.push_str(&format!(
            "\nobserved by CloudWatch over the last {} days, as {} days:\n",
            observed.days,
            cost::DAYS_PER_MONTH
        ));
        for line in &observed.lines {
            text.push_str(&row(line));
        }
        text.push_str(&format!(
            "observed total: {:.2} {currency} a month, without what CloudWatch does not count: {}\n",
            observed.total,
            observed.not_observed.join("; ")
        ));
    }
    Ok(Report::new(
        text,
        json!({
            "stack": project.stack_name(),
            "plan": aws.is_none(),
            "region": region,
            "usage": usage,
            "deployed": stack,
            "estimate": estimate,
            "free_tier": free,
            "observed": observed,
            "prices": table,
        }),
    ))
}

/// One priced line of the table.
fn row(line: &cost::Line) -> String {
    format!(
        "{:<16} {:<42} {:>16.2} {:<10} {:>12.4}\n",
        line.service, line.driver, line.quantity, line.unit, line.monthly
    )
}

/// The embedded table for the stack's region, or us-east-1's with a line
/// saying there is none for it.
fn embedded(region: Option<&str>) -> (PriceTable, String) {
    let (table, exact) = PriceTable::embedded_for(region.unwrap_or("us-east-1"));
    let note = match (region, exact) {
        (Some(region), false) => format!(
            "no price table is embedded for {region} (only {}): these are {}'s; give --prices FILE with {region}'s\n",
            PriceTable::embedded_regions().collect::<Vec<_>>().join(", "),
            table.region
        ),
        (None, _) => format!("no region set: priced at {}'s\n", table.region),
        _ => String::new(),
    };
    (table, note)
}

/// Each function's duration a call, and where it comes from.
fn durations_line(stack: &cost::Stack) -> String {
    let each: Vec<String> = stack
        .memory_mb
        .keys()
        .map(|handler| match stack.measured.get(handler) {
            Some(m) => format!(
                "{handler} {:.1} ms (measured, {} calls)",
                m.mean_ms, m.invocations
            ),
            None if handler == "fanout" => format!(
                "{handler} {} ms + 1 ms a post (assumed)",
                durations::assumed_ms(handler, 0.0)
            ),
            None => format!(
                "{handler} {} ms (assumed)",
                durations::assumed_ms(handler, 0.0)
            ),
        })
        .collect();
    format!("Lambda duration a call: {}", each.join(", "))
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
