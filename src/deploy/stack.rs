//! The stack as CloudFormation sees it: state, outputs, and waiting for an
//! operation while its events stream to the user.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::{ResourceStatus, Stack, StackEvent, StackStatus};
use aws_sdk_cloudformation::Client;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::aws::aws_error;
use crate::deploy::poll::FailedPolls;
use crate::error::{Error, Result};
use crate::ui::Ui;

/// Whether CloudFormation answered that the stack does not exist. It has
/// no error code of its own for that: a `ValidationError` whose message
/// says so ("Stack with id NAME does not exist"), as the AWS CLI reads it.
pub fn names_a_missing_stack<E, R>(error: &aws_sdk_cloudformation::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_cloudformation::error::ProvideErrorMetadata,
{
    error.as_service_error().is_some_and(|e| {
        e.code() == Some("ValidationError")
            && e.message().is_some_and(|m| m.contains("does not exist"))
    })
}

/// Reads the stack; `None` when it does not exist.
pub async fn describe(cfn: &Client, name: &str) -> Result<Option<Stack>> {
    match cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => Ok(out.stacks().first().cloned()),
        Err(e) if names_a_missing_stack(&e) => Ok(None),
        Err(e) => Err(aws_error(&format!("reading stack {name}"), e)),
    }
}

/// The stack's outputs by key.
pub fn outputs(stack: &Stack) -> BTreeMap<String, String> {
    stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
        .collect()
}

pub fn status(stack: &Stack) -> StackStatus {
    stack
        .stack_status()
        .cloned()
        .unwrap_or_else(|| StackStatus::from("UNKNOWN"))
}

/// Whether another operation started on the stack between two reads: the
/// sign that a concurrent launch executed first.
pub fn changed_since(before: Option<&Stack>, now: Option<&Stack>) -> bool {
    match (before, now) {
        (_, Some(now))
            if in_progress(&status(now)) && status(now) != StackStatus::ReviewInProgress =>
        {
            true
        }
        (Some(before), Some(now)) => {
            before.last_updated_time() != now.last_updated_time() || status(before) != status(now)
        }
        (None, Some(now)) => status(now) != StackStatus::ReviewInProgress,
        _ => false,
    }
}

pub fn in_progress(status: &StackStatus) -> bool {
    status.as_str().ends_with("_IN_PROGRESS")
}

/// The id of the newest event, so a wait shows only what happens after it.
pub async fn newest_event_id(cfn: &Client, name: &str) -> Result<Option<String>> {
    match cfn.describe_stack_events().stack_name(name).send().await {
        Ok(out) => Ok(out
            .stack_events()
            .first()
            .and_then(|e| e.event_id())
            .map(str::to_string)),
        Err(_) => Ok(None), // a stack that does not exist yet has no events
    }
}

/// How long chatctl waits for one stack operation before giving up waiting
/// (the operation itself goes on in CloudFormation).
const WAIT_LIMIT: Duration = Duration::from_secs(60 * 60);

/// Waits until the stack leaves `*_IN_PROGRESS`, printing each new event once,
/// oldest first, with a bar of finished resources out of `total` on a
/// terminal. Returns the final status and the events seen, oldest first.
pub async fn wait(
    cfn: &Client,
    name: &str,
    after_event: Option<&str>,
    total: u64,
    ui: &Ui,
) -> Result<(StackStatus, Vec<StackEvent>)> {
    let bar = if ui.progress_bars() {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {pos}/{len} resources {wide_msg}")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(bar)
    } else {
        None
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut events = Vec::new();
    let deadline = Instant::now() + WAIT_LIMIT;
    let mut failed_polls = FailedPolls::default();
    loop {
        let polled = match new_events(cfn, name, after_event, &seen).await {
            Ok(fresh) => describe(cfn, name).await.map(|stack| (fresh, stack)),
            Err(e) => Err(e),
        };
        let (fresh, stack) = match polled {
            Ok(polled) => {
                failed_polls.succeeded();
                polled
            }
            Err(e) => {
                ui.detail(format!("reading stack {name} failed: {e}"));
                if failed_polls.retry().await {
                    continue;
                }
                return Err(e);
            }
        };
        for event in fresh {
            if let Some(id) = event.event_id() {
                seen.insert(id.to_string());
            }
            let line = describe_event(&event);
            let finished = event
                .resource_status()
                .is_some_and(|s| s.as_str().ends_with("_COMPLETE"))
                && event.logical_resource_id() != Some(name);
            match &bar {
                Some(bar) => {
                    bar.println(&line);
                    if finished {
                        bar.inc(1);
                    }
                }
                None => ui.info(&line),
            }
            events.push(event);
        }
        let status = match &stack {
            Some(stack) => status(stack),
            None => StackStatus::DeleteComplete,
        };
        if !in_progress(&status) {
            // One last read, so the final events are shown too.
            if let Ok(rest) = new_events(cfn, name, after_event, &seen).await {
                for event in rest {
                    match &bar {
                        Some(bar) => bar.println(describe_event(&event)),
                        None => ui.info(describe_event(&event)),
                    }
                    events.push(event);
                }
            }
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            return Ok((status, events));
        }
        if let Some(bar) = &bar {
            bar.set_message(status.as_str().to_string());
        }
        if Instant::now() > deadline {
            return Err(Error::failed(format!(
                "stack {name} is still {} after {} minutes; it goes on in CloudFormation: check `chatctl status`",
                status.as_str(),
                WAIT_LIMIT.as_secs() / 60
            )));
        }
        tokio::time::sleep(Duration::from_millis(if ui.progress_bars() {
            500
        } else {
            1000
        }))
        .await;
    }
}

/// Events newer than `after_event` not yet seen, oldest first.
async fn new_events(
    cfn: &Client,
    name: &str,
    after_event: Option<&str>,
    seen: &HashSet<String>,
) -> Result<Vec<StackEvent>> {
    let mut fresh = Vec::new();
    let mut pages = cfn
        .describe_stack_events()
        .stack_name(name)
        .into_paginator()
        .send();
    'pages: while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e) if names_a_missing_stack(&e) => break, // deleted: nothing more to read
            Err(e) => return Err(aws_error(&format!("reading events of stack {name}"), e)),
        };
        for event in page.stack_events() {
            let id = event.event_id().unwrap_or_default();
            if Some(id) == after_event || seen.contains(id) {
                break 'pages; // newest first: everything from here on is known
            }
            fresh.push(event.clone());
        }
    }
    fresh.reverse();
    Ok(fresh)
}

