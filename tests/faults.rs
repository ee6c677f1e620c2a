//! chatctl through a fault-injection proxy: with a fifth of its AWS
//! requests throttled, failed (500/503), slowed or dropped, `launch`,
//! `update-site`, `update-code` and `delete` still succeed, and every step
//! leaves the same state as the same steps without faults.

mod support;

use std::collections::BTreeMap;

use aws_sdk_lambda::primitives::Blob;
use serde_json::{json, Value};
use support::faults::{Fault, FaultProxy, FAULTS};
use support::free_port;
use support::project::{
    aws, bucket_names, chatctl, chatctl_process, code_hashes, json_of, Project,
};
use support::Emulator;

/// The share of requests faulted, and the seed that picks them
/// (`CHATCTL_FAULT_SEED` tries another seed).
const SHARE: f64 = 0.2;
const SEED: u64 = 20261125;

/// `CHATCTL_FAULT_SHARE` tries another share.
fn share() -> f64 {
    std::env::var("CHATCTL_FAULT_SHARE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SHARE)
}

fn seed() -> u64 {
    std::env::var("CHATCTL_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED)
}

/// A zip that is not the built handler, to make the deployed code drift.
fn other_zip() -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buffer);
    zip.start_file("bootstrap", zip::write::SimpleFileOptions::default())
        .expect("zip entry");
    std::io::Write::write_all(&mut zip, b"#!/bin/sh\nexit 1\n").expect("zip write");
    zip.finish().expect("zip finish");
    buffer.into_inner()
}

/// What a user could observe, by logical id and key (physical names carry
/// random suffixes that differ between two emulators).
async fn observed(emulator: &Emulator, outputs: &Value) -> Value {
    let aws = aws(emulator).await;
    let stack = match aws
        .cloudformation()
        .describe_stacks()
        .stack_name("e2e-dev")
        .send()
        .await
    {
        Ok(found) => found
            .stacks()
            .first()
            .and_then(|s| s.stack_status())
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "none".to_string()),
        Err(_) => "none".to_string(),
    };
    let mut resources = BTreeMap::new();
    if let Ok(listed) = aws
        .cloudformation()
        .list_stack_resources()
        .stack_name("e2e-dev")
        .send()
        .await
    {
        for resource in listed.stack_resource_summaries() {
            resources.insert(
                resource.logical_resource_id().unwrap_or("?").to_string(),
                format!(
                    "{} {}",
                    resource.resource_type().unwrap_or("?"),
                    resource
                        .resource_status()
                        .map(|s| s.as_str())
                        .unwrap_or("?")
                ),
            );
        }
    }
    let mut change_sets = Vec::new();
    if let Ok(listed) = aws
        .cloudformation()
        .list_change_sets()
        .stack_name("e2e-dev")
        .send()
        .await
    {
        for summary in listed.summaries() {
            change_sets.push(format!(
                "{} {}",
                summary.status().map(|s| s.as_str()).unwrap_or("?"),
                summary
                    .execution_status()
                    .map(|s| s.as_str())
                    .unwrap_or("?")
            ));
        }
    }
    let mut site = BTreeMap::new();
    let mut code = BTreeMap::new();
    if stack != "none" {
        let bucket = outputs["SiteBucketName"].as_str().unwrap_or_default();
        let listed = aws
            .s3()
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .expect("list the site bucket");
        for object in listed.contents() {
            let key = object.key().unwrap_or_default().to_string();
            // config.json carries the API ids, which each emulator picks at random.
            let etag = if key == "config.json" {
                "(API ids differ)".to_string()
            } else {
                object.e_tag().unwrap_or_default().to_string()
            };
            site.insert(key, etag);
        }
        code = code_hashes(&aws, outputs).await;
    }
    let mut tables = BTreeMap::new();
    for key in ["MessagesTableName", "ConnectionsTableName"] {
        let name = outputs[key].as_str().unwrap_or_default();
        let exists = aws
            .dynamodb()
            .describe_table()
            .table_name(name)
            .send()
            .await
            .is_ok();
        tables.insert(key, exists);
    }
    json!({
        "stack": stack,
        "resources": resources,
        "change_sets": change_sets,
        "outputs": outputs.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
        "site": site,
        "code": code,
        "tables": tables,
        "buckets": bucket_names(&aws).await.len(),
    })
}

