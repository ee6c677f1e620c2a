//! `chatctl cost`'s drivers against what one real message does: a room of
//! three on the emulator, one message sent, and every AWS operation the
//! deployed functions made for it, as the rules layer saw them.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chat_limits::work::{self, Work};
use serde_json::json;
use support::project::{chatctl, json_of, Project};
use support::ws::{expect, open, send};
use support::Emulator;

#[tokio::test(flavor = "multi_thread")]
async fn one_message_in_a_room_of_three_does_what_the_cost_model_says() {
    let emulator = Emulator::start();
    let project = Project::new("");
    // Before a launch there is nothing deployed to price: --plan is named.
    let early = chatctl(&emulator, &project)
        .arg("cost")
        .output()
        .expect("run chatctl cost");
    assert_eq!(early.status.code(), Some(1), "{early:?}");
    let said = String::from_utf8_lossy(&early.stderr);
    assert!(
        said.contains("chatctl launch") && said.contains("cost --plan"),
        "{said}"
    );
    let (launched, _) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    let outputs = launched["outputs"].clone();
    let mut ada = open(&emulator, &outputs, "room=general&name=ada").await;
    let mut bob = open(&emulator, &outputs, "room=general&name=bob").await;
    let mut cy = open(&emulator, &outputs, "room=general&name=cy").await;
    // A first message settles everything a cold room does once.
    send(&mut ada, json!({"action": "send", "text": "warm up"})).await;
    expect(&mut ada, "sent").await;
    expect(&mut bob, "message").await;
    expect(&mut cy, "message").await;
    settle(&emulator).await;

    let before = emulator.operations().len();
    send(
        &mut bob,
        json!({"action": "send", "text": "the measured one"}),
    )
    .await;
    expect(&mut bob, "sent").await;
    expect(&mut ada, "message").await;
    expect(&mut cy, "message").await;
    settle(&emulator).await;
    let sent = counted(&emulator.operations()[before..]);
    let before = emulator.operations().len();
    let mut dan = open(&emulator, &outputs, "room=general&name=dan").await;
    send(&mut dan, json!({"action": "history"})).await;
    expect(&mut dan, "history").await;
    // Told to the room before Dan leaves: an arrival and a leaving in one
    // stream batch would cancel out, and tell nobody.
    for socket in [&mut ada, &mut bob, &mut cy] {
        expect(socket, "presence").await;
    }
    dan.close(None).await.expect("close");
    settle(&emulator).await;
    let joined = counted(&emulator.operations()[before..]);

    let history = chat_limits::HISTORY_LENGTH.default;
    assert_eq!(
        sent,
        expected(&work::send(3, history)),
        "one message in a room of 3"
    );
    assert_eq!(
        joined,
        expected(&work::join(4, history)),
        "one join into a room of three, history page and leave"
    );

    // And chatctl cost prices the deployed stack with those drivers.
    let (assumed, _) = json_of(
        chatctl(&emulator, &project).args(["cost", "--room-size", "3"]),
        0,
    );
    assert_eq!(assumed["plan"], false);
    assert_eq!(assumed["deployed"]["memory_mb"]["message"], 256);
    assert_eq!(assumed["deployed"]["measured"], json!({}));
    // Durations are measured from each function's `Duration` metric. The
    // emulator publishes it only for the Invoke API (AWS for every call),
    // so `disconnect` is invoked twice (its sample's connection is not
    // there: nothing to delete); the others ran only from the WebSocket API
    // and the stream here, and their durations are assumed.
    for _ in 0..2 {
        let output = chatctl(&emulator, &project)
            .args(["invoke", "disconnect", "--sample", "disconnect"])
            .output()
            .expect("run chatctl invoke");
        assert_eq!(output.status.code(), Some(0), "{output:?}");
    }
    let (priced, _) = json_of(
        chatctl(&emulator, &project).args(["cost", "--room-size", "3"]),
        0,
    );
    let measured = &priced["deployed"]["measured"];
    assert_eq!(measured["disconnect"]["invocations"], 2.0, "{measured}");
    assert!(measured["disconnect"]["mean_ms"]
        .as_f64()
        .is_some_and(|ms| ms > 0.0));
    assert!(measured.get("ingest").is_none(), "{measured}");
    // A join's leave is a `disconnect` call: its measured time is priced.
    assert_ne!(
        priced["estimate"]["total"], assumed["estimate"]["total"],
        "the measured duration is priced"
    );
    assert_eq!(priced["free_tier"], serde_json::Value::Null);
    assert_eq!(priced["observed"], serde_json::Value::Null);
    observed_prices_what_cloudwatch_counted(&emulator, &project, &outputs).await;
    let lines = priced["estimate"]["lines"].as_array().expect("lines");
    let messages = lines
        .iter()
        .find(|l| l["driver"] == "WebSocket messages")
        .expect("the WebSocket messages line");
    // Per message: one in, and the room's three posts plus the sender's
    // answer out; per join one in, and out the history page and the
    // arrival and the leaving told to the two others; 30 days of the defaults.
    let usage = &priced["usage"];
    let days = 30.0;
    let sends = usage["messages_per_day"].as_f64().expect("messages") * days;
    let joins = usage["people_per_day"].as_f64().expect("people")
        * usage["joins_per_person"].as_f64().expect("joins")
        * days;
    assert_eq!(
        messages["quantity"].as_f64(),
        Some(sends * 5.0 + joins * 6.0)
    );
    drop((ada, bob, cy));
}

