//! Chat history is never lost without being asked: a launch that would
//! replace a stateful resource is refused, `delete` keeps every message,
//! and the next launch reattaches the kept tables so the history continues.

mod support;

use aws_sdk_cloudformation::types::{Capability, Parameter};
use aws_sdk_dynamodb::types::{KeyType, ScalarAttributeType};
use serde_json::Value;
use support::project::{aws, chatctl, json_of, Project};
use support::{get_json, http_request, Emulator};

/// Posts a message through the HTTP API, as the page's form does.
fn post(emulator: &Emulator, http_api: &str, text: &str) {
    let response = http_request(
        emulator.port(),
        "POST",
        &format!("/_aws/execute-api/{http_api}/$default/api/rooms/general/messages"),
        "application/x-www-form-urlencoded",
        &format!("name=alice&text={text}"),
    )
    .expect("HTTP API answers");
    assert!(response.starts_with("HTTP/1.1 303"), "{response}");
}

/// The room's history through the HTTP API, oldest first.
fn history(emulator: &Emulator, http_api: &str) -> Vec<String> {
    let page = get_json(
        emulator.port(),
        &format!("/_aws/execute-api/{http_api}/$default/api/rooms/general/messages"),
    );
    page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["text"].as_str().map(str::to_string))
        .collect()
}

/// A table keyed by `room` (HASH) and `id` (RANGE, of type `id_type`).
async fn create_table(emulator: &Emulator, name: &str, id_type: ScalarAttributeType) {
    let client = aws(emulator).await.dynamodb();
    let keys = [
        ("room", KeyType::Hash, ScalarAttributeType::S),
        ("id", KeyType::Range, id_type),
    ];
    support::dynamo::create(&client, name, &keys).await;
}

async fn items_in(emulator: &Emulator, table: &str) -> i32 {
    aws(emulator)
        .await
        .dynamodb()
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("scan")
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn history_survives_a_refused_replacement_a_delete_and_a_new_launch() {
    let emulator = Emulator::start();
    let project = Project::new("");
    let (launched, _) =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 0));
    let outputs = launched["outputs"].clone();
    let http_api = outputs["HttpApiId"].as_str().expect("api").to_string();
    let table = outputs["MessagesTableName"]
        .as_str()
        .expect("table")
        .to_string();
    for text in ["first", "second", "third"] {
        post(&emulator, &http_api, text);
    }
    assert_eq!(history(&emulator, &http_api), ["first", "second", "third"]);

    // A change that would replace a stateful resource (a new site bucket
    // name) is refused and changes nothing; --preview shows the same.
    let config = std::fs::read_to_string(&project.config).expect("config");
    std::fs::write(
        &project.config,
        format!("{config}site_bucket_name: e2e-renamed-{{stage}}\n"),
    )
    .expect("config");
    let (refused, _) =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 1));
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("refusing to deploy")
            && message.contains("SiteBucket (AWS::S3::Bucket, replaced)")
            && message.contains("--allow-replace"),
        "{message}"
    );
    std::fs::write(&project.config, &config).expect("restore the config");
    assert_eq!(history(&emulator, &http_api), ["first", "second", "third"]);

    // delete without --purge-data keeps every message.
    let (deleted, _) = tokio::task::block_in_place(|| {
        json_of(chatctl(&emulator, &project).args(["delete", "--yes"]), 0)
    });
    assert!(
        deleted["tables_kept"]
            .as_array()
            .is_some_and(|kept| kept.iter().any(|t| t == table.as_str())),
        "{deleted}"
    );
    assert_eq!(items_in(&emulator, &table).await, 3);

    // Other tables around them (ListTables pages in no promised order: the
    // rules layer scrambles it, two names a page).
    for other in [
        "a-unrelated",
        "e2e-de-MessagesTable-X",
        "e2e-dev2-MessagesTable-X",
        "e2e-dev-Unrelated-X",
        "zz-unrelated",
    ] {
        create_table(&emulator, other, ScalarAttributeType::S).await;
    }

    // The next launch reattaches the kept tables: same table, same history.
    let (relaunched, stderr) =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 0));
    assert!(stderr.contains("reattaching them"), "{stderr}");
    assert!(
        relaunched["reattached_tables"]
            .as_array()
            .is_some_and(|t| t.len() == 3 && t.iter().any(|t| t == table.as_str())),
        "{relaunched}"
    );
    assert_eq!(relaunched["outputs"]["MessagesTableName"], table.as_str());
    let http_api = relaunched["outputs"]["HttpApiId"]
        .as_str()
        .expect("api")
        .to_string();
    assert_eq!(history(&emulator, &http_api), ["first", "second", "third"]);
    post(&emulator, &http_api, "fourth");
    assert_eq!(
        history(&emulator, &http_api),
        ["first", "second", "third", "fourth"]
    );
}

