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
    let vapid_public_key = super::vapid::ensure(aws, &project.stack_name()).await?;
    let config_json = site_config(project, outputs, &vapid_public_key);
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

/// `config.json` for the site: what `static/app.js` reads (the WebSocket
/// URL, the room to open, the largest message and the edit window, from
/// the configuration and `chat_limits`, and the VAPID public key to
/// subscribe to notifications with), and the HTTP API's own URL for other
/// clients (the page posts through the site's `/api`).
pub fn site_config(
    project: &Project,
    outputs: &BTreeMap<String, String>,
    vapid_public_key: &str,
) -> Vec<u8> {
    let chat = &project.config.chat;
    let config = json!({
        "websocketUrl": outputs.get("WebSocketUrl"),
        "httpApiUrl": outputs.get("HttpApiUrl"),
        "defaultRoom": "general",
        "maxMessageBytes": chat.max_message_bytes.0,
        "editWindowSeconds": chat_limits::EDIT_WINDOW_SECONDS,
        "vapidPublicKey": vapid_public_key,
        // With sign-in on, the page signs people in through /api/auth/.
        "signIn": project.config.auth.is_some(),
    });
    let mut text = serde_json::to_vec_pretty(&config).unwrap_or_default();
    text.push(b'\n');
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The keys `static/app.js` reads from `config.json` (`state.config.KEY`).
    fn read_by_the_page() -> BTreeSet<String> {
        let app = include_str!("../../static/app.js");
        app.split("state.config.")
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn config_json_carries_what_the_page_reads_and_the_apis_url() {
        let project = crate::config::Project {
            config: serde_yaml::from_str("app: chat").expect("config"),
            root: ".".into(),
            stage: crate::config::Name::parse("dev").expect("stage"),
        };
        let outputs = [("WebSocketUrl", "wss://w"), ("HttpApiUrl", "https://h")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let config: serde_json::Value =
            serde_json::from_slice(&super::site_config(&project, &outputs, "BPub")).expect("json");
        let mut written: BTreeSet<String> = config
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        assert!(
            written.remove("httpApiUrl"),
            "for clients other than the page"
        );
        assert_eq!(written, read_by_the_page());
        assert_eq!(
            config["editWindowSeconds"],
            chat_limits::EDIT_WINDOW_SECONDS
        );
    }
}
