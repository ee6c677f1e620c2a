//! The static site in S3: upload what changed (by content, not by time),
//! delete what was removed locally, and write `config.json` from the stack's
//! outputs so no URL is ever pasted into code by hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use base64::Engine;
use md5::{Digest, Md5};
use tokio::sync::Semaphore;

use crate::aws::aws_error;
use crate::error::{Error, Result};

/// Uploads in flight at once.
const PARALLEL_UPLOADS: usize = 16;
/// The largest object one PutObject can write.
const MAX_SINGLE_PUT: u64 = 5 * 1024 * 1024 * 1024;
/// Prefix the fan-out function writes room snapshots under; never deleted by a sync.
pub const ROOMS_PREFIX: &str = "rooms/";
pub const CONFIG_KEY: &str = "config.json";

/// A local site file.
#[derive(Debug, Clone)]
struct LocalFile {
    key: String,
    path: PathBuf,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    pub uploaded: Vec<String>,
    pub deleted: Vec<String>,
    pub unchanged: usize,
}

impl SyncReport {
    /// CloudFront paths to invalidate: each changed key, and the directory
    /// URL of a changed index.html.
    pub fn changed_paths(&self) -> Vec<String> {
        let mut paths = Vec::new();
        for key in self.uploaded.iter().chain(&self.deleted) {
            paths.push(format!("/{key}"));
            if let Some(dir) = key.strip_suffix("index.html") {
                paths.push(format!("/{dir}"));
            }
        }
        paths.sort();
        paths.dedup();
        paths
    }
}

/// Refuses a site directory that cannot be published (missing, empty, a
/// file over 5 GiB) before anything is deployed.
pub fn check(dir: &Path) -> Result<()> {
    local_files(dir).map(|_| ())
}

/// Lists the site directory; refuses a missing or empty one, and files one PUT cannot hold.
fn local_files(dir: &Path) -> Result<Vec<LocalFile>> {
    if !dir.is_dir() {
        return Err(Error::usage(format!(
            "the site directory {} does not exist: set `site_dir` in the configuration",
            dir.display()
        )));
    }
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current).map_err(|e| Error::read(&current, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::read(&current, e))?;
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let meta = entry.metadata().map_err(|e| Error::read(&path, e))?;
            if hidden {
                continue;
            } else if meta.is_dir() {
                pending.push(path);
            } else if meta.is_file() {
                let relative = path.strip_prefix(dir).unwrap_or(&path);
                let key = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                if meta.len() > MAX_SINGLE_PUT {
                    return Err(Error::usage(format!(
                        "{} is {} bytes: a site file can be at most 5 GiB; nothing was uploaded",
                        path.display(),
                        meta.len()
                    )));
                }
                files.push(LocalFile { key, path });
            }
        }
    }
    if files.is_empty() {
        return Err(Error::usage(format!(
            "the site directory {} is empty: it should hold at least index.html",
            dir.display()
        )));
    }
    files.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(files)
}

/// Every object's ETag (the MD5 of a single-part upload), by key.
async fn remote_etags(s3: &Client, bucket: &str) -> Result<BTreeMap<String, String>> {
    let mut etags = BTreeMap::new();
    let mut pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error(&format!("listing the site bucket {bucket}"), e))?;
        for object in page.contents() {
            if let (Some(key), Some(etag)) = (object.key(), object.e_tag()) {
                etags.insert(key.to_string(), etag.trim_matches('"').to_string());
            }
        }
    }
    Ok(etags)
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The MD5 of a file, read in blocks: memory stays small for any file size.
fn md5_of_file(path: &Path) -> std::io::Result<[u8; 16]> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Md5::new();
    let mut block = vec![0u8; 256 * 1024];
    loop {
        let read = file.read(&mut block)?;
        if read == 0 {
            return Ok(hasher.finalize().into());
        }
        hasher.update(&block[..read]);
    }
}

