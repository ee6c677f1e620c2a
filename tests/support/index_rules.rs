//! Rule 11: one global secondary index created or deleted per table and
//! update. DynamoDB's UpdateTable creates or deletes one index a call, and
//! CloudFormation fails (and rolls back) a stack update that would do more
//! to one table, such as an index replaced by one of another name, or one
//! whose keys or projection changed under its name. The emulator makes as
//! many calls as it needs. The layer lets the change set be created, as
//! AWS does, and refuses to execute it (or refuses such an UpdateStack),
//! naming the rule; nothing changes, as after AWS's rollback.
//! <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTable.html>
//! ("You can create or delete only one global secondary index per
//! UpdateTable operation.")

use std::collections::BTreeMap;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::http::request::Parts;
use hyper::{Method, Response};
use serde_json::Value;

use super::aws_rules::{aws_error, cloudformation_form, read_upstream, template_of, Upstream};

/// The reason AWS would fail an update from `deployed` to `wanted`, if it
/// would: the first table that would gain or lose more than one index.
pub fn refusal(deployed: &Value, wanted: &Value) -> Option<String> {
    let tables = wanted["Resources"].as_object()?;
    for (id, table) in tables {
        let before = &deployed["Resources"][id];
        if table["Type"] != "AWS::DynamoDB::Table" || before["Type"] != table["Type"] {
            continue;
        }
        let (old, new) = (by_name(before), by_name(table));
        let created = new.iter().filter(|(n, d)| old.get(*n) != Some(d)).count();
        let deleted = old.iter().filter(|(n, d)| new.get(*n) != Some(d)).count();
        if created + deleted > 1 {
            return Some(format!(
                "{id}: this update would create {created} and delete {deleted} global secondary indexes of one table; DynamoDB creates or deletes one per update, and CloudFormation fails the update and rolls it back"
            ));
        }
    }
    None
}

/// A table's indexes by name; an index's definition is compared whole.
fn by_name(table: &Value) -> BTreeMap<String, Value> {
    table["Properties"]["GlobalSecondaryIndexes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|index| {
            (
                index["IndexName"].as_str().unwrap_or("").to_string(),
                index.clone(),
            )
        })
        .collect()
}

/// The `TemplateBody` of a GetTemplate answer (awsQuery XML).
pub fn template_body(answer: &str) -> Option<Value> {
    let start = answer.find("<TemplateBody>")? + "<TemplateBody>".len();
    let end = answer[start..].find("</TemplateBody>")? + start;
    let text = answer[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#xD;", "\r")
        .replace("&#xA;", "\n")
        .replace("&amp;", "&");
    serde_json::from_str(&text).ok()
}

/// The change set's name in a `ChangeSetName` that may be its ARN
/// (`arn:...:changeSet/NAME/ID`).
pub fn change_set_name(given: &str) -> &str {
    match given.split_once(":changeSet/") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None => given,
    }
}

/// Rule 11 (`index_rules.rs`): one index created or deleted per table and
/// update. A change set that breaks it is created and remembered; its
/// execution is refused.
pub async fn one_index_change(
    upstream: &Upstream,
    parts: &Parts,
    body: &Bytes,
) -> Option<Response<Full<Bytes>>> {
    let form = cloudformation_form(parts, body)?;
    let action = form.get("Action").map(String::as_str)?;
    if action == "ExecuteChangeSet" {
        let name = change_set_name(form.get("ChangeSetName")?);
        let doomed = upstream.doomed.lock().unwrap_or_else(|e| e.into_inner());
        let reason = doomed.get(name)?;
        return Some(aws_error("cloudformation", 400, "ValidationError", reason));
    }
    let updates = match action {
        "UpdateStack" => true,
        "CreateChangeSet" => form.get("ChangeSetType").is_none_or(|t| t == "UPDATE"),
        _ => false,
    };
    if !updates {
        return None;
    }
    let stack = form.get("StackName")?;
    let wanted = template_of(upstream, parts, &form).await?;
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "GetTemplate")
        .append_pair("Version", "2010-05-15")
        .append_pair("StackName", stack)
        .finish();
    let answer = read_upstream(
        upstream,
        parts,
        "cloudformation",
        Method::POST,
        "/",
        &query,
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await?;
    let reason = refusal(&template_body(&answer)?, &wanted)?;
    if action == "UpdateStack" {
        return Some(aws_error("cloudformation", 400, "ValidationError", &reason));
    }
    upstream
        .doomed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(form.get("ChangeSetName")?.clone(), reason);
    None
}
