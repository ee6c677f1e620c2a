//! The artifact bucket: handler zips (and large templates) that
//! CloudFormation and Lambda read.
//!
//! One bucket per stack, created directly (not by the stack, which needs the
//! zips before it exists), named after account, region and a hash of the
//! stack name: no clash between accounts, regions or stages, no manual step,
//! and `chatctl delete` removes it with the stack. Keys contain the zip's
//! SHA-256, so an existing key never needs uploading again.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration,
};
use aws_sdk_s3::Client;
use sha2::{Digest, Sha256};

use crate::aws::{aws_error, Identity};
use crate::error::{Error, Result};

/// `chatctl-ACCOUNT-REGION-HASH`: at most 8 + 12 + 1 + 14 + 1 + 8 = 44 characters.
pub fn bucket_name(identity: &Identity, stack: &str) -> String {
    let hash = Sha256::digest(stack.as_bytes());
    let short: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("chatctl-{}-{}-{short}", identity.account, identity.region)
}

/// Whether the bucket exists and belongs to this account.
pub async fn exists(s3: &Client, bucket: &str, identity: &Identity) -> Result<bool> {
    match s3
        .head_bucket()
        .bucket(bucket)
        .expected_bucket_owner(&identity.account)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => {
            let not_found = e
                .as_service_error()
                .is_some_and(|service| service.is_not_found());
            let status = e.raw_response().map(|r| r.status().as_u16());
            if not_found || status == Some(404) {
                Ok(false)
            } else if status == Some(403) {
                Err(Error::failed(format!(
                    "the artifact bucket {bucket} exists but is not this account's, or access is denied"
                )))
            } else {
                Err(aws_error(
                    &format!("checking the artifact bucket {bucket}"),
                    e,
                ))
            }
        }
    }
}

/// Creates the bucket when missing: private, TLS only. Returns whether it was created.
pub async fn ensure_bucket(s3: &Client, bucket: &str, identity: &Identity) -> Result<bool> {
    if exists(s3, bucket, identity).await? {
        // A launch stopped between creating the bucket and securing it left
        // it without its policy: finish that now.
        let secured = match s3.get_bucket_policy().bucket(bucket).send().await {
            Ok(_) => true,
            Err(e) if e.code() == Some("NoSuchBucketPolicy") => false,
            Err(e) => return Err(aws_error(&format!("reading the policy of {bucket}"), e)),
        };
        if !secured {
            secure(s3, bucket, identity).await?;
        }
        return Ok(false);
    }
    let mut create = s3.create_bucket().bucket(bucket);
    if identity.region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(identity.region.as_str()))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => {}
        // A retry after the answer to the create was lost.
        Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => {}
        Err(e) => {
            return Err(aws_error(
                &format!("creating the artifact bucket {bucket}"),
                e,
            ))
        }
    }
    secure(s3, bucket, identity).await?;
    Ok(true)
}

/// Private and TLS only: public access blocked, plain HTTP denied.
async fn secure(s3: &Client, bucket: &str, identity: &Identity) -> Result<()> {
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_error(&format!("blocking public access to {bucket}"), e))?;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [
                identity.arn("s3", "", "", bucket),
                identity.arn("s3", "", "", &format!("{bucket}/*")),
            ],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    });
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .map_err(|e| aws_error(&format!("setting the policy of {bucket}"), e))?;
    Ok(())
}

/// Whether `key` exists. ListObjectsV2 rather than HeadObject: a HEAD on a
/// missing key can be cached as "not found" (aws-cdk#6430).
pub async fn object_exists(s3: &Client, bucket: &str, key: &str) -> Result<bool> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(key)
        .max_keys(1)
        .send()
        .await
        .map_err(|e| aws_error(&format!("listing {bucket}"), e))?;
    Ok(listed.contents().iter().any(|o| o.key() == Some(key)))
}

pub async fn upload(s3: &Client, bucket: &str, key: &str, body: Vec<u8>) -> Result<()> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| aws_error(&format!("uploading s3://{bucket}/{key}"), e))?;
    Ok(())
}
