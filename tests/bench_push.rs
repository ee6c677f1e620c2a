//! Benchmark, not a test: the time from a message to its Web Push
//! notifications on the emulator, through the real fan-out, notify queue
//! and notify function, to a push service on 127.0.0.1 that checks each
//! signature and decrypts each payload (`support::push_service`). Run it
//! with `bench/push.sh`; the test suite runs it in quick mode only.
//!
//! For 1, 10 and 100 subscribers away from the room it sends a message a
//! round and reports the time to the first and to the last push, the first
//! round apart (the notify function starts cold: its process, its clients
//! and the VAPID key read from SSM).

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::project::{chatctl, json_of, Project};
use support::push_service::PushService;
use support::ws::{expect, open, send};
use support::{http_request, Emulator};

const SIZES: [usize; 3] = [1, 10, 100];
const QUICK_SIZES: [usize; 1] = [2];
const REPEATS: usize = 5;
const ROUND_DEADLINE: Duration = Duration::from_secs(60);

fn quick() -> bool {
    std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1")
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn subscribe(emulator: &Emulator, outputs: &Value, token: &str, subscription: &Value) {
    let http_api = outputs["HttpApiId"].as_str().expect("http api");
    let response = http_request(
        emulator.port(),
        "POST",
        &format!("/_aws/execute-api/{http_api}/$default/api/rooms/bench/subscriptions"),
        "application/json",
        &json!({ "token": token, "subscription": subscription }).to_string(),
    )
    .expect("the HTTP API answers");
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
}

/// When each subscriber got the message `text` (by name), once all did.
fn arrivals(push: &PushService, names: &[String], text: &str, deadline: Instant) -> Vec<Instant> {
    loop {
        let all = push.all_received();
        let got: Vec<Instant> = names
            .iter()
            .filter_map(|name| {
                all.get(name)?
                    .iter()
                    .find(|r| r.payload.as_ref().is_some_and(|p| p["text"] == text))
                    .map(|r| r.at)
            })
            .collect();
        if got.len() == names.len() {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} subscribers got {text:?} by the deadline",
            got.len(),
            names.len()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: run bench/push.sh"]
async fn push_to_1_10_and_100_subscribers_away() {
    let emulator = Emulator::start();
    let push = PushService::start();
    let project = Project::new("chat:\n  rate_limit:\n    messages: 100000\n    per_seconds: 60\n");
    let (launched, _) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    let outputs = launched["outputs"].clone();
    let mut sender = open(&emulator, &outputs, "room=bench&name=sender").await;
    send(&mut sender, json!({"action": "history"})).await;
    expect(&mut sender, "history").await;

    let (sizes, repeats): (&[usize], usize) = if quick() {
        (&QUICK_SIZES, 1)
    } else {
        (&SIZES, REPEATS)
    };
    let mut names: Vec<String> = Vec::new();
    let mut rows = BTreeMap::new();
    let mut cold = None;
    for &size in sizes {
        while names.len() < size {
            let name = format!("s{}", names.len());
            let subscription = push.subscribe(&name);
            subscribe(&emulator, &outputs, &format!("{name:_<22}"), &subscription);
            names.push(name);
        }
        let (mut first, mut last) = (Vec::new(), Vec::new());
        for round in 0..repeats + usize::from(cold.is_none()) {
            let text = format!("{size} subscribers, round {round}");
            let started = Instant::now();
            send(&mut sender, json!({"action": "send", "text": text})).await;
            let got = arrivals(&push, &names, &text, started + ROUND_DEADLINE);
            let ms = |at: &Instant| at.duration_since(started).as_secs_f64() * 1000.0;
            let (earliest, latest) = (
                got.iter().map(ms).fold(f64::MAX, f64::min),
                got.iter().map(ms).fold(0.0, f64::max),
            );
            if cold.is_none() {
                cold = Some(latest);
                continue;
            }
            first.push(earliest);
            last.push(latest);
        }
        rows.insert(
            size,
            (
                median(&mut first),
                median(&mut last),
                last.iter().copied().fold(0.0, f64::max),
            ),
        );
    }
    let refused: usize = push
        .all_received()
        .values()
        .flatten()
        .filter(|r| r.refused.is_some())
        .count();
    assert_eq!(
        refused, 0,
        "every push was signed and encrypted as a push service requires"
    );

    println!("## Push (message to notification, emulator)");
    println!();
    println!("| subscribers away | to the first push, median | to the last push, median | to the last push, slowest |");
    println!("| --- | --- | --- | --- |");
    for (size, (first, last, slowest)) in rows {
        println!("| {size} | {first:.0} ms | {last:.0} ms | {slowest:.0} ms |");
    }
    println!();
    println!(
        "first message after the launch (notify starts cold, reads its key): {:.0} ms to its push",
        cold.unwrap_or_default()
    );
}
