//! `chatctl logs [HANDLER...] [--since D] [--follow] [--filter P]`: the
//! functions' log lines (`functions::logs`).

use std::io::IsTerminal;

use serde_json::json;

use crate::aws::Aws;
use crate::cli::LogsArgs;
use crate::config::Project;
use crate::deploy::checkpoint::{Checkpoint, Stage};
use crate::error::{Error, Result};
use crate::functions::logs::{self, LogsOptions};
use crate::functions::{self, Deployed};
use crate::output::{Format, Report};

pub async fn run(
    project: &Project,
    aws: &Aws,
    args: &LogsArgs,
    format: Format,
    checkpoint: &Checkpoint,
) -> Result<Report> {
    let outputs = crate::deploy::deployed_outputs(aws, project).await?;
    let functions = functions::deployed(project, &outputs, &args.handlers)?;
    let options = LogsOptions {
        since: args.since,
        filter: args.filter.clone(),
    };
    let width = name_width(&functions);
    let colour = colour();
    if args.follow {
        checkpoint.set(Stage::Following);
        logs::follow(aws, &functions, &options, |line| {
            let text = match format {
                Format::Json => json!(line).to_string(),
                Format::Text => logs::text_line(line, width, colour),
            };
            crate::output::stream_line(&text);
        })
        .await?;
        return Err(Error::failed("the log stream ended"));
    }
    let lines = logs::read(aws, &functions, &options).await?;
    let text: String = lines
        .iter()
        .map(|line| logs::text_line(line, width, colour) + "\n")
        .collect();
    Ok(Report::new(text, json!(lines)))
}

fn name_width(functions: &[Deployed]) -> usize {
    functions.iter().map(|f| f.handler.len()).max().unwrap_or(0)
}

/// Handler names are coloured only at a terminal, and never with
/// `NO_COLOR` set or in CI: no control characters reach a log file.
fn colour() -> bool {
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none()
        && std::env::var_os("CI").is_none()
}