/// `cost --observed` against metrics in CloudWatch. The emulator publishes
/// only Lambda's (for the two Invoke API calls above), so the test
/// publishes a week of the others as AWS would, with the dimensions AWS
/// uses, and checks each is priced as a month.
async fn observed_prices_what_cloudwatch_counted(
    emulator: &Emulator,
    project: &Project,
    outputs: &serde_json::Value,
) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let gb = 1024.0 * 1024.0 * 1024.0;
    let output = |key: &str| outputs[key].as_str().expect(key).to_string();
    let aws = support::project::aws(emulator).await;
    let disconnect_group = aws
        .lambda()
        .get_function_configuration()
        .function_name(output("DisconnectFunctionName"))
        .send()
        .await
        .expect("the disconnect function")
        .logging_config()
        .and_then(|logging| logging.log_group())
        .expect("its own log group")
        .to_string();
    let week = [
        (
            "AWS/ApiGateway",
            "MessageCount",
            vec![("ApiId", output("WebSocketApiId"))],
            7000.0,
        ),
        (
            "AWS/ApiGateway",
            "Count",
            vec![("ApiId", output("HttpApiId"))],
            700.0,
        ),
        (
            "AWS/DynamoDB",
            "ConsumedReadCapacityUnits",
            vec![("TableName", output("MessagesTableName"))],
            70.0,
        ),
        (
            "AWS/DynamoDB",
            "ConsumedWriteCapacityUnits",
            vec![("TableName", output("LimitsTableName"))],
            140.0,
        ),
        // The connections' index, billed apart from its table.
        (
            "AWS/DynamoDB",
            "ConsumedWriteCapacityUnits",
            vec![
                ("TableName", output("ConnectionsTableName")),
                ("GlobalSecondaryIndexName", "by-room-keys".into()),
            ],
            35.0,
        ),
        (
            "AWS/CloudFront",
            "Requests",
            vec![
                ("DistributionId", output("DistributionId")),
                ("Region", "Global".into()),
            ],
            1400.0,
        ),
        (
            "AWS/CloudFront",
            "BytesDownloaded",
            vec![
                ("DistributionId", output("DistributionId")),
                ("Region", "Global".into()),
            ],
            7.0 * gb,
        ),
        (
            "AWS/Logs",
            "IncomingBytes",
            vec![("LogGroupName", disconnect_group)],
            0.7 * gb,
        ),
    ];
    let metrics = aws.metrics();
    for (namespace, metric, dimensions, value) in week {
        let mut datum = MetricDatum::builder().metric_name(metric).value(value);
        for (name, value) in dimensions {
            datum = datum.dimensions(Dimension::builder().name(name).value(value).build());
        }
        metrics
            .put_metric_data()
            .namespace(namespace)
            .metric_data(datum.build())
            .send()
            .await
            .expect("publish a metric");
    }
    let (priced, _) = json_of(chatctl(emulator, project).args(["cost", "--observed"]), 0);
    let observed = &priced["observed"];
    let month = |week: f64| week * 30.0 / 7.0;
    let quantity = |driver: &str| {
        observed["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .find(|l| l["driver"] == driver)
            .and_then(|l| l["quantity"].as_f64())
            .unwrap_or_else(|| panic!("no {driver}: {observed}"))
    };
    let near = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
    for (driver, expected) in [
        ("WebSocket messages", month(7000.0)),
        ("HTTP API requests", month(700.0)),
        ("read request units", month(70.0)),
        ("write request units", month(140.0 + 35.0)),
        ("HTTPS requests", month(1400.0)),
        ("data transfer out", month(7.0)),
        ("ingestion", month(0.7)),
        // Lambda's own metric: the two `disconnect` calls.
        ("requests", month(2.0)),
    ] {
        assert!(near(quantity(driver), expected), "{driver}: {observed}");
    }
    let total: f64 = observed["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["monthly"].as_f64().expect("monthly"))
        .sum();
    assert!(near(observed["total"].as_f64().expect("total"), total));
    assert!(observed["not_observed"]
        .as_array()
        .is_some_and(|drivers| drivers
            .iter()
            .any(|d| d.as_str().is_some_and(|d| d.contains("connection minutes")))));
}

/// The operations a work unit declares, as the rules layer names them.
fn expected(work: &Work) -> BTreeMap<String, u64> {
    [
        ("dynamodb:GetItem", work.dynamodb_get_item),
        ("dynamodb:Query", work.dynamodb_query),
        ("dynamodb:PutItem", work.dynamodb_put_item),
        ("dynamodb:UpdateItem", work.dynamodb_update_item),
        ("dynamodb:DeleteItem", work.dynamodb_delete_item),
        ("execute-api:PostToConnection", work.posts),
        ("s3:PUT", work.s3_put),
        ("sqs:SendMessage", work.sqs_requests),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0.0)
    .map(|(operation, n)| (operation.to_string(), n as u64))
    .collect()
}

fn counted(operations: &[String]) -> BTreeMap<String, u64> {
    let mut counted = BTreeMap::new();
    for operation in operations {
        *counted.entry(operation.clone()).or_default() += 1;
    }
    counted
}

#[test]
fn cost_plan_prices_the_configuration_without_a_stack() {
    let project = Project::new("cost:\n  messages_per_day: 10000\n  room_size: 50\n");
    let output = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("chatctl"))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args(["--config"])
        .arg(&project.config)
        .args(["cost", "--plan", "--output", "json"])
        .output()
        .expect("run chatctl cost --plan");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let priced: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(priced["plan"], true);
    assert_eq!(priced["usage"]["messages_per_day"], 10000.0);
    assert_eq!(priced["usage"]["room_size"], 50.0);
    assert!(priced["estimate"]["total"]
        .as_f64()
        .is_some_and(|t| t > 0.0));
    assert_eq!(priced["prices"]["region"], "us-east-1");
    assert_eq!(priced["free_tier"], serde_json::Value::Null);
}

