//! A flood next to a quiet room, for tests/flood.rs (small) and
//! tests/bench_flood.rs (room A of 1,000): room A has `idle` connections
//! that only listen, one client floods it as fast as it can from three
//! sockets and over HTTP (its limit refuses most), and room B, from another
//! address, has two people chatting. What comes back: room B's
//! send-to-receipt times before and during the flood, what the flood got
//! in and what was refused, whether every idle connection got every
//! accepted message exactly once, and what the dead-letter queues hold.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use futures::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::project::{aws, chatctl, json_of, Project};
use super::ws::{open_direct, open_from, Socket};
use super::Emulator;

pub struct Report {
    /// Room B's send-to-receipt milliseconds, before the flood and during it.
    pub quiet_ms: Vec<f64>,
    pub flooded_ms: Vec<f64>,
    /// Room B's messages that did not arrive within the run's `wait`.
    pub late: usize,
    /// Messages the flood got in (ids), and requests refused as over the limit.
    pub accepted: Vec<String>,
    pub refused: usize,
    /// Idle connections of room A that did not get exactly the accepted
    /// messages, each once: (connection, what it got).
    pub wrong: Vec<(usize, Vec<String>)>,
    /// Messages in the fan-out's dead-letter queues afterwards.
    pub dead_letters: usize,
}

const FLOOD_FOR: Duration = Duration::from_secs(8);
/// Room B's pace: under its own limit of 5 messages in 5 s.
const PACE: Duration = Duration::from_millis(1200);
/// The flood's bound, whatever the machine's speed.
const MAX_FLOOD_REQUESTS: usize = 400;

fn reply_of(text: &str) -> Option<Value> {
    let frame: Value = serde_json::from_str(text).ok()?;
    matches!(frame["type"].as_str(), Some("sent" | "error")).then_some(frame)
}

/// Sends on one socket until the flood ends; the ids accepted, the refusals.
async fn flood_socket(
    mut socket: Socket,
    until: Instant,
    budget: &std::sync::atomic::AtomicUsize,
) -> (Vec<String>, usize) {
    let (mut accepted, mut refused) = (Vec::new(), 0);
    while Instant::now() < until && budget.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) > 0 {
        let text = json!({"action": "send", "text": "flood"}).to_string();
        if socket.send(WsMessage::text(text)).await.is_err() {
            break;
        }
        let reply = loop {
            match tokio::time::timeout(Duration::from_secs(15), socket.next()).await {
                Ok(Some(Ok(WsMessage::Text(text)))) => {
                    if let Some(reply) = reply_of(text.as_str()) {
                        break Some(reply);
                    }
                }
                Ok(Some(Ok(_))) => {}
                _ => break None,
            }
        };
        match reply {
            Some(frame) if frame["type"] == "sent" => {
                accepted.push(frame["id"].as_str().unwrap_or_default().to_string())
            }
            Some(frame) if frame["code"] == "rate_limited" => refused += 1,
            _ => break,
        }
    }
    (accepted, refused)
}

