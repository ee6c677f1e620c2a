//! `chatctl update-code` and `chatctl update-site`: the fast inner loop.

use serde_json::json;

use crate::aws::Aws;
use crate::cli::{UpdateCodeArgs, UpdateSiteArgs};
use crate::config::Project;
use crate::deploy::checkpoint::Checkpoint;
use crate::deploy::{self, artifacts, code};
use crate::error::Result;
use crate::local::Browser;
use crate::output::Report;
use crate::ui::Ui;

pub async fn code(project: &Project, aws: &Aws, args: &UpdateCodeArgs, ui: &Ui) -> Result<Report> {
    let result = code::update_code(project, aws, &args.handlers, ui).await?;
    let mut text = String::new();
    for function in &result.functions {
        let what = if function.updated {
            "updated"
        } else {
            "unchanged"
        };
        text.push_str(&format!(
            "{:<12} {what:<9} {}\n",
            function.handler, function.function
        ));
    }
    if result.functions.iter().all(|f| !f.updated) {
        text.push_str("the deployed code is up to date\n");
    }
    Ok(Report::new(
        text,
        serde_json::to_value(&result).unwrap_or_default(),
    ))
}

pub async fn site(
    project: &Project,
    aws: &Aws,
    browser: &Browser,
    args: &UpdateSiteArgs,
    checkpoint: &Checkpoint,
    ui: &Ui,
) -> Result<Report> {
    let identity = aws.identity().await?;
    let outputs = browser.outputs(deploy::deployed_outputs(aws, project).await?);
    let artifact_bucket = artifacts::bucket_name(&identity, &project.stack_name());
    let (report, invalidated) = deploy::publish_site(
        project,
        aws,
        &outputs,
        &artifact_bucket,
        args.wait,
        checkpoint,
        ui,
    )
    .await?;
    let text = if report.uploaded.is_empty() && report.deleted.is_empty() && invalidated.is_empty()
    {
        "the site is up to date\n".to_string()
    } else {
        format!(
            "site: {} uploaded, {} deleted, {} unchanged; invalidated {}\n",
            report.uploaded.len(),
            report.deleted.len(),
            report.unchanged,
            invalidated.join(" ")
        )
    };
    Ok(Report::new(
        text,
        json!({ "site": report, "invalidated": invalidated }),
    ))
}
