//! CloudFront invalidations: exactly the paths a site sync changed,
//! URL-encoded as CloudFront requires, and remembered until they succeed.

use std::time::{Duration, Instant};

use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use aws_sdk_s3::primitives::ByteStream;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::aws::{aws_error, Aws};
use crate::build;
use crate::deploy::poll::FailedPolls;
use crate::error::{Error, Result};
use crate::ui::Ui;

/// More changed paths than this become one `/*` invalidation.
const MAX_INVALIDATION_PATHS: usize = 15;

/// Characters CloudFront needs percent-encoded in an invalidation path: RFC
/// 1738's unsafe ones (non-ASCII is always encoded). Any other character
/// must stay as it is, or CloudFront does not match the cached object.
/// <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Invalidation_Requirements.html>
const UNSAFE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'~');

/// `/my file.html` becomes `/my%20file.html`, `/café.html` `/caf%C3%A9.html`;
/// each segment is encoded, the slashes and a final `*` are kept.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|segment| utf8_percent_encode(segment, UNSAFE).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Where an invalidation not yet made is remembered: in the stack's private
/// artifact bucket, written before CloudFront is called and removed once it
/// accepted the paths, so a failed or interrupted invalidation is made by the
/// next `update-site` or `launch` even when their sync finds nothing changed.
const PENDING_KEY: &str = "state/pending-invalidation.json";

/// The paths a previous run could not invalidate (none when nothing is pending).
pub async fn pending(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Vec<String>> {
    match s3.get_object().bucket(bucket).key(PENDING_KEY).send().await {
        Ok(found) => {
            let bytes = found.body.collect().await.map_err(|e| {
                Error::failed(format!("cannot read s3://{bucket}/{PENDING_KEY}: {e}"))
            })?;
            // A state object that cannot be read asks for everything.
            Ok(serde_json::from_slice(&bytes.into_bytes()).unwrap_or_else(|_| vec!["/*".into()]))
        }
        Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(Vec::new()),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(Vec::new()),
        Err(e) => Err(aws_error(
            &format!("reading s3://{bucket}/{PENDING_KEY}"),
            e,
        )),
    }
}

async fn remember(s3: &aws_sdk_s3::Client, bucket: &str, paths: &[String]) -> Result<()> {
    let body = serde_json::to_vec(paths).unwrap_or_default();
    s3.put_object()
        .bucket(bucket)
        .key(PENDING_KEY)
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| aws_error(&format!("writing s3://{bucket}/{PENDING_KEY}"), e))?;
    Ok(())
}

async fn forget(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<()> {
    s3.delete_object()
        .bucket(bucket)
        .key(PENDING_KEY)
        .send()
        .await
        .map_err(|e| aws_error(&format!("deleting s3://{bucket}/{PENDING_KEY}"), e))?;
    Ok(())
}

/// Invalidates `changed` and whatever an earlier run left pending; the
/// paths are remembered in `state_bucket` until CloudFront accepts them.
pub async fn invalidate_remembered(
    aws: &Aws,
    state_bucket: &str,
    distribution: &str,
    changed: Vec<String>,
    wait: bool,
    ui: &Ui,
) -> Result<Vec<String>> {
    let s3 = aws.s3();
    let earlier = pending(&s3, state_bucket).await?;
    if !earlier.is_empty() {
        ui.info(format!(
            "{} path(s) an earlier run could not invalidate are invalidated now",
            earlier.len()
        ));
    }
    let mut paths: Vec<String> = changed.into_iter().chain(earlier).collect();
    paths.sort();
    paths.dedup();
    if paths.is_empty() {
        return Ok(paths);
    }
    if paths.len() > MAX_INVALIDATION_PATHS {
        paths = vec!["/*".to_string()];
    }
    remember(&s3, state_bucket, &paths).await?;
    let invalidated = invalidate(aws, distribution, paths, wait, ui).await?;
    forget(&s3, state_bucket).await?;
    Ok(invalidated)
}

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
            return Err(Error::failed(format!(
                "invalidation {id} was not complete after 15 minutes; it goes on in CloudFront"
            )));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Invalidates exactly the changed paths (one wildcard when there are many).
async fn invalidate(
    aws: &Aws,
    distribution: &str,
    mut paths: Vec<String>,
    wait: bool,
    ui: &Ui,
) -> Result<Vec<String>> {
    if paths.len() > MAX_INVALIDATION_PATHS {
        paths = vec!["/*".to_string()];
    }
    let paths: Vec<String> = paths.iter().map(|p| encode_path(p)).collect();
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
                .map_err(|e| Error::failed(format!("cannot build the invalidation: {e}")))?,
        )
        .build()
        .map_err(|e| Error::failed(format!("cannot build the invalidation: {e}")))?;
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

#[cfg(test)]
mod tests {
    use super::encode_path;

    #[test]
    fn unsafe_and_non_ascii_characters_are_encoded_per_segment() {
        assert_eq!(encode_path("/index.html"), "/index.html");
        assert_eq!(encode_path("/my file.html"), "/my%20file.html");
        assert_eq!(encode_path("/café.html"), "/caf%C3%A9.html");
        assert_eq!(encode_path("/a dir/100%.html"), "/a%20dir/100%25.html");
        assert_eq!(encode_path("/*"), "/*");
        assert_eq!(encode_path("/rooms/"), "/rooms/");
        assert_eq!(encode_path("/x+y&z=1.html"), "/x+y&z=1.html");
    }
}