#[test]
fn cost_prices_the_stacks_region_and_shows_the_free_tier_apart() {
    let project = Project::new("");
    let cost = |args: &[&str]| {
        let output = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("chatctl"))
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .arg("--config")
            .arg(&project.config)
            .args(["cost", "--plan"])
            .args(args)
            .output()
            .expect("run chatctl cost --plan");
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        output
    };
    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        serde_json::from_slice(&cost(&all).stdout).expect("one JSON document")
    };
    let ireland = json(&["--region", "eu-west-1"]);
    assert_eq!(ireland["prices"]["region"], "eu-west-1");
    let virginia = json(&["--region", "us-east-1"]);
    assert!(
        ireland["estimate"]["total"].as_f64() > virginia["estimate"]["total"].as_f64(),
        "Ireland's WebSocket messages cost more"
    );
    // A region without a table: us-east-1's prices, and the text says so.
    let mumbai = cost(&["--region", "ap-south-1"]);
    let text = String::from_utf8_lossy(&mumbai.stdout);
    assert!(
        text.contains("no price table is embedded for ap-south-1") && text.contains("--prices"),
        "{text}"
    );
    assert_eq!(
        json(&["--region", "ap-south-1"])["prices"]["region"],
        "us-east-1"
    );

    // The free tier: apart from the estimate, which it leaves as it is.
    let free = json(&["--region", "us-east-1", "--free-tier"]);
    assert_eq!(free["estimate"], virginia["estimate"]);
    let total = free["estimate"]["total"].as_f64().expect("total");
    let after = free["free_tier"]["total"].as_f64().expect("after");
    let saved = free["free_tier"]["saved"].as_f64().expect("saved");
    assert!(saved > 0.0 && after < total, "{}", free["free_tier"]);
    assert!((total - saved - after).abs() < 1e-9);
    // Lambda's million free requests cover the default chat's calls.
    let lambda = free["free_tier"]["deductions"]
        .as_array()
        .expect("deductions")
        .iter()
        .find(|d| d["allowance"] == "lambda_requests")
        .expect("Lambda's requests")
        .clone();
    let requests = free["estimate"]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["price"] == "lambda_request")
        .expect("the Lambda requests line")
        .clone();
    assert_eq!(lambda["used"], requests["quantity"]);
    let text = String::from_utf8_lossy(&cost(&["--free-tier"]).stdout).to_string();
    assert!(text.contains("total after the free tier:"), "{text}");
    assert!(
        text.contains("no region set: priced at us-east-1's"),
        "{text}"
    );

    // A price file without allowances cannot show a free tier.
    let dir = tempfile::tempdir().expect("tmp");
    let mut table = virginia["prices"].clone();
    table.as_object_mut().expect("table").remove("free_tier");
    let file = dir.path().join("prices.json");
    std::fs::write(&file, table.to_string()).expect("write");
    let refused = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("chatctl"))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .arg("--config")
        .arg(&project.config)
        .args(["cost", "--plan", "--free-tier", "--prices"])
        .arg(&file)
        .output()
        .expect("run chatctl cost");
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("free_tier"));
    // What was observed needs a deployed stack.
    let both = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("chatctl"))
        .arg("--config")
        .arg(&project.config)
        .args(["cost", "--plan", "--observed"])
        .output()
        .expect("run chatctl cost");
    assert_eq!(both.status.code(), Some(2), "{both:?}");
}