/// launch, update-site, update-code after the message function drifted,
/// delete; what was observed after each, and each command's JSON.
async fn steps(emulator: &Emulator, endpoint: &str) -> Vec<Value> {
    let project = Project::new("");
    let run = |args: &[&str]| {
        let mut command = chatctl(emulator, &project);
        command.env("AWS_ENDPOINT_URL", endpoint).args(args);
        tokio::task::block_in_place(|| json_of(&mut command, 0).0)
    };
    let mut seen = Vec::new();

    let launched = run(&["launch"]);
    let outputs = launched["outputs"].clone();
    seen.push(json!({"step": "launch", "state": observed(emulator, &outputs).await}));

    std::fs::write(project.site().join("extra.html"), "<p>extra</p>\n").expect("write a page");
    std::fs::write(project.site().join("style.css"), "body { margin: 1px; }\n").expect("css");
    let synced = run(&["update-site", "--wait"]);
    assert_eq!(
        synced["site"]["uploaded"].as_array().map(Vec::len),
        Some(2),
        "{synced}"
    );
    seen.push(json!({"step": "update-site", "state": observed(emulator, &outputs).await}));

    let function = outputs["MessageFunctionName"].as_str().expect("message");
    aws(emulator)
        .await
        .lambda()
        .update_function_code()
        .function_name(function)
        .zip_file(Blob::new(other_zip()))
        .send()
        .await
        .expect("drift the message function");
    let updated = run(&["update-code"]);
    let updated_handlers: Vec<&str> = updated["functions"]
        .as_array()
        .expect("functions")
        .iter()
        .filter(|f| f["updated"] == true)
        .filter_map(|f| f["handler"].as_str())
        .collect();
    assert_eq!(updated_handlers, ["message"], "{updated}");
    seen.push(json!({"step": "update-code", "state": observed(emulator, &outputs).await}));

    let deleted = run(&["delete", "--yes"]);
    assert_eq!(
        deleted["tables_kept"].as_array().map(Vec::len),
        Some(3),
        "{deleted}"
    );
    seen.push(json!({"step": "delete", "state": observed(emulator, &outputs).await}));
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_survives_a_fifth_of_requests_faulted_and_ends_in_the_same_state() {
    let clean = tokio::spawn(async {
        let emulator = Emulator::start();
        steps(&emulator, &emulator.endpoint()).await
    });
    let faulted = tokio::spawn(async {
        let emulator = Emulator::start();
        let proxy = FaultProxy::start(emulator.port(), share(), seed());
        let seen = steps(&emulator, &proxy.endpoint()).await;
        (seen, proxy.tally())
    });
    let clean = clean.await.expect("the fault-free run");
    let (faulted, tally) = faulted.await.expect("the faulted run");

    eprintln!(
        "fault proxy (seed {}): {} requests, faults {:?}, by service {:?}",
        seed(),
        tally.requests,
        tally.faults,
        tally.services
    );
    // Every kind of fault happened, at about the configured share.
    for fault in FAULTS {
        assert!(
            tally.faults.get(&fault).copied().unwrap_or(0) > 0,
            "no {fault:?} was injected: {tally:?}"
        );
    }
    let faulted_count: u64 = tally.faults.values().sum();
    let share = faulted_count as f64 / tally.requests as f64;
    let wanted = self::share();
    assert!(
        (wanted * 0.4..wanted * 1.75).contains(&share),
        "faulted share {share}, configured {wanted}"
    );

    for (clean, faulted) in clean.iter().zip(&faulted) {
        assert_eq!(
            clean, faulted,
            "after {} the faulted run differs",
            clean["step"]
        );
    }
}

/// Every request answered 503: how many attempts one AWS call makes.
fn attempts_of_one_call(max_attempts: Option<&str>) -> u64 {
    let project = Project::new("");
    // Nothing is forwarded, so nothing needs to listen behind the proxy.
    let proxy = FaultProxy::start_with(free_port(), 1.0, SEED, &[Fault::Unavailable]);
    let mut command = chatctl_process(&proxy.endpoint(), &project);
    command.arg("output");
    if let Some(max) = max_attempts {
        command.env("AWS_MAX_ATTEMPTS", max);
    }
    let output = command.output().expect("run chatctl");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("ServiceUnavailable"), "{stderr}");
    proxy.tally().requests
}

#[test]
fn a_failing_call_is_tried_a_bounded_number_of_times_which_aws_max_attempts_sets() {
    assert_eq!(
        attempts_of_one_call(None),
        u64::from(chatctl::aws::MAX_ATTEMPTS)
    );
    assert_eq!(attempts_of_one_call(Some("2")), 2);
}
