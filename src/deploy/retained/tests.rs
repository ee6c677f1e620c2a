//! Tables kept by a delete, checked and imported as they are.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, KeySchemaElement, KeyType, ScalarAttributeType, StreamSpecification,
    StreamViewType, TableDescription,
};
use std::collections::BTreeMap;

use serde_json::json;

use super::{import_template, table_mismatch};

fn messages_template() -> serde_json::Value {
    json!({
        "AttributeDefinitions": [
            {"AttributeName": "room", "AttributeType": "S"},
            {"AttributeName": "id", "AttributeType": "S"}
        ],
        "KeySchema": [
            {"AttributeName": "room", "KeyType": "HASH"},
            {"AttributeName": "id", "KeyType": "RANGE"}
        ],
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    })
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("key")
}

fn attribute(name: &str, ty: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ty)
        .build()
        .expect("attribute")
}

fn table(range_type: ScalarAttributeType, stream: Option<StreamViewType>) -> TableDescription {
    let mut table = TableDescription::builder()
        .key_schema(key("room", KeyType::Hash))
        .key_schema(key("id", KeyType::Range))
        .attribute_definitions(attribute("room", ScalarAttributeType::S))
        .attribute_definitions(attribute("id", range_type));
    if let Some(view) = stream {
        table = table.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(view)
                .build()
                .expect("stream"),
        );
    }
    table.build()
}

#[test]
fn a_kept_table_of_the_templates_shape_matches() {
    let same = table(
        ScalarAttributeType::S,
        Some(StreamViewType::NewAndOldImages),
    );
    assert_eq!(table_mismatch(&messages_template(), &same), None);
}

#[test]
fn a_kept_table_with_an_old_index_is_imported_as_it_is_and_updated_a_step_at_a_time() {
    use aws_sdk_dynamodb::types::{GlobalSecondaryIndexDescription, Projection, ProjectionType};
    let kept = TableDescription::builder()
        .key_schema(key("connection_id", KeyType::Hash))
        .attribute_definitions(attribute("connection_id", ScalarAttributeType::S))
        .attribute_definitions(attribute("room", ScalarAttributeType::S))
        .global_secondary_indexes(
            GlobalSecondaryIndexDescription::builder()
                .index_name("by-room")
                .key_schema(key("room", KeyType::Hash))
                .key_schema(key("connection_id", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build(),
        )
        .build();
    let wanted = json!({"Resources": {"ConnectionsTable": {"Type": "AWS::DynamoDB::Table", "Properties": {
        "AttributeDefinitions": [
            {"AttributeName": "connection_id", "AttributeType": "S"},
            {"AttributeName": "room", "AttributeType": "S"}
        ],
        "KeySchema": [{"AttributeName": "connection_id", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [{"IndexName": "by-room-keys", "KeySchema": [
            {"AttributeName": "room", "KeyType": "HASH"},
            {"AttributeName": "connection_id", "KeyType": "RANGE"}
        ], "Projection": {"ProjectionType": "KEYS_ONLY"}}]
    }}}});
    let properties = &wanted["Resources"]["ConnectionsTable"]["Properties"];
    assert_eq!(
        table_mismatch(properties, &kept),
        None,
        "indexes may differ"
    );
    let template = crate::template::Template::from_json(wanted.clone());
    let tables = BTreeMap::from([(
        "ConnectionsTable".to_string(),
        "kept-connections".to_string(),
    )]);
    let found = BTreeMap::from([("ConnectionsTable".to_string(), kept)]);
    let imported = import_template(&template, &tables, &found);
    let indexes =
        &imported["Resources"]["ConnectionsTable"]["Properties"]["GlobalSecondaryIndexes"];
    assert_eq!(indexes[0]["IndexName"], "by-room");
    assert_eq!(indexes[0]["Projection"]["ProjectionType"], "ALL");
    let steps = crate::deploy::indexes::steps(&imported, &wanted).expect("possible");
    assert_eq!(
        steps.len(),
        1,
        "the new index first, the old one removed by the update after"
    );
}

#[test]
fn a_different_key_type_or_stream_is_named() {
    let numeric = table(
        ScalarAttributeType::N,
        Some(StreamViewType::NewAndOldImages),
    );
    assert_eq!(
        table_mismatch(&messages_template(), &numeric).as_deref(),
        Some(
            "its key is room HASH (S), id RANGE (N); the template's is room HASH (S), id RANGE (S)"
        )
    );
    let keys_only = table(ScalarAttributeType::S, Some(StreamViewType::KeysOnly));
    assert!(
        table_mismatch(&messages_template(), &keys_only).is_some_and(|m| m.contains("KEYS_ONLY"))
    );
}

/// A table kept before its stream existed (the connections table before
/// presence) is imported as it is; the launch's update enables the stream.
#[test]
fn a_kept_table_without_the_stream_is_imported_without_it() {
    let no_stream = table(ScalarAttributeType::S, None);
    assert_eq!(table_mismatch(&messages_template(), &no_stream), None);
    let wanted = json!({"Resources": {"MessagesTable": {"Type": "AWS::DynamoDB::Table",
        "Properties": messages_template()}}});
    let template = crate::template::Template::from_json(wanted);
    let tables = BTreeMap::from([("MessagesTable".to_string(), "kept".to_string())]);
    let found = BTreeMap::from([("MessagesTable".to_string(), no_stream)]);
    let imported = import_template(&template, &tables, &found);
    let properties = &imported["Resources"]["MessagesTable"]["Properties"];
    assert!(
        properties.get("StreamSpecification").is_none(),
        "{properties}"
    );
    let streaming = table(
        ScalarAttributeType::S,
        Some(StreamViewType::NewAndOldImages),
    );
    let found = BTreeMap::from([("MessagesTable".to_string(), streaming)]);
    let imported = import_template(&template, &tables, &found);
    assert_eq!(
        imported["Resources"]["MessagesTable"]["Properties"]["StreamSpecification"]
            ["StreamViewType"],
        "NEW_AND_OLD_IMAGES"
    );
}
