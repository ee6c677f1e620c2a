//! `chatctl status`: the stack's state, newest events, and whether the
//! deployed code is the local build.

use serde_json::json;

use crate::aws::{aws_error, Aws};
use crate::build::{cargo, Manifest};
use crate::config::Project;
use crate::deploy::stack;
use crate::error::Result;
use crate::handlers;
use crate::output::Report;

const EVENTS_SHOWN: usize = 10;

pub async fn run(project: &Project, aws: &Aws) -> Result<Report> {
    let name = project.stack_name();
    let cfn = aws.cloudformation();
    let Some(found) = stack::describe(&cfn, &name).await? else {
        return Ok(Report::new(
            format!("stack {name} is not deployed: `chatctl launch` creates it\n"),
            json!({ "stack": name, "status": "NOT_DEPLOYED" }),
        ));
    };
    let status = stack::status(&found);
    let updated = found
        .last_updated_time()
        .or(found.creation_time())
        .map(|t| t.to_string())
        .unwrap_or_default();
    let mut text = format!(
        "stack   {name}\nstatus  {}\nupdated {updated}\n",
        status.as_str()
    );

    let events = cfn
        .describe_stack_events()
        .stack_name(&name)
        .send()
        .await
        .map_err(|e| aws_error(&format!("reading events of {name}"), e))?;
    let newest: Vec<serde_json::Value> = events
        .stack_events()
        .iter()
        .take(EVENTS_SHOWN)
        .map(|e| {
            json!({
                "time": e.timestamp().map(|t| t.to_string()),
                "logical_id": e.logical_resource_id(),
                "type": e.resource_type(),
                "status": e.resource_status().map(|s| s.as_str()),
                "reason": e.resource_status_reason(),
            })
        })
        .collect();
    text.push_str("\nnewest events:\n");
    for event in &newest {
        text.push_str(&format!(
            "  {}  {:<28} {}\n",
            event["time"].as_str().unwrap_or(""),
            event["status"].as_str().unwrap_or(""),
            event["logical_id"].as_str().unwrap_or("")
        ));
    }

    // Deployed code against the last local build, without building.
    let outputs = aws.browser_outputs(stack::outputs(&found));
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
    let lambda = aws.lambda();
    let mut code = serde_json::Map::new();
    text.push_str("\ncode:\n");
    for handler_crate in &crates {
        let handler = handler_crate.name.clone();
        let Some(function) = outputs.get(&format!("{}FunctionName", handler_crate.logical_name()))
        else {
            continue;
        };
        let deployed = lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .map_err(|e| aws_error(&format!("reading function {function}"), e))?;
        let deployed_sha = deployed.code_sha256().unwrap_or_default().to_string();
        let local = manifest
            .as_ref()
            .and_then(|m| m.handlers.get(&handler))
            .map(|h| h.code_sha256.clone());
        let verdict = match &local {
            None => "no local build",
            Some(local) if *local == deployed_sha => "matches the local build",
            Some(_) => "differs from the local build",
        };
        text.push_str(&format!("  {handler:<12} {verdict}\n"));
        code.insert(handler, json!({ "function": function, "deployed_sha256": deployed_sha, "local_sha256": local, "matches": local.as_deref() == Some(deployed_sha.as_str()) }));
    }
    Ok(Report::new(
        text,
        json!({ "stack": name, "status": status.as_str(), "updated": updated, "events": newest, "code": code }),
    ))
}
