//! DynamoDB tables as the tests create them: the key schema and attribute
//! builders, written once.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

pub fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("key")
}

pub fn attribute(name: &str, ty: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ty)
        .build()
        .expect("attribute")
}

/// Creates an on-demand table keyed by `keys` (name, HASH or RANGE, type).
pub async fn create(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    keys: &[(&str, KeyType, ScalarAttributeType)],
) {
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attribute_name, kind, ty) in keys {
        create = create
            .attribute_definitions(attribute(attribute_name, ty.clone()))
            .key_schema(key(attribute_name, kind.clone()));
    }
    create.send().await.expect("create_table");
}

/// The connections table's `by-room-keys` index, keys only, as the template has it.
pub fn room_keys_index() -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name("by-room-keys")
        .key_schema(key("room", KeyType::Hash))
        .key_schema(key("connection_id", KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .build()
        .expect("index")
}

/// `by-room-people`: the room's connections with their names, authors and
/// expiry (presence), as the template has it.
pub fn room_people_index() -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name("by-room-people")
        .key_schema(key("room", KeyType::Hash))
        .key_schema(key("connection_id", KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::Include)
                .non_key_attributes("name")
                .non_key_attributes("author")
                .non_key_attributes("expires_at")
                .build(),
        )
        .build()
        .expect("index")
}