fn describe_event(event: &StackEvent) -> String {
    let status = event.resource_status().map(|s| s.as_str()).unwrap_or("?");
    let mut line = format!(
        "  {status:<28} {:<40} {}",
        event.resource_type().unwrap_or(""),
        event.logical_resource_id().unwrap_or("")
    );
    if let Some(reason) = event
        .resource_status_reason()
        .filter(|_| status.ends_with("FAILED"))
    {
        line.push_str(&format!(": {reason}"));
    }
    line
}

/// The first resource that failed, as `LogicalId (Type): reason`.
pub fn first_failure(events: &[StackEvent], stack: &str) -> Option<String> {
    let failed = |e: &&StackEvent| {
        matches!(
            e.resource_status(),
            Some(
                ResourceStatus::CreateFailed
                    | ResourceStatus::UpdateFailed
                    | ResourceStatus::DeleteFailed
            )
        )
    };
    let event = events
        .iter()
        .filter(failed)
        .find(|e| e.logical_resource_id() != Some(stack))
        .or_else(|| events.iter().find(failed))?;
    Some(format!(
        "{} ({}): {}",
        event.logical_resource_id().unwrap_or("?"),
        event.resource_type().unwrap_or("?"),
        event.resource_status_reason().unwrap_or("no reason given")
    ))
}

/// The findings of CloudFormation's pre-deployment validation, for a stack
/// event that only says "Validation failed ... Call DescribeEvents".
pub async fn validation_failures(cfn: &Client, name: &str) -> Vec<String> {
    let filter = aws_sdk_cloudformation::types::EventFilter::builder()
        .failed_events(true)
        .build();
    let Ok(out) = cfn
        .describe_events()
        .stack_name(name)
        .filters(filter)
        .send()
        .await
    else {
        return Vec::new();
    };
    out.operation_events()
        .iter()
        .filter(|e| e.logical_resource_id() != Some(name))
        .map(|e| {
            let reason = e
                .validation_status_reason()
                .or(e.resource_status_reason())
                .unwrap_or("no reason given");
            let check = e
                .validation_name()
                .map(|v| format!(" [{v}]"))
                .unwrap_or_default();
            format!(
                "{} ({}){check}: {reason}",
                e.logical_resource_id().unwrap_or("?"),
                e.resource_type().unwrap_or("?")
            )
        })
        .collect()
}

/// Deletes stack `name` and waits until CloudFormation is done; the first
/// failed resource and its reason when the stack is not `DELETE_COMPLETE`.
pub async fn delete_and_wait(cfn: &Client, name: &str, ui: &Ui) -> Result<()> {
    let after = newest_event_id(cfn, name).await?;
    cfn.delete_stack()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| aws_error(&format!("deleting stack {name}"), e))?;
    let (status, events) = wait(cfn, name, after.as_deref(), 1, ui).await?;
    if status.as_str() != "DELETE_COMPLETE" {
        let cause = first_failure(&events, name).unwrap_or_else(|| status.as_str().to_string());
        return Err(Error::failed(format!(
            "stack {name} was not deleted: {cause}. Run the command again to retry"
        )));
    }
    Ok(())
}
