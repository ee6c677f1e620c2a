//! `chatctl delete`'s work: the fan-out stopped, the site bucket emptied,
//! the chat stack deleted, then the edge stack and the artifact bucket; the
//! chat tables kept unless the data is purged on purpose.

use std::time::{Duration, Instant};

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::{aws_error, Aws};
use crate::config::Project;
use crate::deploy::checkpoint::{Checkpoint, Stage};
use crate::deploy::poll::FailedPolls;
use crate::deploy::{artifacts, edge, stack};
use crate::error::{Error, Result};
use crate::site;
use crate::ui::Ui;

/// What a deletion did (`--output json` prints it as it is).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Teardown {
    pub stack: String,
    pub stack_existed: bool,
    pub site_objects_removed: usize,
    pub artifact_bucket_deleted: bool,
    pub edge_stack_deleted: bool,
    pub tables_kept: Vec<String>,
    pub tables_deleted: Vec<String>,
    /// The VAPID key (notifications): kept with the tables, deleted with them.
    pub vapid_key_deleted: bool,
}

/// Deletes the project's stack and what chatctl made beside it; with
/// `purge_data`, the chat tables too, waiting until they are gone.
pub async fn delete(
    project: &Project,
    aws: &Aws,
    purge_data: bool,
    checkpoint: &Checkpoint,
    ui: &Ui,
) -> Result<Teardown> {
    let name = project.stack_name();
    checkpoint.set(Stage::Deleting {
        stack: name.clone(),
    });
    let identity = aws.identity().await?;
    let cfn = aws.cloudformation();
    let s3 = aws.s3();
    let found = stack::describe(&cfn, &name).await?;
    let outputs = found.as_ref().map(stack::outputs).unwrap_or_default();
    let tables: Vec<String> = [
        "MessagesTableName",
        "ConnectionsTableName",
        "SubscriptionsTableName",
    ]
    .iter()
    .filter_map(|k| outputs.get(*k).cloned())
    .collect();
    let mut done = Teardown {
        stack: name.clone(),
        stack_existed: found.is_some(),
        ..Teardown::default()
    };

    if found.is_some() {
        // The fan-out writes room snapshots into the site bucket whenever a
        // message arrives: stopped first, so none lands after the emptying
        // and fails the stack's deletion (DELETE_FAILED on AWS).
        stop_event_sources(aws, &cfn, &name, ui).await?;
        // CloudFormation cannot delete a bucket that holds objects (or versions).
        if let Some(bucket) = outputs.get("SiteBucketName") {
            done.site_objects_removed = site::empty_bucket(&s3, bucket).await?;
            ui.info(format!(
                "emptied the site bucket {bucket} ({} objects and versions)",
                done.site_objects_removed
            ));
        }
        stack::delete_and_wait(&cfn, &name, ui).await?;
        ui.info(format!("deleted stack {name}"));
    } else {
        ui.info(format!("stack {name} does not exist"));
    }
    // After the chat stack: its distribution no longer uses the web ACL.
    done.edge_stack_deleted = edge::remove(&aws.in_region(edge::REGION), &name, ui).await?;

    let bucket = artifacts::bucket_name(&identity, &name);
    if artifacts::exists(&s3, &bucket, &identity).await? {
        site::empty_bucket(&s3, &bucket).await?;
        match s3.delete_bucket().bucket(&bucket).send().await {
            Ok(_) => {}
            // Gone already: a retry after the answer to the delete was lost.
            Err(e) if e.code() == Some("NoSuchBucket") => {}
            Err(e) => {
                return Err(aws_error(
                    &format!("deleting the artifact bucket {bucket}"),
                    e,
                ))
            }
        }
        ui.info(format!("deleted the artifact bucket {bucket}"));
        done.artifact_bucket_deleted = true;
    }

    let dynamodb = aws.dynamodb();
    for table in &tables {
        let still_there = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .is_ok();
        if !still_there {
            continue;
        }
        if !purge_data {
            done.tables_kept.push(table.clone());
            continue;
        }
        match dynamodb.delete_table().table_name(table).send().await {
            Ok(_) => {}
            // Gone already: a retry after the answer to the delete was lost.
            Err(e) if e.code() == Some("ResourceNotFoundException") => {}
            Err(e) => return Err(aws_error(&format!("deleting table {table}"), e)),
        }
        done.tables_deleted.push(table.clone());
    }
    for table in &done.tables_deleted {
        wait_until_gone(&dynamodb, table).await?;
    }
    // The kept subscriptions work only with the key they were made for.
    if purge_data {
        done.vapid_key_deleted = super::vapid::remove(aws, &name).await?;
    }
    Ok(done)
}

/// Disables the stack's event source mappings (the Messages and Connections
/// streams and the delivery queue into the fan-out) and waits until Lambda
/// says each is `Disabled`.
async fn stop_event_sources(
    aws: &Aws,
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
    ui: &Ui,
) -> Result<()> {
    let resources = cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| aws_error(&format!("listing the resources of {stack}"), e))?;
    let mappings: Vec<String> = resources
        .stack_resources()
        .iter()
        .filter(|r| r.resource_type() == Some("AWS::Lambda::EventSourceMapping"))
        .filter_map(|r| r.physical_resource_id().map(str::to_string))
        .collect();
    let lambda = aws.lambda();
    for uuid in &mappings {
        match lambda
            .update_event_source_mapping()
            .uuid(uuid)
            .enabled(false)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceNotFoundException") => continue,
            // Already being changed (a retry, or another delete): wait below.
            Err(e) if e.code() == Some("ResourceInUseException") => {}
            Err(e) => {
                return Err(aws_error(
                    &format!("disabling the event source mapping {uuid}"),
                    e,
                ))
            }
        }
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut failed_polls = FailedPolls::default();
        loop {
            match lambda.get_event_source_mapping().uuid(uuid).send().await {
                Ok(mapping) if mapping.state() == Some("Disabled") => break,
                Ok(_) => failed_polls.succeeded(),
                Err(e) if e.code() == Some("ResourceNotFoundException") => break,
                Err(e) => {
                    if !failed_polls.retry().await {
                        return Err(aws_error(
                            &format!("waiting for the event source mapping {uuid}"),
                            e,
                        ));
                    }
                    continue;
                }
            }
            if Instant::now() > deadline {
                return Err(Error::failed(format!(
                    "the event source mapping {uuid} was not disabled within 5 minutes; nothing was deleted. Run `chatctl delete` again"
                )));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    if !mappings.is_empty() {
        ui.info(format!(
            "stopped the fan-out ({} event source mapping(s) disabled)",
            mappings.len()
        ));
    }
    Ok(())
}

/// Waits until DeleteTable has finished, so a launch right after does not
/// find the table still `DELETING`.
async fn wait_until_gone(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut failed_polls = FailedPolls::default();
    loop {
        match dynamodb.describe_table().table_name(table).send().await {
            Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(()),
            Ok(_) => failed_polls.succeeded(),
            Err(e) => {
                if !failed_polls.retry().await {
                    return Err(aws_error(&format!("waiting for table {table} to go"), e));
                }
                continue;
            }
        }
        if Instant::now() > deadline {
            return Err(Error::failed(format!(
                "table {table} was still being deleted after 10 minutes; DynamoDB goes on with it"
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