/// Waits until no request has reached the emulator for two seconds: the
/// fan-out's snapshot writes come after the frames every client waits for,
/// and "nothing more" can only be seen as quiet. Polls the rules layer's
/// record; bounded by 30 s.
async fn settle(emulator: &Emulator) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = emulator.operations().len();
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = emulator.operations().len();
        if now != seen {
            seen = now;
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() > Duration::from_secs(2) {
            return;
        }
    }
}

/// The README's two worked examples, priced as it says. A page view's
/// bytes are the site's own files, so a change to `static/` can move the
/// broadcast room's total by a cent: this test then says so.
#[test]
fn the_readmes_worked_examples_are_what_cost_prints() {
    let readme =
        std::fs::read_to_string(support::project::repo().join("README.md")).expect("README");
    for (flags, total, one) in [
        (
            ["50", "50", "2000", "8", "3", "150"],
            "**4.77 USD a month**",
            "one more\n  message 0.000067 USD",
        ),
        (
            ["10000", "10000", "200", "1", "1", "10000"],
            "**72.06 USD a month**",
            "one more message 0.0101 USD",
        ),
    ] {
        let output = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("chatctl"))
            .arg("--config")
            .arg(support::project::repo().join("examples/chatctl.yaml"))
            .args(["cost", "--plan", "--output", "json"])
            .args(["--people-per-day", flags[0], "--room-size", flags[1]])
            .args([
                "--messages-per-day",
                flags[2],
                "--connected-hours-per-person",
                flags[3],
            ])
            .args([
                "--joins-per-person",
                flags[4],
                "--page-views-per-day",
                flags[5],
            ])
            .output()
            .expect("run chatctl cost --plan");
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let priced: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let printed = format!(
            "**{:.2} USD a month**",
            priced["estimate"]["total"].as_f64().expect("total")
        );
        assert_eq!(printed, total, "the README's total");
        assert!(readme.contains(total), "README lacks {total}");
        assert!(readme.contains(one), "README lacks {one}");
        let one_message = priced["estimate"]["one_message"]
            .as_f64()
            .expect("one message");
        let shown: f64 = one
            .split_whitespace()
            .rev()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("a number");
        assert!(
            (one_message - shown).abs() / one_message < 0.01,
            "{one_message} vs {shown}"
        );
    }
}
