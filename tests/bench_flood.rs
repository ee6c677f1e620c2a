//! The flood benchmark (`bench/flood.sh`): room A has 1,000 idle
//! connections and one client floods it at its limit from three sockets
//! and over HTTP, while two people chat in room B. Prints room B's
//! send-to-receipt times quiet and during the flood (goal: at most 2x),
//! what the flood got in and what was refused, idle connections that did
//! not get every accepted message exactly once (goal: 0) and dead-lettered
//! fan-out work (goal: 0). Ignored: run it with the script.

mod support;

use support::flood::median;
use support::Emulator;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark that prints numbers: run bench/flood.sh"]
async fn a_flood_next_to_a_quiet_room() {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let idle = if quick { 20 } else { 1_000 };
    let emulator = Emulator::start();
    let wait = std::time::Duration::from_secs(30);
    let report = support::flood::run(&emulator, idle, wait).await;
    let quiet = median(&report.quiet_ms);
    let flooded = median(&report.flooded_ms);
    println!("\n## Flood next to a quiet room (room A: {idle} idle connections)\n");
    println!("| measure | value |");
    println!("| --- | ---: |");
    println!("| room B send to receipt, quiet, median ms | {quiet:.0} |");
    println!("| room B send to receipt, during the flood, median ms | {flooded:.0} |");
    println!(
        "| ratio (goal: at most 2) | {:.2} |",
        flooded / quiet.max(1.0)
    );
    println!(
        "| room B messages not there within {} s, during the flood (goal: 0) | {} |",
        wait.as_secs(),
        report.late
    );
    println!(
        "| flood requests refused as over the limit | {} |",
        report.refused
    );
    println!("| flood messages accepted | {} |", report.accepted.len());
    println!(
        "| idle connections without every accepted message exactly once (goal: 0) | {} |",
        report.wrong.len()
    );
    println!(
        "| fan-out messages dead-lettered (goal: 0) | {} |",
        report.dead_letters
    );
    println!();
    assert!(
        report.wrong.is_empty() && report.dead_letters == 0,
        "delivery failed"
    );
}