/// Times one message from alice to bob in room B; `None` when it did not
/// arrive within `wait`.
async fn exchange(alice: &mut Socket, bob: &mut Socket, n: usize, wait: Duration) -> Option<f64> {
    let text = format!("b-{n}");
    let started = Instant::now();
    alice
        .send(WsMessage::text(
            json!({"action": "send", "text": text}).to_string(),
        ))
        .await
        .expect("alice sends");
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let Ok(next) = tokio::time::timeout_at(deadline, bob.next()).await else {
            return None;
        };
        let Some(Ok(WsMessage::Text(frame))) = next else {
            continue;
        };
        let frame: Value = serde_json::from_str(frame.as_str()).expect("JSON");
        if frame["type"] == "message" && frame["message"]["text"] == text.as_str() {
            return Some(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
}

/// `wait`: how long one of room B's messages may take before it counts as late.
pub async fn run(emulator: &Emulator, idle: usize, wait: Duration) -> Report {
    // The idle connections all come from 127.0.0.1: lift the per-address cap.
    let project = Project::new(&format!(
        "chat:\n  connections:\n    per_address: {}\n",
        idle + 10
    ));
    let (launched, _) = json_of(chatctl(emulator, &project).arg("launch"), 0);
    let outputs = launched["outputs"].clone();
    let http_api = outputs["HttpApiId"].as_str().expect("http api").to_string();

    // Room A's listeners, each collecting the message ids it is sent.
    let listeners: Vec<Socket> = stream::iter(0..idle)
        .map(|i| {
            let outputs = &outputs;
            async move {
                open_direct(emulator, outputs, &format!("room=flooded&name=idle{i}"))
                    .await
                    .expect("an idle listener joins")
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let collectors: Vec<_> = listeners
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                let mut got = Vec::new();
                // Until the socket has been quiet for 5 s after the flood.
                while let Ok(Some(Ok(frame))) = tokio::time::timeout(
                    Duration::from_secs(5 + FLOOD_FOR.as_secs() * 2),
                    socket.next(),
                )
                .await
                {
                    let WsMessage::Text(text) = frame else {
                        continue;
                    };
                    let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
                        continue;
                    };
                    if frame["type"] == "message" {
                        got.push(
                            frame["message"]["id"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                        );
                    }
                }
                got
            })
        })
        .collect();

    let b = Ipv4Addr::new(127, 0, 0, 2);
    let mut alice = open_from(emulator, &outputs, "room=quiet&name=alice", b)
        .await
        .expect("alice");
    let mut bob = open_from(emulator, &outputs, "room=quiet&name=bob", b)
        .await
        .expect("bob");
    // Alice keeps to her own limit (5 in 5 s): one message every 1.2 s.
    let mut quiet_ms = Vec::new();
    for n in 0..4 {
        quiet_ms.push(
            exchange(&mut alice, &mut bob, n, wait)
                .await
                .expect("room B chats before the flood"),
        );
        tokio::time::sleep(PACE).await;
    }

    // The flood: three sockets and HTTP, one client (127.0.0.1), as fast as
    // the answers come, for FLOOD_FOR or MAX_FLOOD_REQUESTS requests.
    let until = Instant::now() + FLOOD_FOR;
    let budget = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(MAX_FLOOD_REQUESTS));
    let mut floods = Vec::new();
    for n in 0..3 {
        let socket = open_from(
            emulator,
            &outputs,
            &format!("room=flooded&name=flood{n}"),
            Ipv4Addr::LOCALHOST,
        )
        .await
        .expect("a flooding socket");
        let budget = budget.clone();
        floods.push(tokio::spawn(async move {
            flood_socket(socket, until, &budget).await
        }));
    }
    let port = emulator.port();
    let http_budget = budget.clone();
    let http = tokio::task::spawn_blocking(move || {
        let (mut accepted, mut refused) = (Vec::new(), 0);
        while Instant::now() < until
            && http_budget.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) > 0
        {
            let Some(answer) = super::http_request(
                port,
                "POST",
                &format!("/_aws/execute-api/{http_api}/$default/api/rooms/flooded/messages"),
                "application/json",
                r#"{"name":"flood","text":"flood over http"}"#,
            ) else {
                break;
            };
            let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
            if answer.starts_with("HTTP/1.1 201") {
                let posted: Value = serde_json::from_str(body.trim()).unwrap_or_default();
                accepted.push(
                    posted["message"]["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            } else if answer.starts_with("HTTP/1.1 429") {
                refused += 1;
            } else {
                break;
            }
        }
        (accepted, refused)
    });
    let (mut flooded_ms, mut late) = (Vec::new(), 0);
    let mut n = 4;
    while Instant::now() < until {
        match exchange(&mut alice, &mut bob, n, wait).await {
            Some(ms) => flooded_ms.push(ms),
            None => late += 1,
        }
        n += 1;
        tokio::time::sleep(PACE).await;
    }
    let (mut accepted, mut refused) = http.await.expect("http flood");
    for flood in floods {
        let (ids, refusals) = flood.await.expect("socket flood");
        accepted.extend(ids);
        refused += refusals;
    }

    // Every idle connection: exactly the accepted messages, each once.
    let mut wanted = accepted.clone();
    wanted.sort();
    let mut wrong = Vec::new();
    for (i, collector) in collectors.into_iter().enumerate() {
        let mut got = collector.await.expect("collector");
        got.sort();
        if got != wanted {
            wrong.push((i, got));
        }
    }

    // The fan-out's dead-letter queues.
    let aws = aws(emulator).await;
    let resources = aws
        .cloudformation()
        .describe_stack_resources()
        .stack_name("e2e-dev")
        .send()
        .await
        .expect("describe_stack_resources");
    let queues: BTreeMap<String, String> = resources
        .stack_resources()
        .iter()
        .filter(|r| r.resource_type() == Some("AWS::SQS::Queue"))
        .filter_map(|r| {
            Some((
                r.logical_resource_id()?.to_string(),
                r.physical_resource_id()?.to_string(),
            ))
        })
        .collect();
    let sqs = aws_sdk_sqs::Client::new(aws.sdk_config());
    let mut dead_letters = 0;
    for logical in ["DeliveryDeadLetters", "FanoutFailedBatches"] {
        let url = queues
            .get(logical)
            .unwrap_or_else(|| panic!("no {logical}: {queues:?}"));
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .expect("get_queue_attributes");
        dead_letters += attributes
            .attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            })
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_default();
    }
    Report {
        quiet_ms,
        flooded_ms,
        late,
        accepted,
        refused,
        wrong,
        dead_letters,
    }
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}
