//! `chatctl status`: the stack's state, newest events, and whether the
//! deployed code is the local build (`deploy::status`).

use serde_json::json;

use crate::aws::Aws;
use crate::config::Project;
use crate::deploy::status;
use crate::error::Result;
use crate::output::Report;

pub async fn run(project: &Project, aws: &Aws) -> Result<Report> {
    let Some(state) = status::read(project, aws).await? else {
        let name = project.stack_name();
        return Ok(Report::new(
            format!("stack {name} is not deployed: `chatctl launch` creates it\n"),
            json!({ "stack": name, "status": "NOT_DEPLOYED" }),
        ));
    };
    let mut text = format!(
        "stack   {}\nstatus  {}\nupdated {}\n",
        state.stack, state.status, state.updated
    );
    text.push_str("\nnewest events:\n");
    for event in &state.events {
        text.push_str(&format!(
            "  {}  {:<28} {}\n",
            event.time.as_deref().unwrap_or(""),
            event.status.as_deref().unwrap_or(""),
            event.logical_id.as_deref().unwrap_or("")
        ));
    }
    text.push_str("\ncode:\n");
    for (handler, code) in &state.code {
        let verdict = match &code.local_sha256 {
            None => "no local build",
            Some(_) if code.matches => "matches the local build",
            Some(_) => "differs from the local build",
        };
        text.push_str(&format!("  {handler:<12} {verdict}\n"));
    }
    Ok(Report::new(
        text,
        serde_json::to_value(&state).unwrap_or_default(),
    ))
}
