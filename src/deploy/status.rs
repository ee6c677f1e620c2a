//! `chatctl status`'s reading: the stack's state, its newest events, and
//! whether each deployed function's code is the last local build (read
//! from the build manifest, never by building).

use std::collections::BTreeMap;

use crate::aws::{aws_error, Aws};
use crate::build::{cargo, Manifest};
use crate::config::Project;
use crate::deploy::stack;
use crate::error::Result;
use crate::handlers;

/// How many of the newest stack events are shown.
const EVENTS_SHOWN: usize = 10;

/// A deployed stack's state (`--output json` prints it as it is).
#[derive(Debug, Clone, serde::Serialize)]
pub struct StackState {
    pub stack: String,
    pub status: String,
    pub updated: String,
    pub events: Vec<Event>,
    /// By handler name.
    pub code: BTreeMap<String, Code>,
}

/// One stack event, newest first.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Event {
    pub time: Option<String>,
    pub logical_id: Option<String>,
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    pub status: Option<String>,
    pub reason: Option<String>,
}

/// A function's deployed code against the last local build.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Code {
    pub function: String,
    pub deployed_sha256: String,
    pub local_sha256: Option<String>,
    pub matches: bool,
}

/// The project's stack as it stands; `None` when it is not deployed.
pub async fn read(project: &Project, aws: &Aws) -> Result<Option<StackState>> {
    let name = project.stack_name();
    let cfn = aws.cloudformation();
    let Some(found) = stack::describe(&cfn, &name).await? else {
        return Ok(None);
    };
    let updated = found
        .last_updated_time()
        .or(found.creation_time())
        .map(|t| t.to_string())
        .unwrap_or_default();
    let events = cfn
        .describe_stack_events()
        .stack_name(&name)
        .send()
        .await
        .map_err(|e| aws_error(&format!("reading events of {name}"), e))?;
    let events = events
        .stack_events()
        .iter()
        .take(EVENTS_SHOWN)
        .map(|e| Event {
            time: e.timestamp().map(|t| t.to_string()),
            logical_id: e.logical_resource_id().map(str::to_string),
            resource_type: e.resource_type().map(str::to_string),
            status: e.resource_status().map(|s| s.as_str().to_string()),
            reason: e.resource_status_reason().map(str::to_string),
        })
        .collect();

    // Deployed code against the last local build, without building.
    let outputs = stack::outputs(&found);
    let crates = handlers::discover(&project.handlers_dir()).unwrap_or_default();
    let manifest = crates
        .first()
        .and_then(|first| cargo::metadata(&first.dir).ok())
        .map(|ws| {
            let arch = project.config.architecture;
            Manifest::read_or_new(
                &ws.target_dir
                    .join("chatctl")
                    .join(arch.lambda_name())
                    .join("manifest.json"),
                arch,
            )
        });
    let mut code = BTreeMap::new();
    for handler_crate in &crates {
        let Some(function) = outputs.get(&format!("{}FunctionName", handler_crate.logical_name()))
        else {
            continue;
        };
        let deployed = crate::functions::configuration(aws, function).await?;
        let deployed_sha256 = deployed.code_sha256().unwrap_or_default().to_string();
        let local_sha256 = manifest
            .as_ref()
            .and_then(|m| m.handlers.get(&handler_crate.name))
            .map(|h| h.code_sha256.clone());
        code.insert(
            handler_crate.name.clone(),
            Code {
                function: function.clone(),
                matches: local_sha256.as_deref() == Some(deployed_sha256.as_str()),
                deployed_sha256,
                local_sha256,
            },
        );
    }
    Ok(Some(StackState {
        stack: name,
        status: stack::status(&found).as_str().to_string(),
        updated,
        events,
        code,
    }))
}
