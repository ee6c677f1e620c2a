//! The stack `cost` prices: its functions' memory and measured durations
//! as deployed (or, with `--plan`, the memory configured), and what the
//! configuration and the site say.

use std::collections::BTreeMap;

use super::{durations, Stack};
use crate::aws::Aws;
use crate::config::Project;
use crate::error::{Error, Result};
use crate::handlers;

/// Where the functions' memory comes from.
pub enum Source<'a> {
    /// The configuration (`--plan`): nothing needs to be deployed.
    Plan,
    /// The deployed functions.
    Deployed(&'a Aws),
}

/// The files a page view loads (`config.json` is written by chatctl, about
/// 300 bytes).
const PAGE_FILES: [&str; 3] = ["index.html", "app.js", "style.css"];
const CONFIG_JSON_BYTES: u64 = 300;

pub async fn stack_of(project: &Project, source: Source<'_>) -> Result<Stack> {
    let config = &project.config;
    let mut memory_mb = BTreeMap::new();
    let mut measured = BTreeMap::new();
    match source {
        Source::Plan => {
            for handler in handlers::discover(&project.handlers_dir())? {
                memory_mb.insert(handler.name, config.handlers.memory_mb.0);
            }
        }
        Source::Deployed(aws) => {
            let outputs = crate::deploy::deployed_outputs(aws, project)
                .await
                .map_err(|e| match e {
                    // Not deployed (yet, or here): the estimate needs no stack.
                    Error::Failed { hint: None, .. } => e.with_hint(
                        "`chatctl cost --plan` prices the configuration without a stack",
                    ),
                    other => other,
                })?;
            for function in crate::functions::deployed(project, &outputs, &[])? {
                let deployed = crate::functions::configuration(aws, &function.function).await?;
                let memory = deployed
                    .memory_size()
                    .and_then(|mb| u32::try_from(mb).ok())
                    .unwrap_or(config.handlers.memory_mb.0);
                if let Some(duration) = durations::measure(aws, &function.function).await? {
                    measured.insert(function.handler.clone(), duration);
                }
                memory_mb.insert(function.handler, memory);
            }
        }
    }
    let site = project.site_dir();
    let page_bytes = PAGE_FILES
        .iter()
        .filter_map(|file| std::fs::metadata(site.join(file)).ok())
        .map(|metadata| metadata.len())
        .sum::<u64>()
        + CONFIG_JSON_BYTES;
    Ok(Stack {
        architecture: config.architecture,
        memory_mb,
        history_length: config.chat.history_length.0,
        message_retention_days: config.chat.message_retention_days.0,
        log_retention_days: config.handlers.log_retention_days.0,
        page_bytes,
        waf: config.protection.waf,
        measured,
    })
}
