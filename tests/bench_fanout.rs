//! Benchmark, not a test: the stream fan-out to 1, 100 and 1,000 live
//! WebSocket connections on the emulator, with the real handler binaries that
//! `chatctl launch` deployed. Run it with `bench/fanout.sh`; it is ignored by
//! the test suite because it only prints numbers.
//!
//! For each size it reports the time from a send to the last receipt, what
//! each extra connection adds to it, the spread between the first and last
//! receipt, and the fan-out process's peak resident memory (VmHWM in /proc:
//! the real process the emulator runs).

mod support;

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use futures::SinkExt;
use serde_json::{json, Value};
use support::project::{chatctl, json_of, Project};
use support::ws::{open, open_direct, Socket};
use support::Emulator;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const SIZES: [usize; 5] = [1, 100, 1_000, 5_000, 10_000];
const REPEATS: usize = 5;
/// BENCH_QUICK=1 (CI, through bench/fanout.sh): small rooms and one round,
/// to check that the benchmark works, not its numbers.
const QUICK_SIZES: [usize; 2] = [1, 10];

fn quick() -> bool {
    std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1")
}
/// Connections opened at once while growing the room.
const OPEN_CONCURRENCY: usize = 16;
/// The longest one fan-out may take before the benchmark gives up.
const ROUND_DEADLINE: Duration = Duration::from_secs(180);
/// Opening a size's connections may take this long; past it the benchmark
/// reports the largest size it reached and why it stopped.
const OPEN_DEADLINE: Duration = Duration::from_secs(240);

/// One frame seen by one client: a `message` (id of the message) or the
/// sender's `sent` acknowledgement (id of the stored message).
struct Receipt {
    /// Which listener got it (the sender's own socket is `usize::MAX`).
    listener: usize,
    kind: String,
    id: String,
    at: Instant,
}

/// Reads every frame of `frames` until it closes, forwarding message and
/// sent frames with the moment they arrived.
fn listen<S>(listener: usize, mut frames: S, receipts: mpsc::UnboundedSender<Receipt>)
where
    S: futures::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>>
        + Unpin
        + Send
        + 'static,
{
    tokio::spawn(async move {
        while let Some(Ok(frame)) = frames.next().await {
            let at = Instant::now();
            let WsMessage::Text(text) = frame else {
                continue;
            };
            let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            let id = match frame["type"].as_str() {
                Some("message") => &frame["message"]["id"],
                Some("sent") => &frame["id"],
                _ => continue,
            };
            let receipt = Receipt {
                listener,
                kind: frame["type"].as_str().unwrap_or_default().to_string(),
                id: id.as_str().unwrap_or_default().to_string(),
                at,
            };
            if receipts.send(receipt).is_err() {
                return;
            }
        }
    });
}

/// The next receipt of `kind` (and `id`, when given) before `deadline`.
async fn next_receipt(
    receipts: &mut mpsc::UnboundedReceiver<Receipt>,
    kind: &str,
    id: Option<&str>,
    deadline: Instant,
) -> Receipt {
    loop {
        let receipt = tokio::time::timeout_at(deadline.into(), receipts.recv())
            .await
            .unwrap_or_else(|_| panic!("no `{kind}` frame by the deadline"))
            .expect("the socket's reader is alive");
        if receipt.kind == kind && id.is_none_or(|id| receipt.id == id) {
            return receipt;
        }
    }
}

