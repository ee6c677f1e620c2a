//! Chat history is never lost without being asked: a launch that would
//! replace a stateful resource is refused, `delete` keeps every message,
//! and the next launch reattaches the kept tables so the history continues.

mod support;

use support::project::{aws, chatctl, json_of, Project, TURN};
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
    let _turn = TURN.lock().await;
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

    // The next launch reattaches the kept tables: same table, same history.
    let (relaunched, stderr) =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 0));
    assert!(stderr.contains("reattaching them"), "{stderr}");
    assert!(
        relaunched["reattached_tables"]
            .as_array()
            .is_some_and(|t| t.len() == 2 && t.iter().any(|t| t == table.as_str())),
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
