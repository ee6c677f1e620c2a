//! The static site in S3: upload what changed (by content, not by time),
//! delete what was removed locally, and write `config.json` from the stack's
//! outputs so no URL is ever pasted into code by hand.
//!
//! A sync reads the local files and the bucket's ETags, plans the changes
//! without I/O (`plan`), then applies them (`bucket`).

use std::path::{Path, PathBuf};

use aws_sdk_s3::Client;
use md5::{Digest, Md5};

use crate::error::{Error, Result};

mod bucket;
mod plan;

pub use bucket::{empty_bucket, put};
pub use plan::{plan, Body, Plan, Upload};

/// The largest object one PutObject can write.
const MAX_SINGLE_PUT: u64 = 5 * 1024 * 1024 * 1024;
/// Prefix the fan-out function writes room snapshots under; never deleted by a sync.
pub const ROOMS_PREFIX: &str = "rooms/";
pub const CONFIG_KEY: &str = "config.json";

/// A local site file and the MD5 of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    pub key: String,
    pub path: PathBuf,
    pub md5: [u8; 16],
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

/// Makes the bucket hold exactly the site directory (plus `config.json`
/// and the room snapshots), uploading only files whose content differs.
pub async fn sync(s3: &Client, bucket: &str, dir: &Path, config_json: &[u8]) -> Result<SyncReport> {
    let files = local_files(dir)?;
    let remote = bucket::etags(s3, bucket).await?;
    let plan = plan(&files, config_json, &remote);
    bucket::apply(s3, bucket, plan).await
}

/// Lists the site directory with each file's MD5; refuses a missing or
/// empty one, and files one PUT cannot hold.
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
                let md5 = md5_of_file(&path).map_err(|e| Error::read(&path, e))?;
                files.push(LocalFile { key, path, md5 });
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

pub(crate) fn hex(digest: &[u8]) -> String {
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