/// Content-Type by extension; text types say UTF-8.
pub fn content_type(key: &str) -> String {
    let mime = mime_guess::from_path(key).first_or_octet_stream();
    if mime.type_() == mime_guess::mime::TEXT
        || mime.subtype() == mime_guess::mime::JSON
        || mime.subtype() == mime_guess::mime::JAVASCRIPT
    {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}

/// HTML and config.json revalidate on every load (they name everything
/// else); fingerprinted assets (`app.3f9a1c2b.js`) never change; the rest
/// may be cached briefly.
pub fn cache_control(key: &str) -> &'static str {
    let name = key.rsplit('/').next().unwrap_or(key);
    let fingerprinted = name
        .split('.')
        .any(|part| part.len() >= 8 && part.chars().all(|c| c.is_ascii_hexdigit()));
    if key.ends_with(".html") || key == CONFIG_KEY || key.ends_with(".json") {
        "no-cache"
    } else if fingerprinted {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    }
}

/// Puts one object with its type, caching and an MD5 S3 verifies.
pub async fn put(s3: &Client, bucket: &str, key: &str, body: Vec<u8>) -> Result<()> {
    let md5: [u8; 16] = Md5::digest(&body).into();
    put_stream(s3, bucket, key, ByteStream::from(body), &md5).await
}

/// Uploads one object with its Content-MD5, so S3 rejects a corrupted body.
async fn put_stream(
    s3: &Client,
    bucket: &str,
    key: &str,
    body: ByteStream,
    md5: &[u8; 16],
) -> Result<()> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type(key))
        .cache_control(cache_control(key))
        .content_md5(base64::engine::general_purpose::STANDARD.encode(md5))
        .body(body)
        .send()
        .await
        .map_err(|e| aws_error(&format!("uploading s3://{bucket}/{key}"), e))?;
    Ok(())
}

/// Makes the bucket hold exactly the site directory (plus config.json and
/// the room snapshots), uploading only files whose content differs.
/// What an upload sends: a site file (read when its turn comes) or bytes.
enum Body {
    File(PathBuf),
    Bytes(Vec<u8>),
}

pub async fn sync(s3: &Client, bucket: &str, dir: &Path, config_json: &[u8]) -> Result<SyncReport> {
    let files = local_files(dir)?;
    let remote = remote_etags(s3, bucket).await?;
    let mut report = SyncReport::default();

    // Files stream from disk inside the upload tasks, under the semaphore:
    // memory stays small whatever the size of the site or of its files.
    let semaphore = Arc::new(Semaphore::new(PARALLEL_UPLOADS));
    let mut uploads = tokio::task::JoinSet::new();
    let mut queue = |key: String, body: Body, md5: [u8; 16]| {
        let (s3, bucket, semaphore) = (s3.clone(), bucket.to_string(), semaphore.clone());
        uploads.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let stream = match body {
                Body::File(path) => ByteStream::from_path(&path)
                    .await
                    .map_err(|e| Error::read(&path, std::io::Error::other(e)))?,
                Body::Bytes(bytes) => ByteStream::from(bytes),
            };
            put_stream(&s3, &bucket, &key, stream, &md5)
                .await
                .map(|()| key)
        });
    };
    for file in &files {
        if file.key == CONFIG_KEY {
            continue; // written from the stack's outputs below
        }
        // Site files under rooms/ are seeds (the empty room's page): the
        // fan-out function owns those objects once they exist, so a seed is
        // uploaded only where the bucket has none and never overwrites chat.
        if file.key.starts_with(ROOMS_PREFIX) && remote.contains_key(&file.key) {
            report.unchanged += 1;
            continue;
        }
        let md5 = md5_of_file(&file.path).map_err(|e| Error::read(&file.path, e))?;
        if remote.get(&file.key) == Some(&hex(&md5)) {
            report.unchanged += 1;
        } else {
            queue(file.key.clone(), Body::File(file.path.clone()), md5);
        }
    }
    let config_md5: [u8; 16] = Md5::digest(config_json).into();
    if remote.get(CONFIG_KEY) == Some(&hex(&config_md5)) {
        report.unchanged += 1;
    } else {
        queue(
            CONFIG_KEY.to_string(),
            Body::Bytes(config_json.to_vec()),
            config_md5,
        );
    }
    while let Some(done) = uploads.join_next().await {
        let key = done.map_err(|e| Error::failed(format!("an upload task failed: {e}")))??;
        report.uploaded.push(key);
    }
    report.uploaded.sort();

    let local: std::collections::HashSet<&str> = files.iter().map(|f| f.key.as_str()).collect();
    let stale: Vec<String> = remote
        .keys()
        .filter(|key| !local.contains(key.as_str()))
        .filter(|key| !key.starts_with(ROOMS_PREFIX) && key.as_str() != CONFIG_KEY)
        .cloned()
        .collect();
    let objects: Vec<(String, Option<String>)> =
        stale.iter().map(|key| (key.clone(), None)).collect();
    delete_objects(s3, bucket, &objects).await?;
    report.deleted = stale;
    Ok(report)
}