/// Peak and current resident memory (KiB) of the process running `function`.
fn memory_of(function: &str) -> Option<(u64, u64)> {
    let wanted = format!("AWS_LAMBDA_FUNCTION_NAME={function}");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if !environ
            .split(|b| *b == 0)
            .any(|var| var == wanted.as_bytes())
        {
            continue;
        }
        let status = std::fs::read_to_string(entry.path().join("status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        };
        return Some((field("VmHWM:")?, field("VmRSS:")?));
    }
    None
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark that prints numbers: run bench/fanout.sh"]
async fn fanout_to_rooms_of_1_to_10000_connections() {
    let emulator = Emulator::start();
    // The sender sends one message per round: lift the rate limit out of the way.
    // Every socket comes from 127.0.0.1: lift the connection caps too.
    let project = Project::new(
        "chat:\n  rate_limit:\n    messages: 1000\n    per_seconds: 1\n  connections:\n    per_address: 20000\n    per_room: 20000\n",
    );
    let (launched, _) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    let outputs = launched["outputs"].clone();
    let fanout = outputs["FanoutFunctionName"]
        .as_str()
        .expect("FanoutFunctionName output")
        .to_string();

    let (receipts_tx, mut receipts) = mpsc::unbounded_channel();
    let (own_tx, mut own) = mpsc::unbounded_channel();
    let (mut sender, sender_frames) = open(&emulator, &outputs, "room=bench&name=sender")
        .await
        .split();
    listen(usize::MAX, sender_frames, own_tx);
    let mut listeners = 0usize;
    // Messages every listener has had: one more copy of any is a duplicate.
    let mut delivered = std::collections::HashSet::new();
    let mut rows = Vec::new();
    let mut stopped = None;
    let (sizes, repeats) = if quick() {
        (&QUICK_SIZES[..], 1)
    } else {
        (&SIZES[..], REPEATS)
    };
    for &size in sizes {
        // The sender is one of the room's connections; listeners are the rest.
        let wanted = size - 1;
        let previous = listeners + 1;
        let opening = Instant::now();
        // Straight to the emulator's port: through the rules layer every
        // socket would cost this process three descriptors, and 10,000
        // would pass the machine's limit of 20,000.
        let open_until = opening + OPEN_DEADLINE;
        let opened: Vec<(usize, Result<Socket, String>)> = stream::iter(listeners..wanted)
            .map(|i| {
                let (emulator, outputs) = (&emulator, &outputs);
                async move {
                    if Instant::now() > open_until {
                        return (i, Err(format!("opening took over {OPEN_DEADLINE:?}")));
                    }
                    (
                        i,
                        open_direct(emulator, outputs, &format!("room=bench&name=l{i}")).await,
                    )
                }
            })
            .buffer_unordered(OPEN_CONCURRENCY)
            .collect()
            .await;
        let mut refused = None;
        for (i, socket) in opened {
            match socket {
                Ok(socket) => {
                    listen(i, socket, receipts_tx.clone());
                    listeners += 1;
                }
                Err(e) => refused = Some(e),
            }
        }
        if let Some(reason) = refused {
            stopped = Some(format!(
                "stopped short of {size} connections at {}: {reason}; the emulator's one Python process admitted {:.1} connections a second by then, slowing as the count grew",
                listeners + 1,
                (listeners + 1 - previous) as f64 / opening.elapsed().as_secs_f64()
            ));
            break;
        }
        eprintln!("{size} connections open after {:?}", opening.elapsed());

        // One unmeasured round per size warms the fan-out process.
        let mut end_to_end = Vec::new();
        let mut spread = Vec::new();
        for round in 0..=repeats {
            let started = Instant::now();
            let deadline = started + ROUND_DEADLINE;
            let text = format!("{size} connections, round {round}");
            sender
                .send(WsMessage::text(
                    json!({"action": "send", "text": text}).to_string(),
                ))
                .await
                .expect("send");
            let id = next_receipt(&mut own, "sent", None, deadline).await.id;
            let own_copy = next_receipt(&mut own, "message", Some(&id), deadline)
                .await
                .at;
            let (mut first, mut last) = (own_copy, own_copy);
            let mut got = vec![false; listeners];
            let mut counted = 0;
            while counted < listeners {
                let receipt = tokio::time::timeout_at(deadline.into(), receipts.recv())
                    .await
                    .unwrap_or_else(|_| panic!("{counted} of {listeners} got {id} by the deadline"))
                    .expect("the readers are alive");
                if receipt.kind != "message" {
                    continue;
                }
                assert!(
                    !delivered.contains(&receipt.id),
                    "listener {} got message {} again",
                    receipt.listener,
                    receipt.id
                );
                if receipt.id != id {
                    continue;
                }
                counted += 1;
                assert!(
                    !std::mem::replace(&mut got[receipt.listener], true),
                    "listener {} got message {id} twice",
                    receipt.listener
                );
                first = first.min(receipt.at);
                last = last.max(receipt.at);
            }
            delivered.insert(id.clone());
            if round > 0 {
                end_to_end.push((last - started).as_secs_f64() * 1000.0);
                spread.push((last - first).as_secs_f64() * 1000.0);
            }
        }
        let memory = memory_of(&fanout);
        rows.push((size, median(&mut end_to_end), median(&mut spread), memory));
    }

    // The one-connection round is the fixed cost (stream delivery, storage,
    // snapshot); what a size adds over it, per extra connection, is the
    // fan-out's cost per connection.
    let base = rows[0].1;
    println!("\n## Fan-out on the emulator ({repeats} rounds per size, medians)\n");
    println!("| connections | send to last receipt ms | added per extra connection ms | first to last receipt ms | fan-out VmHWM MiB | fan-out VmRSS MiB |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for (size, e2e, spread, memory) in &rows {
        let added = if *size > 1 {
            format!("{:.3}", (e2e - base) / (*size as f64 - 1.0))
        } else {
            String::new()
        };
        let (hwm, rss) = memory.map_or(("?".to_string(), "?".to_string()), |(h, r)| {
            (
                format!("{:.1}", h as f64 / 1024.0),
                format!("{:.1}", r as f64 / 1024.0),
            )
        });
        println!("| {size} | {e2e:.0} | {added} | {spread:.0} | {hwm} | {rss} |");
    }
    if let Some(stopped) = stopped {
        println!("\n{stopped}");
    }
}