/// Deploys `template` over the stack `e2e-dev` with its parameters as
/// they are, as an older chatctl would have, and waits for it.
async fn deploy_older(cfn: &aws_sdk_cloudformation::Client, template: &Value) {
    let stack = cfn
        .describe_stacks()
        .stack_name("e2e-dev")
        .send()
        .await
        .expect("describe");
    let parameters: Vec<Parameter> = stack.stacks()[0]
        .parameters()
        .iter()
        .map(|p| {
            Parameter::builder()
                .parameter_key(p.parameter_key().unwrap_or_default())
                .use_previous_value(true)
                .build()
        })
        .collect();
    cfn.update_stack()
        .stack_name("e2e-dev")
        .template_body(template.to_string())
        .set_parameters(Some(parameters))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .expect("update to the older template");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let described = cfn.describe_stacks().stack_name("e2e-dev").send().await;
        let status = described
            .ok()
            .and_then(|d| d.stacks().first().and_then(|s| s.stack_status().cloned()));
        if status.as_ref().map(|s| s.as_str()) == Some("UPDATE_COMPLETE") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the older template did not deploy: {status:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The deployed template of `e2e-dev`.
async fn deployed_template(cfn: &aws_sdk_cloudformation::Client) -> Value {
    let deployed = cfn
        .get_template()
        .stack_name("e2e-dev")
        .send()
        .await
        .expect("get_template");
    serde_json::from_str(deployed.template_body().expect("body")).expect("JSON template")
}

/// A stack launched before the keys-only index had `by-room`, projecting
/// every attribute (tokens included, before they were sealed). AWS creates
/// or deletes one index per update (rule 11), so the launch over it first
/// adds `by-room-keys` in an update of its own, waits for it, then removes
/// the old one; nobody connected or posted loses anything.
#[tokio::test(flavor = "multi_thread")]
async fn a_launch_over_the_old_room_index_replaces_it_one_update_at_a_time() {
    use support::ws::{expect, open, send};
    let emulator = Emulator::start();
    let project = Project::new("");
    tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 0));

    // Back to the older shape (before `by-room-keys`, and before
    // presence's `by-room-people`), by the rule's own path, an index an
    // update: the old index added beside the new ones, the new ones
    // removed, the last with the functions pointed at the old one.
    let cfn = aws(&emulator).await.cloudformation();
    let current = deployed_template(&cfn).await;
    let mut older: Value = serde_json::from_str(
        &current
            .to_string()
            .replace("by-room-keys", "by-room")
            .replace("KEYS_ONLY", "ALL"),
    )
    .expect("JSON");
    indexes_of(&mut older).retain(|index| index["IndexName"] == "by-room");
    let old_index = indexes_of(&mut older)[0].clone();
    let mut all_three = current.clone();
    indexes_of(&mut all_three).push(old_index);
    let mut without_people = all_three.clone();
    indexes_of(&mut without_people).retain(|index| index["IndexName"] != "by-room-people");
    for template in [&all_three, &without_people, &older] {
        deploy_older(&cfn, template).await;
    }
    let (outputs, _) =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("output"), 0));
    let http_api = outputs["HttpApiId"].as_str().expect("api").to_string();
    let dynamodb = aws(&emulator).await.dynamodb();
    let indexes = |table: String| {
        let dynamodb = dynamodb.clone();
        async move {
            let described = dynamodb
                .describe_table()
                .table_name(table)
                .send()
                .await
                .expect("describe_table");
            described
                .table()
                .expect("table")
                .global_secondary_indexes()
                .iter()
                .map(|i| {
                    let projection = i
                        .projection()
                        .and_then(|p| p.projection_type())
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_default();
                    format!("{} {projection}", i.index_name().unwrap_or_default())
                })
                .collect::<Vec<_>>()
        }
    };
    let connections = outputs["ConnectionsTableName"]
        .as_str()
        .expect("ConnectionsTableName")
        .to_string();
    assert_eq!(indexes(connections.clone()).await, ["by-room ALL"]);
    let mut listener = open(&emulator, &outputs, "room=general&name=bo").await;
    send(&mut listener, serde_json::json!({"action": "history"})).await;
    expect(&mut listener, "history").await;
    post(&emulator, &http_api, "before");
    assert_eq!(
        expect(&mut listener, "message").await["message"]["text"],
        "before"
    );

    let (_, previewed) = tokio::task::block_in_place(|| {
        json_of(
            chatctl(&emulator, &project).args(["launch", "--preview"]),
            0,
        )
    });
    assert!(
        previewed.contains("would first add the index by-room-keys to ConnectionsTable"),
        "{previewed}"
    );
    assert_eq!(
        indexes(connections.clone()).await,
        ["by-room ALL"],
        "a preview changed it"
    );
    let (launched, stderr) =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 0));
    assert!(
        stderr.contains("adding the index by-room-keys to ConnectionsTable first"),
        "{stderr}"
    );
    assert!(
        stderr.contains("adding the index by-room-people to ConnectionsTable first"),
        "{stderr}"
    );
    assert_eq!(emulator.refusals().index_changes, 0, "rule 11 was broken");
    assert_eq!(
        indexes(connections).await,
        ["by-room-keys KEYS_ONLY", "by-room-people INCLUDE"]
    );
    assert_eq!(launched["outputs"]["HttpApiId"], outputs["HttpApiId"]);
    // The socket that joined over the old index is found through the new.
    post(&emulator, &http_api, "after");
    assert_eq!(
        expect(&mut listener, "message").await["message"]["text"],
        "after"
    );
    send(
        &mut listener,
        serde_json::json!({"action": "send", "text": "still here"}),
    )
    .await;
    expect(&mut listener, "sent").await;
    assert_eq!(history(&emulator, &http_api)[..2], ["before", "after"]);

    // A table kept by `delete` while it had the old index is reattached as
    // it is, then brought to the new index the same way.
    drop(listener);
    for template in [&all_three, &without_people, &older] {
        deploy_older(&cfn, template).await;
    }
    tokio::task::block_in_place(|| {
        json_of(chatctl(&emulator, &project).args(["delete", "--yes"]), 0)
    });
    let (relaunched, stderr) =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 0));
    assert!(stderr.contains("reattaching them"), "{stderr}");
    assert!(
        stderr.contains("adding the index by-room-keys to ConnectionsTable first"),
        "{stderr}"
    );
    assert_eq!(emulator.refusals().index_changes, 0, "rule 11 was broken");
    let connections = relaunched["outputs"]["ConnectionsTableName"]
        .as_str()
        .expect("ConnectionsTableName")
        .to_string();
    assert_eq!(
        indexes(connections).await,
        ["by-room-keys KEYS_ONLY", "by-room-people INCLUDE"]
    );
    let http_api = relaunched["outputs"]["HttpApiId"]
        .as_str()
        .expect("api")
        .to_string();
    assert_eq!(history(&emulator, &http_api)[..2], ["before", "after"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_launch_that_would_replace_the_messages_table_is_refused_and_keeps_the_history() {
    let emulator = Emulator::start();
    let project = Project::new("");
    tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 0));

    // The deployed stack names its messages table, as an older template
    // might have: chatctl's template does not, so deploying it replaces
    // the table (TableName is a replace-on-change property).
    let cfn = aws(&emulator).await.cloudformation();
    let mut template = deployed_template(&cfn).await;
    template["Resources"]["MessagesTable"]["Properties"]["TableName"] =
        serde_json::json!("e2e-legacy-messages");
    deploy_older(&cfn, &template).await;
    let settled =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("output"), 0).0);
    assert_eq!(settled["MessagesTableName"], "e2e-legacy-messages");
    let http_api = settled["HttpApiId"].as_str().expect("api").to_string();
    post(&emulator, &http_api, "kept");

    let (refused, _) =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 1));
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("MessagesTable (AWS::DynamoDB::Table, replaced)")
            && message.contains("nothing was changed"),
        "{message}"
    );
    assert_eq!(history(&emulator, &http_api), ["kept"]);
    assert_eq!(items_in(&emulator, "e2e-legacy-messages").await, 1);
}

