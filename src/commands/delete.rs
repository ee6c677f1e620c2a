//! `chatctl delete [--yes] [--purge-data]`.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use serde_json::json;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::{aws_error, Aws};
use crate::cli::DeleteArgs;
use crate::config::Project;
use crate::deploy::checkpoint::{Checkpoint, Stage};
use crate::deploy::poll::FailedPolls;
use crate::deploy::{artifacts, stack};
use crate::error::{Error, Result};
use crate::output::Report;
use crate::site;
use crate::ui::Ui;

pub async fn run(
    project: &Project,
    aws: &Aws,
    args: &DeleteArgs,
    yes: bool,
    checkpoint: &Checkpoint,
    ui: &Ui,
) -> Result<Report> {
    let name = project.stack_name();
    confirm(&name, args.purge_data, yes, ui)?;
    checkpoint.set(Stage::Deleting {
        stack: name.clone(),
    });
    if let Some(local) = &aws.local {
        crate::local::stop_site(&local.dir, &name)?;
    }
    let identity = aws.identity().await?;
    let cfn = aws.cloudformation();
    let s3 = aws.s3();
    let found = stack::describe(&cfn, &name).await?;
    let outputs = found.as_ref().map(stack::outputs).unwrap_or_default();
    let tables: Vec<String> = ["MessagesTableName", "ConnectionsTableName"]
        .iter()
        .filter_map(|k| outputs.get(*k).cloned())
        .collect();

    let mut site_objects = 0;
    if found.is_some() {
        // The fan-out writes room snapshots into the site bucket whenever a
        // message arrives: stopped first, so none lands after the emptying
        // and fails the stack's deletion (DELETE_FAILED on AWS).
        stop_event_sources(aws, &cfn, &name, ui).await?;
        // CloudFormation cannot delete a bucket that holds objects (or versions).
        if let Some(bucket) = outputs.get("SiteBucketName") {
            site_objects = site::empty_bucket(&s3, bucket).await?;
            ui.info(format!(
                "emptied the site bucket {bucket} ({site_objects} objects and versions)"
            ));
        }
        stack::delete_and_wait(&cfn, &name, ui).await?;
        ui.info(format!("deleted stack {name}"));
    } else {
        ui.info(format!("stack {name} does not exist"));
    }
    // After the chat stack: its distribution no longer uses the web ACL.
    let edge_stack_deleted =
        crate::deploy::edge::remove(&aws.in_region(crate::deploy::edge::REGION), &name, ui).await?;

    let bucket = artifacts::bucket_name(&identity, &name);
    let artifact_bucket_deleted = if artifacts::exists(&s3, &bucket, &identity).await? {
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
        true
    } else {
        false
    };

    let dynamodb = aws.dynamodb();
    let mut kept = Vec::new();
    let mut purged = Vec::new();
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
        if args.purge_data {
            match dynamodb.delete_table().table_name(table).send().await {
                Ok(_) => {}
                // Gone already: a retry after the answer to the delete was lost.
                Err(e) if e.code() == Some("ResourceNotFoundException") => {}
                Err(e) => return Err(aws_error(&format!("deleting table {table}"), e)),
            }
            purged.push(table.clone());
        } else {
            kept.push(table.clone());
        }
    }
    let mut text = format!("deleted {name}\n");
    if edge_stack_deleted {
        text.push_str(&format!(
            "deleted its edge stack {} in {}\n",
            crate::deploy::edge::stack_name(&name),
            crate::deploy::edge::REGION
        ));
    }
    if !kept.is_empty() {
        text.push_str("kept the chat history tables (pass --purge-data to delete them too):\n");
        for table in &kept {
            text.push_str(&format!(
                "  {table}    remove with: aws dynamodb delete-table --table-name {table}\n"
            ));
        }
    }
    for table in &purged {
        wait_until_gone(&dynamodb, table).await?;
        text.push_str(&format!("deleted table {table}\n"));
    }
    Ok(Report::new(
        text,
        json!({
            "stack": name,
            "stack_existed": found.is_some(),
            "site_objects_removed": site_objects,
            "artifact_bucket_deleted": artifact_bucket_deleted,
            "edge_stack_deleted": edge_stack_deleted,
            "tables_kept": kept,
            "tables_deleted": purged,
        }),
    ))
}

/// Disables the stack's event source mappings (the Messages stream into the
/// fan-out) and waits until Lambda says each is `Disabled`.
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
                return Err(Error::Failed(format!(
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
            return Err(Error::Failed(format!(
                "table {table} was still being deleted after 10 minutes; DynamoDB goes on with it"
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Asks at a terminal; without one, `--yes` is required.
fn confirm(stack: &str, purge: bool, yes: bool, ui: &Ui) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !ui.interactive() {
        return Err(Error::Usage(format!(
            "refusing to delete stack {stack} without confirmation: no terminal to ask at; pass --yes"
        )));
    }
    let what = if purge { " and every chat message" } else { "" };
    eprint!("Delete stack {stack}{what}? Type the stack name to confirm: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::Failed(format!("cannot read the answer: {e}")))?;
    if answer.trim() == stack {
        Ok(())
    } else {
        Err(Error::Failed(
            "not confirmed: nothing was deleted".to_string(),
        ))
    }
}
