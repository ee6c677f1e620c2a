//! `chatctl build [HANDLER...] [--arch]`.

use serde_json::json;

use crate::build;
use crate::cli::BuildArgs;
use crate::config::{Architecture, Project};
use crate::error::Result;
use crate::output::Report;
use crate::ui::Ui;

pub fn run(project: &Project, args: &BuildArgs, ui: &Ui) -> Result<Report> {
    let architecture = args
        .arch
        .map(Architecture::from)
        .unwrap_or(project.config.architecture);
    let result = build::build(project, &args.handlers, architecture, ui)?;
    let mut text = String::new();
    for (name, rewritten) in &result.built {
        if let Some(handler) = result.manifest.handlers.get(name) {
            text.push_str(&format!(
                "{name:<12} {:>9} bytes  sha256 {}  {}{}\n",
                handler.size,
                handler.sha256,
                handler.zip.display(),
                if *rewritten { "" } else { "  (unchanged)" }
            ));
        }
    }
    text.push_str(&format!("manifest: {}\n", result.manifest_path.display()));
    let handlers: serde_json::Map<String, serde_json::Value> = result
        .built
        .iter()
        .filter_map(|(name, rewritten)| {
            let handler = result.manifest.handlers.get(name)?;
            let mut value = serde_json::to_value(handler).ok()?;
            value["rewritten"] = json!(rewritten);
            Some((name.clone(), value))
        })
        .collect();
    Ok(Report::new(
        text,
        json!({
            "architecture": architecture.lambda_name(),
            "manifest": result.manifest_path.display().to_string(),
            "handlers": handlers,
        }),
    ))
}