/// A kept table of another shape (here its sort key is a number) is not
/// imported: CloudFormation would take it without a word.
#[tokio::test(flavor = "multi_thread")]
async fn a_kept_table_of_another_shape_is_not_reattached() {
    let emulator = Emulator::start();
    let project = Project::with_fixture_handlers("");
    let (launched, _) =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 0));
    let table = launched["outputs"]["MessagesTableName"]
        .as_str()
        .expect("table")
        .to_string();
    tokio::task::block_in_place(|| {
        json_of(chatctl(&emulator, &project).args(["delete", "--yes"]), 0)
    });
    let dynamodb = aws(&emulator).await.dynamodb();
    dynamodb
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .expect("delete_table");
    // DynamoDB takes a while to delete a table (the rules layer: 3 s), and
    // refuses its name meanwhile.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while dynamodb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .is_ok()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{table} was never deleted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    create_table(&emulator, &table, ScalarAttributeType::N).await;

    let (refused, _) =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 1));
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!(
            "the kept table {table} cannot be reattached as MessagesTable"
        )) && message.contains("id RANGE (N)"),
        "{message}"
    );
    assert!(
        dynamodb
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .is_ok(),
        "the table is untouched"
    );
}

/// A kept table someone is deleting by hand (DELETING for a while; the
/// rules layer keeps it so for 3 s) is no history to continue: the launch
/// right after reattaches only the others.
#[tokio::test(flavor = "multi_thread")]
async fn a_kept_table_being_deleted_is_not_reattached() {
    let emulator = Emulator::start();
    let project = Project::with_fixture_handlers("");
    let (launched, _) =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 0));
    let messages = launched["outputs"]["MessagesTableName"]
        .as_str()
        .expect("table")
        .to_string();
    let connections = launched["outputs"]["ConnectionsTableName"]
        .as_str()
        .expect("table")
        .to_string();
    tokio::task::block_in_place(|| {
        json_of(chatctl(&emulator, &project).args(["delete", "--yes"]), 0)
    });
    aws(&emulator)
        .await
        .dynamodb()
        .delete_table()
        .table_name(&connections)
        .send()
        .await
        .expect("delete_table");
    let (relaunched, stderr) =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 0));
    let subscriptions = launched["outputs"]["SubscriptionsTableName"]
        .as_str()
        .expect("table");
    assert_eq!(
        relaunched["reattached_tables"],
        serde_json::json!([messages, subscriptions]),
        "{stderr}"
    );
}

/// The connections table's indexes in a template.
fn indexes_of(template: &mut Value) -> &mut Vec<Value> {
    template["Resources"]["ConnectionsTable"]["Properties"]["GlobalSecondaryIndexes"]
        .as_array_mut()
        .expect("indexes")
}
