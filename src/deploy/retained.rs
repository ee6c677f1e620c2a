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
use aws_sdk_dynamodb::types::{TableDescription, TableStatus};
use serde_json::{json, Value};

use crate::aws::{aws_error, Aws};
use crate::deploy::changeset::{self, TemplateSource};
use crate::deploy::stack;
use crate::error::{Error, Result};
use crate::template::{Template, TABLES};
use crate::ui::Ui;

/// The kept tables of `stack`, by logical id: one name each. Refuses when a
/// logical id has several candidates (chatctl cannot tell which history).
/// ListTables promises no order, so every page is read; only `ACTIVE`
/// tables count (one being deleted or created is no history to continue).
pub async fn find(aws: &Aws, stack: &str) -> Result<BTreeMap<String, String>> {
    let dynamodb = aws.dynamodb();
    let prefix = format!("{stack}-");
    let mut listed = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page = dynamodb
            .list_tables()
            .set_exclusive_start_table_name(start.take())
            .send()
            .await
            .map_err(|e| aws_error("listing DynamoDB tables to find kept chat tables", e))?;
        listed.extend(
            page.table_names()
                .iter()
                .filter(|name| name.starts_with(&prefix))
                .cloned(),
        );
        match page.last_evaluated_table_name() {
            Some(last) => start = Some(last.to_string()),
            None => break,
        }
    }
    let mut names = Vec::new();
    for name in listed {
        if describe(aws, &name)
            .await?
            .is_some_and(|t| t.table_status() == Some(&TableStatus::Active))
        {
            names.push(name);
        }
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
                return Err(Error::failed(format!(
                    "several kept tables could hold the history of {stack}'s {logical}: {}. chatctl cannot tell which to reattach: delete the ones no longer needed (`aws dynamodb delete-table --table-name NAME`) and launch again",
                    list.join(", ")
                )));
            }
        }
    }
    Ok(found)
}

/// A table's description; None when it does not exist.
async fn describe(aws: &Aws, table: &str) -> Result<Option<TableDescription>> {
    match aws
        .dynamodb()
        .describe_table()
        .table_name(table)
        .send()
        .await
    {
        Ok(found) => Ok(found.table),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_error(&format!("describing the kept table {table}"), e)),
    }
}

/// `room HASH (S), id RANGE (S)`: a key schema with its attributes' types.
fn keys_of(keys: &[(String, String)], types: &BTreeMap<String, String>) -> String {
    keys.iter()
        .map(|(name, kind)| {
            let ty = types.get(name).map(String::as_str).unwrap_or("?");
            format!("{name} {kind} ({ty})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a kept table differs from the template's definition of it, in words;
/// None when it matches in everything neither an import nor an update can
/// change: the key schema and its types, the stream. Its indexes may
/// differ: it is imported with its own (`import_template`), and the update
/// after the import brings them to the template's, one at a time
/// (`indexes`).
/// CloudFormation imports a mismatching table without a word, and the next
/// update then fails or silently works against the wrong shape.
pub fn table_mismatch(wanted: &Value, table: &TableDescription) -> Option<String> {
    let pairs = |list: &Value, a: &str, b: &str| -> Vec<(String, String)> {
        list.as_array()
            .into_iter()
            .flatten()
            .map(|item| {
                let field = |k: &str| item[k].as_str().unwrap_or_default().to_string();
                (field(a), field(b))
            })
            .collect()
    };
    let wanted_types: BTreeMap<String, String> = pairs(
        &wanted["AttributeDefinitions"],
        "AttributeName",
        "AttributeType",
    )
    .into_iter()
    .collect();
    let found_types: BTreeMap<String, String> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_string(),
                a.attribute_type().as_str().to_string(),
            )
        })
        .collect();
    let found_keys = |keys: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, String)> {
        keys.iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect()
    };
    let want = keys_of(
        &pairs(&wanted["KeySchema"], "AttributeName", "KeyType"),
        &wanted_types,
    );
    let have = keys_of(&found_keys(table.key_schema()), &found_types);
    if want != have {
        return Some(format!("its key is {have}; the template's is {want}"));
    }
    let wanted_stream = wanted["StreamSpecification"]["StreamViewType"].as_str();
    let found_stream = table
        .stream_specification()
        .filter(|s| s.stream_enabled())
        .and_then(|s| s.stream_view_type())
        .map(|v| v.as_str());
    // A table kept without a stream (a connections table from before
    // presence) is imported as it is, and the update after enables it:
    // enabling is one change; changing a stream's view is two.
    if found_stream.is_some() && wanted_stream != found_stream {
        let say = |s: Option<&str>| s.map_or("no stream".to_string(), |v| format!("a {v} stream"));
        return Some(format!(
            "it has {}; the template's has {}",
            say(found_stream),
            say(wanted_stream)
        ));
    }
    None
}

