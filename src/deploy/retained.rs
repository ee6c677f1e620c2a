//! Chat tables kept by an earlier `chatctl delete` (DeletionPolicy Retain)
//! are found and imported into the new stack, so a launch after a delete
//! continues the old history instead of silently starting an empty one.
//!
//! CloudFormation names a table it creates `STACK-LOGICALID-SUFFIX`, so the
//! kept tables of a stack are found by name prefix. Import is a change set
//! of type IMPORT whose template holds only the imported tables (AWS allows
//! no other change, and no outputs, in an import); the normal update that
//! follows adds everything else.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::{ResourceToImport, StackStatus};
use serde_json::{json, Value};

use crate::aws::{aws_error, Aws};
use crate::deploy::changeset::{self, TemplateSource};
use crate::deploy::stack;
use crate::error::{Error, Result};
use crate::template::{Template, TABLES};
use crate::ui::Ui;

/// The kept tables of `stack`, by logical id: one name each. Refuses when a
/// logical id has several candidates (chatctl cannot tell which history).
pub async fn find(aws: &Aws, stack: &str) -> Result<BTreeMap<String, String>> {
    let dynamodb = aws.dynamodb();
    let prefix = format!("{stack}-");
    let mut names = Vec::new();
    // Names come sorted: start just before the prefix, stop past it.
    let mut start = Some(prefix.clone());
    'pages: while let Some(after) = start.take() {
        let page = dynamodb
            .list_tables()
            .exclusive_start_table_name(after)
            .send()
            .await
            .map_err(|e| aws_error("listing DynamoDB tables to find kept chat tables", e))?;
        for name in page.table_names() {
            if !name.starts_with(&prefix) {
                break 'pages;
            }
            names.push(name.clone());
        }
        start = page.last_evaluated_table_name().map(str::to_string);
    }
    let mut found = BTreeMap::new();
    for logical in TABLES {
        let own = format!("{stack}-{logical}-");
        let candidates: Vec<&String> = names.iter().filter(|n| n.starts_with(&own)).collect();
        match candidates.as_slice() {
            [] => {}
            [one] => {
                found.insert(logical.to_string(), one.to_string());
            }
            several => {
                let list: Vec<&str> = several.iter().map(|s| s.as_str()).collect();
                return Err(Error::Failed(format!(
                    "several kept tables could hold the history of {stack}'s {logical}: {}. chatctl cannot tell which to reattach: delete the ones no longer needed (`aws dynamodb delete-table --table-name NAME`) and launch again",
                    list.join(", ")
                )));
            }
        }
    }
    Ok(found)
}

/// The import template: only the kept tables, as the full template defines
/// them, kept on deletion (an import requires it).
fn import_template(template: &Template, tables: &BTreeMap<String, String>) -> Value {
    let full = template.as_json();
    let mut resources = serde_json::Map::new();
    for logical in tables.keys() {
        let mut resource = full["Resources"][logical].clone();
        resource["DeletionPolicy"] = json!("Retain");
        resource["UpdateReplacePolicy"] = json!("Retain");
        resources.insert(logical.clone(), resource);
    }
    json!({
        "AWSTemplateFormatVersion": full["AWSTemplateFormatVersion"],
        "Description": full["Description"],
        "Resources": resources,
    })
}

/// Creates the stack from the kept tables; the caller's update adds the rest.
pub async fn reattach(
    aws: &Aws,
    stack_name: &str,
    template: &Template,
    tables: &BTreeMap<String, String>,
    ui: &Ui,
) -> Result<()> {
    let list: Vec<String> = tables
        .iter()
        .map(|(logical, name)| format!("{name} ({logical})"))
        .collect();
    ui.info(format!(
        "found chat tables kept by an earlier delete of {stack_name}: {}; reattaching them so the history continues",
        list.join(", ")
    ));
    let body = serde_json::to_string(&import_template(template, tables))
        .map_err(|e| Error::Failed(format!("cannot encode the import template: {e}")))?;
    let imports = tables
        .iter()
        .map(|(logical, name)| {
            ResourceToImport::builder()
                .resource_type("AWS::DynamoDB::Table")
                .logical_resource_id(logical)
                .resource_identifier("TableName", name)
                .build()
        })
        .collect();
    let cfn = aws.cloudformation();
    let name = changeset::new_name();
    let change_set = changeset::create_import(
        &cfn,
        stack_name,
        &name,
        &TemplateSource::Body(body),
        imports,
    )
    .await?;
    let after = stack::newest_event_id(&cfn, stack_name).await?;
    changeset::execute(&cfn, stack_name, &change_set).await?;
    let (status, events) = stack::wait(&cfn, stack_name, after.as_deref(), 2, ui).await?;
    if status != StackStatus::ImportComplete {
        let cause = stack::first_failure(&events, stack_name)
            .unwrap_or_else(|| "CloudFormation gave no reason".to_string());
        return Err(Error::Failed(format!(
            "reattaching the kept tables to {stack_name} failed ({}): {cause}. The tables are untouched",
            status.as_str()
        )));
    }
    Ok(())
}
