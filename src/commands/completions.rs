//! `chatctl completions SHELL`: shell completion scripts generated from the CLI definition.

use clap::CommandFactory;
use serde_json::json;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Error, Result};
use crate::output::Report;

pub fn run(args: &CompletionsArgs) -> Result<Report> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "chatctl", &mut script);
    let script = String::from_utf8(script)
        .map_err(|e| Error::failed(format!("completion script is not UTF-8: {e}")))?;
    Ok(Report::new(
        script.clone(),
        json!({ "shell": args.shell.to_string(), "script": script }),
    ))
}
