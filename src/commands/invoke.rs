//! `chatctl invoke HANDLER [--event FILE|-] [--sample NAME]`: one
//! synchronous invocation (`functions::invoke`); `--sample` alone lists the
//! bundled events.

use std::io::Read;

use serde_json::json;

use crate::aws::Aws;
use crate::cli::InvokeArgs;
use crate::config::Project;
use crate::error::{Error, Result};
use crate::functions::samples::{self, SAMPLES};
use crate::functions::{self, invoke, logs};
use crate::output::Report;
use crate::ui::Ui;

/// `--sample` alone: the bundled events.
pub fn samples() -> Report {
    let list: Vec<_> = SAMPLES
        .iter()
        .map(|s| json!({ "name": s.name, "handler": s.handler, "about": s.about }))
        .collect();
    Report::new(samples::listing(), json!(list))
}

pub async fn run(project: &Project, aws: &Aws, args: &InvokeArgs, ui: &Ui) -> Result<Report> {
    let (handler, event) = event(args, |handler| functions::known(project, handler))?;
    let outputs = crate::deploy::deployed_outputs(aws, project).await?;
    let deployed = functions::deployed(project, &outputs, std::slice::from_ref(&handler))?;
    let function = deployed
        .first()
        .ok_or_else(|| Error::usage(format!("there is no handler `{handler}`")))?;
    let invocation = invoke::invoke(aws, function, &event).await?;
    if !ui.is_quiet() {
        for line in invocation.log.lines() {
            eprintln!("{}", logs::printable(line));
        }
    }
    if let Some(failure) = invocation.failure() {
        return Err(failure);
    }
    let text = serde_json::to_string_pretty(&invocation.response).unwrap_or_default();
    Ok(Report::new(text, json!(invocation)))
}

/// The handler to invoke (checked by `known` before anything else) and
/// the event to send it.
fn event(
    args: &InvokeArgs,
    known: impl Fn(&str) -> Result<()>,
) -> Result<(String, serde_json::Value)> {
    let sample = match args.sample.as_deref() {
        Some(name) => Some(samples::find(name).ok_or_else(|| {
            Error::usage(format!("there is no sample `{name}`"))
                .with_hint("`chatctl invoke --sample` lists them")
        })?),
        None => None,
    };
    let handler = match (&args.handler, sample) {
        (Some(handler), Some(sample)) if sample.handler != handler => {
            return Err(Error::usage(format!(
                "the sample `{}` is an event for {}, not {handler}",
                sample.name, sample.handler
            )))
        }
        (Some(handler), _) => handler.clone(),
        (None, Some(sample)) => sample.handler.to_string(),
        (None, None) => {
            return Err(Error::usage("name the handler to invoke").with_hint(
                "`chatctl invoke HANDLER`, or `chatctl invoke --sample` for the samples",
            ))
        }
    };
    known(&handler)?;
    let text = match (&args.event, sample) {
        (Some(path), _) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Error::failed(format!("cannot read the event from stdin: {e}")))?;
            text
        }
        (Some(path), _) => std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?,
        (None, Some(sample)) => sample.event.to_string(),
        (None, None) => SAMPLES
            .iter()
            .find(|s| s.handler == handler)
            .map(|s| s.event.to_string())
            .ok_or_else(|| {
                Error::usage(format!("there is no sample event for {handler}"))
                    .with_hint("pass one with --event FILE")
            })?,
    };
    let event = serde_json::from_str(&text).map_err(|e| {
        Error::usage(format!("the event is not JSON: {e}"))
            .with_hint("pass a JSON document, as AWS would deliver it to the function")
    })?;
    Ok((handler, event))
}
