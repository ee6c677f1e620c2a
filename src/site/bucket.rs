//! The site bucket's side of a sync: its ETags, the uploads and deletes a
//! plan asks for, and emptying it before the stack is deleted.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use base64::Engine;
use md5::{Digest, Md5};
use tokio::sync::Semaphore;

use super::{cache_control, content_type, Body, Plan, SyncReport};
use crate::aws::aws_error;
use crate::error::{Error, Result};

/// Uploads in flight at once.
const PARALLEL_UPLOADS: usize = 16;

/// Every object's ETag (the MD5 of a single-part upload), by key.
pub(super) async fn etags(s3: &Client, bucket: &str) -> Result<BTreeMap<String, String>> {
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

/// Uploads and deletes what `plan` says. Files stream from disk inside the
/// upload tasks, under the semaphore: memory stays small whatever the size
/// of the site or of its files.
pub(super) async fn apply(s3: &Client, bucket: &str, plan: Plan) -> Result<SyncReport> {
    let semaphore = Arc::new(Semaphore::new(PARALLEL_UPLOADS));
    let mut uploads = tokio::task::JoinSet::new();
    for upload in plan.uploads {
        let (s3, bucket, semaphore) = (s3.clone(), bucket.to_string(), semaphore.clone());
        uploads.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let stream = match upload.body {
                Body::File(path) => ByteStream::from_path(&path)
                    .await
                    .map_err(|e| Error::read(&path, std::io::Error::other(e)))?,
                Body::Bytes(bytes) => ByteStream::from(bytes),
            };
            put_stream(&s3, &bucket, &upload.key, stream, &upload.md5)
                .await
                .map(|()| upload.key)
        });
    }
    let mut report = SyncReport {
        unchanged: plan.unchanged,
        ..SyncReport::default()
    };
    while let Some(done) = uploads.join_next().await {
        let key = done.map_err(|e| Error::failed(format!("an upload task failed: {e}")))??;
        report.uploaded.push(key);
    }
    report.uploaded.sort();
    let objects: Vec<(String, Option<String>)> =
        plan.deletes.iter().map(|key| (key.clone(), None)).collect();
    delete_objects(s3, bucket, &objects).await?;
    report.deleted = plan.deletes;
    Ok(report)
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
