//! The site's half of a launch, and all of `update-site`: the files and
//! `config.json` synced, and what changed invalidated.

use std::collections::BTreeMap;

use serde_json::json;

use super::checkpoint::{self, Stage};
use super::{invalidation, output};
use crate::aws::Aws;
use crate::config::Project;
use crate::error::Result;
use crate::site::{self, SyncReport};
use crate::ui::Ui;

/// Syncs the site and `config.json`, then invalidates what changed (and
/// what an earlier run left pending in the artifact bucket): the end of
/// `launch`, and all of `update-site`.
pub async fn publish_site(
    project: &Project,
    aws: &Aws,
    outputs: &BTreeMap<String, String>,
    artifact_bucket: &str,
    wait: bool,
    checkpoint: &checkpoint::Checkpoint,
    ui: &Ui,
) -> Result<(SyncReport, Vec<String>)> {
    checkpoint.set(Stage::SyncingSite);
    let site_bucket = output(outputs, "SiteBucketName")?;
    let config_json = site_config(project, outputs);
    let report = site::sync(&aws.s3(), &site_bucket, &project.site_dir(), &config_json).await?;
    if !report.uploaded.is_empty() || !report.deleted.is_empty() {
        ui.info(format!(
            "site: {} uploaded, {} deleted, {} unchanged",
            report.uploaded.len(),
            report.deleted.len(),
            report.unchanged
        ));
    }
    let distribution = output(outputs, "DistributionId")?;
    checkpoint.set(Stage::Invalidating);
    let invalidated = invalidation::invalidate_remembered(
        aws,
        artifact_bucket,
        &distribution,
        report.changed_paths(),
        wait,
        ui,
    )
    .await?;
    Ok((report, invalidated))
}

/// `config.json` for the site: endpoints from the stack, limits from the configuration.
pub fn site_config(project: &Project, outputs: &BTreeMap<String, String>) -> Vec<u8> {
    let chat = &project.config.chat;
    let config = json!({
        "websocketUrl": outputs.get("WebSocketUrl"),
        "httpApiUrl": outputs.get("HttpApiUrl"),
        "apiPath": "/api",
        "defaultRoom": "general",
        "maxMessageBytes": chat.max_message_bytes.0,
        "historyLength": chat.history_length.0,
        "rateLimit": {"messages": chat.rate_limit.messages.0, "perSeconds": chat.rate_limit.per_seconds.0},
    });
    let mut text = serde_json::to_vec_pretty(&config).unwrap_or_default();
    text.push(b'\n');
    text
}
