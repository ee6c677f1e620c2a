//! `chatctl launch`.

use crate::aws::Aws;
use crate::cli::LaunchArgs;
use crate::config::Project;
use crate::deploy::checkpoint::Checkpoint;
use crate::deploy::{self, changeset, LaunchOptions};
use crate::error::Result;
use crate::local::Browser;
use crate::output::Report;
use crate::ui::Ui;

pub async fn run(
    project: &Project,
    aws: &Aws,
    browser: Browser,
    args: &LaunchArgs,
    checkpoint: &Checkpoint,
    ui: &Ui,
) -> Result<Report> {
    let options = LaunchOptions {
        preview: args.preview,
        allow_replace: args.allow_replace,
        wait: args.wait,
        browser,
        checkpoint: checkpoint.clone(),
    };
    let result = deploy::launch(project, aws, ui, &options).await?;
    let json = serde_json::to_value(&result).unwrap_or_default();
    if result.preview_only {
        let text = format!(
            "preview of {} (nothing was deployed):\n{}",
            result.stack,
            changeset::summary(&result.changes)
        );
        return Ok(Report::new(text, json));
    }
    let mut text = String::new();
    if let Browser::Local(local) = &options.browser {
        let origin_verify = deploy::origin::origin_secret(aws, &result.outputs).await?;
        crate::local::start_site(
            local,
            &result.stack,
            &result.outputs,
            origin_verify.as_deref(),
        )?;
    }
    if result.up_to_date() {
        text.push_str(&format!(
            "{} is up to date: nothing was changed\n",
            result.stack
        ));
    }
    text.push_str(&super::output::outputs_table(&result.outputs));
    if let Some(first) = result.dns_records.first() {
        text.push_str(&format!(
            "\nto serve the chat at https://{}, create at your DNS provider either the CNAME or (Route 53) the two alias records:\n",
            first.name
        ));
        for record in &result.dns_records {
            let zone = record
                .alias_hosted_zone_id
                .as_deref()
                .map(|zone| format!(" (alias, hosted zone {zone})"))
                .unwrap_or_default();
            text.push_str(&format!(
                "  {} {:<5} {}{zone}\n",
                record.name, record.kind, record.value
            ));
        }
    }
    Ok(Report::new(text, json))
}