/// Deletes objects (or object versions), 1,000 per request.
async fn delete_objects(
    s3: &Client,
    bucket: &str,
    objects: &[(String, Option<String>)],
) -> Result<()> {
    for chunk in objects.chunks(1000) {
        let identifiers = chunk
            .iter()
            .map(|(key, version)| {
                ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.clone())
                    .build()
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::failed(format!("cannot name objects to delete: {e}")))?;
        let delete = Delete::builder()
            .set_objects(Some(identifiers))
            .quiet(true)
            .build()
            .map_err(|e| Error::failed(format!("cannot build a delete request: {e}")))?;
        s3.delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| aws_error(&format!("deleting objects from {bucket}"), e))?;
    }
    Ok(())
}

/// Removes every object version and delete marker, so the bucket can be deleted.
pub async fn empty_bucket(s3: &Client, bucket: &str) -> Result<usize> {
    let mut removed = 0;
    loop {
        let listed = s3
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| aws_error(&format!("listing the versions in {bucket}"), e))?;
        let mut objects = Vec::new();
        for version in listed.versions() {
            if let Some(key) = version.key() {
                objects.push((key.to_string(), version.version_id().map(str::to_string)));
            }
        }
        for marker in listed.delete_markers() {
            if let Some(key) = marker.key() {
                objects.push((key.to_string(), marker.version_id().map(str::to_string)));
            }
        }
        if objects.is_empty() {
            // Unversioned listings may still hold objects.
            let plain = s3
                .list_objects_v2()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| aws_error(&format!("listing {bucket}"), e))?;
            objects.extend(
                plain
                    .contents()
                    .iter()
                    .filter_map(|o| Some((o.key()?.to_string(), None))),
            );
            if objects.is_empty() {
                return Ok(removed);
            }
        }
        delete_objects(s3, bucket, &objects).await?;
        removed += objects.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caching_and_types_by_file() {
        assert_eq!(cache_control("index.html"), "no-cache");
        assert_eq!(cache_control("config.json"), "no-cache");
        assert_eq!(
            cache_control("assets/app.3f9a1c2b.js"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_control("style.css"), "public, max-age=300");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("logo.png"), "image/png");
        assert_eq!(
            content_type("config.json"),
            "application/json; charset=utf-8"
        );
    }

    #[test]
    fn changed_paths_include_directory_urls() {
        let report = SyncReport {
            uploaded: vec![
                "index.html".into(),
                "docs/index.html".into(),
                "app.js".into(),
            ],
            deleted: vec!["old.css".into()],
            unchanged: 3,
        };
        assert_eq!(
            report.changed_paths(),
            vec![
                "/",
                "/app.js",
                "/docs/",
                "/docs/index.html",
                "/index.html",
                "/old.css"
            ]
        );
    }
}