/// The import template: only the kept tables, as the full template defines
/// them but with the indexes and attribute definitions they have (an
/// import must describe the resource as it is), kept on deletion (an
/// import requires it).
fn import_template(
    template: &Template,
    tables: &BTreeMap<String, String>,
    found: &BTreeMap<String, TableDescription>,
) -> Value {
    let full = template.as_json();
    let mut resources = serde_json::Map::new();
    for logical in tables.keys() {
        let mut resource = full["Resources"][logical].clone();
        resource["DeletionPolicy"] = json!("Retain");
        resource["UpdateReplacePolicy"] = json!("Retain");
        if let Some(table) = found.get(logical) {
            as_found(&mut resource["Properties"], table);
        }
        resources.insert(logical.clone(), resource);
    }
    json!({
        "AWSTemplateFormatVersion": full["AWSTemplateFormatVersion"],
        "Description": full["Description"],
        "Resources": resources,
    })
}

/// Sets `properties`' indexes and attribute definitions to `table`'s, in
/// the template's own shape.
fn as_found(properties: &mut Value, table: &TableDescription) {
    let keys = |keys: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Value {
        keys.iter()
            .map(|k| json!({"AttributeName": k.attribute_name(), "KeyType": k.key_type().as_str()}))
            .collect()
    };
    let indexes: Vec<Value> = table
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            let mut projection = json!({});
            if let Some(p) = index.projection() {
                if let Some(kind) = p.projection_type() {
                    projection["ProjectionType"] = json!(kind.as_str());
                }
                if !p.non_key_attributes().is_empty() {
                    projection["NonKeyAttributes"] = json!(p.non_key_attributes());
                }
            }
            json!({
                "IndexName": index.index_name().unwrap_or_default(),
                "KeySchema": keys(index.key_schema()),
                "Projection": projection,
            })
        })
        .collect();
    match indexes.is_empty() {
        true => {
            if let Some(map) = properties.as_object_mut() {
                map.remove("GlobalSecondaryIndexes");
            }
        }
        false => properties["GlobalSecondaryIndexes"] = json!(indexes),
    }
    let streaming = table
        .stream_specification()
        .is_some_and(|s| s.stream_enabled());
    if !streaming {
        if let Some(map) = properties.as_object_mut() {
            map.remove("StreamSpecification");
        }
    }
    properties["AttributeDefinitions"] = table
        .attribute_definitions()
        .iter()
        .map(|a| json!({"AttributeName": a.attribute_name(), "AttributeType": a.attribute_type().as_str()}))
        .collect();
}

/// Creates the stack from the kept tables; the caller's update adds the rest.
pub async fn reattach(
    aws: &Aws,
    stack_name: &str,
    template: &Template,
    tables: &BTreeMap<String, String>,
    ui: &Ui,
) -> Result<()> {
    let full = template.as_json();
    let mut found = BTreeMap::new();
    for (logical, name) in tables {
        let Some(table) = describe(aws, name).await? else {
            return Err(Error::failed(format!(
                "the kept table {name} vanished while launching; launch again"
            )));
        };
        if let Some(difference) = table_mismatch(&full["Resources"][logical]["Properties"], &table)
        {
            return Err(Error::failed(format!(
                "the kept table {name} cannot be reattached as {logical}: {difference}. chatctl will not import a table of another shape: rename or delete it (`aws dynamodb delete-table --table-name {name}`), then launch again"
            )));
        }
        found.insert(logical.clone(), table);
    }
    let list: Vec<String> = tables
        .iter()
        .map(|(logical, name)| format!("{name} ({logical})"))
        .collect();
    ui.info(format!(
        "found chat tables kept by an earlier delete of {stack_name}: {}; reattaching them so the history continues",
        list.join(", ")
    ));
    let body = serde_json::to_string(&import_template(template, tables, &found))
        .map_err(|e| Error::failed(format!("cannot encode the import template: {e}")))?;
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
        return Err(Error::failed(format!(
            "reattaching the kept tables to {stack_name} failed ({}): {cause}. The tables are untouched",
            status.as_str()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
