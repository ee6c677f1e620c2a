//! CloudFront invalidations: exactly the paths a site sync changed.

use std::time::{Duration, Instant};

use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};

use crate::aws::{aws_error, Aws};
use crate::build;
use crate::deploy::poll::FailedPolls;
use crate::error::{Error, Result};
use crate::ui::Ui;

/// More changed paths than this become one `/*` invalidation.
const MAX_INVALIDATION_PATHS: usize = 15;

/// Polls until CloudFront reports the invalidation completed (minutes on AWS).
async fn wait_for_invalidation(
    cloudfront: &aws_sdk_cloudfront::Client,
    distribution: &str,
    id: &str,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15 * 60);
    let mut failed_polls = FailedPolls::default();
    loop {
        match cloudfront
            .get_invalidation()
            .distribution_id(distribution)
            .id(id)
            .send()
            .await
        {
            Ok(found) => {
                failed_polls.succeeded();
                if found.invalidation().map(|i| i.status()) == Some("Completed") {
                    return Ok(());
                }
            }
            Err(e) => {
                if !failed_polls.retry().await {
                    return Err(aws_error(&format!("waiting for invalidation {id}"), e));
                }
                continue;
            }
        }
        if Instant::now() > deadline {
            return Err(Error::Failed(format!(
                "invalidation {id} was not complete after 15 minutes; it goes on in CloudFront"
            )));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Invalidates exactly the changed paths (one wildcard when there are many).
pub async fn invalidate(
    aws: &Aws,
    distribution: &str,
    mut paths: Vec<String>,
    wait: bool,
    ui: &Ui,
) -> Result<Vec<String>> {
    if paths.len() > MAX_INVALIDATION_PATHS {
        paths = vec!["/*".to_string()];
    }
    let cloudfront = aws.cloudfront();
    let reference = build::package::sha256_hex(
        format!("{distribution}{paths:?}{:?}", std::time::SystemTime::now()).as_bytes(),
    );
    let batch = InvalidationBatch::builder()
        .caller_reference(reference)
        .paths(
            Paths::builder()
                .quantity(paths.len() as i32)
                .set_items(Some(paths.clone()))
                .build()
                .map_err(|e| Error::Failed(format!("cannot build the invalidation: {e}")))?,
        )
        .build()
        .map_err(|e| Error::Failed(format!("cannot build the invalidation: {e}")))?;
    let created = cloudfront
        .create_invalidation()
        .distribution_id(distribution)
        .invalidation_batch(batch)
        .send()
        .await
        .map_err(|e| {
            aws_error(
                &format!("invalidating CloudFront distribution {distribution}"),
                e,
            )
        })?;
    ui.info(format!("invalidated {} path(s) on CloudFront", paths.len()));
    if wait {
        if let Some(id) = created.invalidation().map(|i| i.id()) {
            wait_for_invalidation(&cloudfront, distribution, id).await?;
            ui.info("the invalidation completed");
        }
    }
    Ok(paths)
}
