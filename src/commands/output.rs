//! `chatctl output [KEY] [--format env]`: the stack's outputs.

use std::collections::BTreeMap;

use serde_json::json;

use crate::aws::Aws;
use crate::cli::{OutputArgs, OutputsFormat};
use crate::config::Project;
use crate::error::{Error, Result};
use crate::local::Browser;
use crate::output::Report;

/// Outputs people look for first come first.
const FIRST: &[&str] = &["SiteUrl", "WebSocketUrl", "HttpApiUrl"];

/// Outputs in display order: the site URL first, then the rest by name.
pub fn ordered(outputs: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
    let mut rows: Vec<(&str, &str)> = FIRST
        .iter()
        .filter_map(|key| outputs.get_key_value(*key))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    rows.extend(
        outputs
            .iter()
            .filter(|(k, _)| !FIRST.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    rows
}

pub fn outputs_table(outputs: &BTreeMap<String, String>) -> String {
    let width = outputs.keys().map(String::len).max().unwrap_or(0);
    ordered(outputs)
        .into_iter()
        .map(|(key, value)| format!("{key:<width$}  {value}\n"))
        .collect()
}

pub async fn run(
    project: &Project,
    aws: &Aws,
    browser: &Browser,
    args: &OutputArgs,
) -> Result<Report> {
    let name = project.stack_name();
    let outputs = browser.outputs(crate::deploy::deployed_outputs(aws, project).await?);
    if let Some(key) = &args.key {
        let value = outputs.get(key).ok_or_else(|| {
            let known: Vec<&str> = ordered(&outputs).into_iter().map(|(k, _)| k).collect();
            Error::usage(format!(
                "stack {name} has no output `{key}`; it has {}",
                known.join(", ")
            ))
        })?;
        return Ok(Report::new(value.clone(), json!({ key.as_str(): value })));
    }
    let text = match args.format {
        Some(OutputsFormat::Env) => ordered(&outputs)
            .into_iter()
            .map(|(key, value)| format!("{key}={value}\n"))
            .collect(),
        None => outputs_table(&outputs),
    };
    let json: serde_json::Map<String, serde_json::Value> = ordered(&outputs)
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    Ok(Report::new(text, serde_json::Value::Object(json)))
}
