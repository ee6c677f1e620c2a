//! A table's global secondary indexes change one at a time. DynamoDB
//! creates or deletes one index per `UpdateTable`, and CloudFormation fails
//! (and rolls back) an update that would do more to one table, such as an
//! index replaced by another of a new name. So when the template is more
//! than one index change away from the deployed stack, `launch` first
//! deploys the deployed template with the new indexes added, one update per
//! index, waits for each to finish backfilling (CloudFormation does not
//! wait, and a backfilling index cannot be read), and only then the
//! template itself, which removes the old one. Nothing else changes in
//! those steps: the functions keep reading the old index until the last.
//! <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTable.html>

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::Parameter;
use aws_sdk_dynamodb::types::IndexStatus;
use serde_json::{json, Value};

use crate::aws::{aws_error, Aws};
use crate::error::{Error, Result};
use crate::ui::Ui;

/// How long an index may take to backfill before launch gives up waiting
/// (the connections table is small; an hour means something is wrong).
const BACKFILL_LIMIT: Duration = Duration::from_secs(3600);

/// One table's index changes between the deployed template and the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexChanges {
    /// The table's logical id.
    pub table: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// An intermediate template, and the index it adds to which table.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub template: Value,
    pub table: String,
    pub index: String,
}

/// A table resource's indexes by name.
fn indexes_of(table: &Value) -> BTreeMap<String, Value> {
    table["Properties"]["GlobalSecondaryIndexes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|index| Some((index["IndexName"].as_str()?.to_string(), index.clone())))
        .collect()
}

/// The index changes of every table both templates hold. An index whose
/// keys or projection changed under the same name counts as both removed
/// and added, as DynamoDB can only delete and create it.
pub fn changes(deployed: &Value, wanted: &Value) -> Vec<IndexChanges> {
    let Some(resources) = wanted["Resources"].as_object() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (logical, resource) in resources {
        let before = &deployed["Resources"][logical];
        if resource["Type"] != "AWS::DynamoDB::Table" || before["Type"] != resource["Type"] {
            continue;
        }
        let (old, new) = (indexes_of(before), indexes_of(resource));
        let added: Vec<String> = new
            .iter()
            .filter(|(name, index)| old.get(*name) != Some(*index))
            .map(|(name, _)| name.clone())
            .collect();
        let removed: Vec<String> = old
            .iter()
            .filter(|(name, index)| new.get(*name) != Some(*index))
            .map(|(name, _)| name.clone())
            .collect();
        if !added.is_empty() || !removed.is_empty() {
            found.push(IndexChanges {
                table: logical.clone(),
                added,
                removed,
            });
        }
    }
    found
}

/// The templates to deploy before `wanted`, each one index creation from
/// the one before it: the deployed template with the new indexes added.
/// Every new index comes first in an update of its own, even alone: the
/// launch waits for it to backfill there, so the functions that read it
/// change (in `wanted`) only once it can be read. Empty when `wanted` adds
/// no index. An
/// error (a usage error: the template asks what AWS cannot do) when an
/// index is redefined under its own name, or when more than one would have
/// to be deleted.
pub fn steps(deployed: &Value, wanted: &Value) -> std::result::Result<Vec<Step>, String> {
    let mut current = deployed.clone();
    let mut steps = Vec::new();
    for change in changes(deployed, wanted) {
        if change.added.is_empty() && change.removed.len() <= 1 {
            continue;
        }
        let table = &change.table;
        if let Some(name) = change.added.iter().find(|n| change.removed.contains(n)) {
            return Err(format!(
                "the index {name} of {table} changes its keys or projection: DynamoDB cannot change an index in place, and one update cannot delete it and create it again. Give the new definition a new name"
            ));
        }
        if change.removed.len() > 1 {
            return Err(format!(
                "the template removes {} indexes of {table} ({}): AWS deletes one index per update. Remove them one launch at a time",
                change.removed.len(),
                change.removed.join(", ")
            ));
        }
        let new = indexes_of(&wanted["Resources"][table]);
        for name in &change.added {
            add_index(&mut current, &wanted["Resources"][table], table, &new[name]);
            steps.push(Step {
                template: current.clone(),
                table: table.clone(),
                index: name.clone(),
            });
        }
    }
    Ok(steps)
}

/// Adds `index` (from `source`, the wanted table) to `table` in `template`,
/// with the attribute definitions its keys need.
fn add_index(template: &mut Value, source: &Value, table: &str, index: &Value) {
    let properties = &mut template["Resources"][table]["Properties"];
    match properties["GlobalSecondaryIndexes"].as_array_mut() {
        Some(list) => list.push(index.clone()),
        None => properties["GlobalSecondaryIndexes"] = json!([index]),
    }
    let keys: Vec<&str> = index["KeySchema"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|key| key["AttributeName"].as_str())
        .collect();
    let defined = |list: &Value, name: &str| {
        list.as_array()
            .into_iter()
            .flatten()
            .any(|d| d["AttributeName"] == name)
    };
    for key in keys {
        if defined(&properties["AttributeDefinitions"], key) {
            continue;
        }
        let definition = source["Properties"]["AttributeDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["AttributeName"] == key)
            .cloned();
        if let (Some(definition), Some(list)) = (
            definition,
            properties["AttributeDefinitions"].as_array_mut(),
        ) {
            list.push(definition);
        }
    }
}

/// Waits until `index` of the stack's table `logical` is ACTIVE: CloudFormation
/// finishes the update while the index still backfills.
pub async fn wait_until_active(
    aws: &Aws,
    stack: &str,
    logical: &str,
    index: &str,
    ui: &Ui,
) -> Result<()> {
    // DescribeStackResources, which the deploy role already has (README).
    let resources = aws
        .cloudformation()
        .describe_stack_resources()
        .stack_name(stack)
        .logical_resource_id(logical)
        .send()
        .await
        .map_err(|e| aws_error(&format!("reading {logical} of stack {stack}"), e))?;
    let table = resources
        .stack_resources()
        .first()
        .and_then(|r| r.physical_resource_id())
        .unwrap_or_default()
        .to_string();
    let started = Instant::now();
    let mut said = false;
    loop {
        let description = aws
            .dynamodb()
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .map_err(|e| aws_error(&format!("reading the table {table}"), e))?;
        let status = description
            .table()
            .into_iter()
            .flat_map(|t| t.global_secondary_indexes())
            .find(|i| i.index_name() == Some(index))
            .map(|i| (i.index_status().cloned(), i.backfilling().unwrap_or(false)));
        match status {
            Some((Some(IndexStatus::Active), false)) => return Ok(()),
            Some(_) => {}
            None => {
                return Err(Error::failed(format!(
                    "the index {index} of {table} is not there after the update that added it; launch again"
                )))
            }
        }
        if started.elapsed() > BACKFILL_LIMIT {
            return Err(Error::failed(format!(
                "the index {index} of {table} is still backfilling after an hour; nothing was lost, and the functions still read the old index. Launch again later"
            )));
        }
        if !said {
            ui.info(format!(
                "waiting for the index {index} of {table} to backfill"
            ));
            said = true;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// The index steps before `target`'s template; with
/// `--preview`, none are deployed: they are only named.
pub(super) async fn steps_for(
    target: &super::Target<'_>,
    options: &super::LaunchOptions,
    ui: &Ui,
) -> Result<Vec<Step>> {
    let deployed: Option<Value> = super::deployed_template(target.cfn, target.stack_name)
        .await?
        .and_then(|text| serde_json::from_str(&text).ok());
    let Some(deployed) = deployed else {
        return Ok(Vec::new());
    };
    let steps = steps(&deployed, target.template.as_json()).map_err(Error::usage)?;
    if options.preview && !steps.is_empty() {
        let names: Vec<String> = steps
            .iter()
            .map(|s| format!("{} to {}", s.index, s.table))
            .collect();
        ui.info(format!(
            "the launch would first add the index {} in updates of their own (AWS creates or deletes one index per update), then apply this change set",
            names.join(", then ")
        ));
        return Ok(Vec::new());
    }
    Ok(steps)
}

/// The stack's parameters as they are, for a step that changes only the template.
pub(super) fn previous_parameters(
    stack: Option<&aws_sdk_cloudformation::types::Stack>,
) -> Vec<Parameter> {
    stack
        .into_iter()
        .flat_map(|s| s.parameters())
        .filter_map(|p| p.parameter_key())
        .map(|key| {
            Parameter::builder()
                .parameter_key(key)
                .use_previous_value(true)
                .build()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(indexes: Value, attributes: &[&str]) -> Value {
        let definitions: Vec<Value> = attributes
            .iter()
            .map(|a| json!({"AttributeName": a, "AttributeType": "S"}))
            .collect();
        json!({"Type": "AWS::DynamoDB::Table", "Properties": {
            "AttributeDefinitions": definitions,
            "KeySchema": [{"AttributeName": "connection_id", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": indexes,
        }})
    }

    fn index(name: &str, projection: &str) -> Value {
        json!({"IndexName": name, "KeySchema": [
            {"AttributeName": "room", "KeyType": "HASH"},
            {"AttributeName": "connection_id", "KeyType": "RANGE"},
        ], "Projection": {"ProjectionType": projection}})
    }

    fn template(connections: Value) -> Value {
        json!({"Resources": {
            "ConnectionsTable": connections,
            "Function": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {"CONNECTIONS_ROOM_INDEX": "by-room"}}}},
        }})
    }

    #[test]
    fn a_replaced_index_is_added_first_and_the_old_one_removed_last() {
        let deployed = template(table(
            json!([index("by-room", "ALL")]),
            &["connection_id", "room"],
        ));
        let mut wanted = template(table(
            json!([index("by-room-keys", "KEYS_ONLY")]),
            &["connection_id", "room"],
        ));
        wanted["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
            ["CONNECTIONS_ROOM_INDEX"] = json!("by-room-keys");
        let steps = steps(&deployed, &wanted).expect("possible");
        assert_eq!(steps.len(), 1);
        let step = &steps[0];
        assert_eq!(
            (step.table.as_str(), step.index.as_str()),
            ("ConnectionsTable", "by-room-keys")
        );
        // Both indexes, and the functions still on the old one.
        let names: Vec<String> = indexes_of(&step.template["Resources"]["ConnectionsTable"])
            .into_keys()
            .collect();
        assert_eq!(names, ["by-room", "by-room-keys"]);
        assert_eq!(
            step.template["Resources"]["Function"],
            deployed["Resources"]["Function"]
        );
        // Each step, and the template after the last, is one change away.
        let one_change = |from: &Value, to: &Value| {
            changes(from, to)
                .iter()
                .all(|c| c.added.len() + c.removed.len() <= 1)
        };
        assert!(one_change(&deployed, &step.template));
        assert!(one_change(&step.template, &wanted));
        assert!(!one_change(&deployed, &wanted));
    }

    #[test]
    fn every_new_index_is_a_step_and_new_keys_bring_their_attributes() {
        let deployed = template(table(json!([]), &["connection_id"]));
        let one = template(table(
            json!([index("by-room-keys", "KEYS_ONLY")]),
            &["connection_id", "room"],
        ));
        // Even alone: the functions reading it change only after it backfilled.
        let alone = steps(&deployed, &one).expect("possible");
        assert_eq!(alone.len(), 1);
        assert_eq!(alone[0].index, "by-room-keys");
        assert_eq!(steps(&deployed, &deployed), Ok(Vec::new()));
        assert_eq!(steps(&one, &deployed), Ok(Vec::new()), "a removal alone");
        let two = template(table(
            json!([index("a", "KEYS_ONLY"), index("b", "ALL")]),
            &["connection_id", "room"],
        ));
        let steps = steps(&deployed, &two).expect("possible");
        assert_eq!(steps.len(), 2, "one creation an update");
        let attributes = &steps[0].template["Resources"]["ConnectionsTable"]["Properties"]
            ["AttributeDefinitions"];
        assert!(attributes
            .as_array()
            .expect("list")
            .iter()
            .any(|a| a["AttributeName"] == "room"));
    }

    #[test]
    fn what_aws_cannot_do_at_all_is_named() {
        let deployed = template(table(
            json!([index("a", "ALL"), index("b", "ALL")]),
            &["connection_id", "room"],
        ));
        let none = template(table(json!([]), &["connection_id", "room"]));
        let refusal = steps(&deployed, &none).expect_err("two deletions");
        assert!(refusal.contains("one launch at a time"), "{refusal}");
        let redefined = template(table(
            json!([index("a", "KEYS_ONLY"), index("b", "KEYS_ONLY")]),
            &["connection_id", "room"],
        ));
        let refusal = steps(&deployed, &redefined).expect_err("in place");
        assert!(refusal.contains("new name"), "{refusal}");
    }
}
