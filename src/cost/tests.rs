use super::prices::PriceTable;
use super::*;

fn stack(waf: bool) -> Stack {
    Stack {
        architecture: Architecture::X86_64,
        memory_mb: [
            "connect",
            "disconnect",
            "fanout",
            "http",
            "ingest",
            "message",
        ]
        .into_iter()
        .map(|h| (h.to_string(), 256))
        .collect(),
        history_length: 50,
        message_retention_days: 30,
        log_retention_days: 14,
        page_bytes: 60_000,
        waf,
        measured: Default::default(),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn twice_the_use_costs_twice_as_much_beyond_the_fixed_part() {
    let prices = PriceTable::embedded_for("us-east-1").0.prices;
    for waf in [false, true] {
        let usage = Usage::default();
        let once = estimate(&stack(waf), &usage, &prices);
        let twice = estimate(&stack(waf), &usage.scaled(2.0), &prices);
        assert_eq!(once.fixed, twice.fixed);
        assert!(
            close(twice.total - twice.fixed, 2.0 * (once.total - once.fixed)),
            "{} vs 2 x {}",
            twice.total,
            once.total
        );
        for (a, b) in once.lines.iter().zip(&twice.lines) {
            let fixed = a.service == "WAF" && a.driver != "requests";
            let expected = if fixed { a.monthly } else { 2.0 * a.monthly };
            assert!(close(b.monthly, expected), "{} {}", a.service, a.driver);
        }
    }
    assert!(estimate(&stack(true), &Usage::default(), &prices).fixed > 0.0);
}

#[test]
fn a_message_costs_more_in_a_bigger_room_by_its_posts() {
    let prices = PriceTable::embedded_for("us-east-1").0.prices;
    let in_room = |n: f64| {
        let usage = Usage {
            room_size: n,
            ..Usage::default()
        };
        estimate(&stack(false), &usage, &prices).one_message
    };
    assert!(in_room(3.0) < in_room(50.0));
    assert!(in_room(50.0) < in_room(10_000.0));
    // The outbound WebSocket messages dominate a big room: each of its
    // 10,000 connections costs at least one message's price.
    assert!(in_room(10_000.0) > 10_000.0 * prices.websocket_message);
    assert!(in_room(10_000.0) < 2.0 * 10_002.0 * prices.websocket_message);
}

#[test]
fn every_line_is_quantity_times_its_price_and_the_total_their_sum() {
    let prices = PriceTable::embedded_for("us-east-1").0.prices;
    let estimate = estimate(&stack(true), &Usage::default(), &prices);
    for line in &estimate.lines {
        assert!(
            close(line.monthly, line.quantity * line.unit_price),
            "{line:?}"
        );
        assert!(line.quantity >= 0.0, "{line:?}");
    }
    let sum: f64 = estimate.lines.iter().map(|l| l.monthly).sum();
    assert!(close(estimate.total, sum));
}

#[test]
fn a_price_file_needs_every_price_and_no_negative_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let table = PriceTable::embedded_for("us-east-1").0;
    let mut json = serde_json::to_value(&table).expect("json");
    let path = dir.path().join("prices.json");
    std::fs::write(&path, json.to_string()).expect("write");
    assert_eq!(PriceTable::load(&path).expect("loads"), table);
    json["prices"]["sqs_request"] = serde_json::json!(-1.0);
    std::fs::write(&path, json.to_string()).expect("write");
    let negative = PriceTable::load(&path).expect_err("negative");
    assert!(negative.to_string().contains("sqs_request"), "{negative}");
    json["prices"]
        .as_object_mut()
        .expect("prices")
        .remove("sqs_request");
    std::fs::write(&path, json.to_string()).expect("write");
    let missing = PriceTable::load(&path).expect_err("missing");
    assert!(missing.to_string().contains("sqs_request"), "{missing}");
}

#[test]
fn every_embedded_table_is_its_regions_and_has_the_free_tier() {
    for region in PriceTable::embedded_regions() {
        let (table, exact) = PriceTable::embedded_for(region);
        assert!(exact);
        assert_eq!(table.region, region);
        assert!(table.free_tier.is_some(), "{region}");
        assert_eq!(table.currency, "USD");
    }
    let (table, exact) = PriceTable::embedded_for("ap-south-1");
    assert!(!exact);
    assert_eq!(table.region, "us-east-1");
}

#[test]
fn the_free_tier_takes_off_at_most_its_allowance_a_line_at_a_time() {
    let table = PriceTable::embedded_for("us-east-1").0;
    let free = table.free_tier.clone().expect("free tier");
    let small = estimate(&stack(false), &Usage::default(), &table.prices);
    let applied = free_tier::apply(&small, &free);
    // A small chat's Lambda requests are all free, and no more than them.
    let requests = small
        .lines
        .iter()
        .find(|l| l.price == "lambda_request")
        .expect("Lambda requests");
    assert!(requests.quantity < free.lambda_requests);
    let taken = |name: &str| taken_from(&applied, name);
    assert!(close(taken("lambda_requests").saved, requests.monthly));
    assert!(close(taken("lambda_requests").used, requests.quantity));
    // The allowances that cover nothing the chat uses save nothing.
    assert_eq!(taken("sns_publishes").saved, 0.0);
    assert!(close(applied.total, small.total - applied.saved));
    assert!(applied.total >= 0.0 && applied.saved > 0.0);

    // A busy chat uses the allowance up: exactly the allowance is free.
    let busy = estimate(
        &stack(false),
        &Usage::default().scaled(10_000.0),
        &table.prices,
    );
    let applied = free_tier::apply(&busy, &free);
    let requests = taken_from(&applied, "lambda_requests");
    assert_eq!(requests.used, free.lambda_requests);
    assert!(close(
        requests.saved,
        free.lambda_requests * table.prices.lambda_request
    ));
    // Logs' 5 GB goes to ingestion first, then to storage.
    let logs = taken_from(&applied, "logs_gb");
    let ingested = busy
        .lines
        .iter()
        .find(|l| l.price == "logs_ingestion_gb")
        .expect("ingestion");
    assert!(ingested.quantity > free.logs_gb);
    assert!(close(
        logs.saved,
        free.logs_gb * table.prices.logs_ingestion_gb
    ));
    // And the estimate itself is the same with or without it.
    assert_eq!(
        busy.total,
        estimate(
            &stack(false),
            &Usage::default().scaled(10_000.0),
            &table.prices
        )
        .total
    );
}

fn taken_from(applied: &free_tier::Applied, name: &str) -> free_tier::Deduction {
    applied
        .deductions
        .iter()
        .find(|d| d.allowance == name)
        .cloned()
        .expect(name)
}

#[test]
fn a_measured_duration_replaces_the_assumed_one() {
    let prices = PriceTable::embedded_for("us-east-1").0.prices;
    let compute = |stack: &Stack| {
        estimate(stack, &Usage::default(), &prices)
            .lines
            .into_iter()
            .find(|l| l.driver == "compute")
            .expect("compute")
            .quantity
    };
    let assumed = compute(&stack(false));
    let mut measured = stack(false);
    let message_calls = {
        let usage = Usage::default();
        let sends = usage.messages_per_day * DAYS_PER_MONTH;
        sends * work::send(10, 50).invocations.message
            + usage.people_per_day
                * usage.joins_per_person
                * DAYS_PER_MONTH
                * work::join(10, 50).invocations.message
    };
    measured.measured.insert(
        "message".into(),
        durations::Measured {
            mean_ms: 125.0,
            invocations: 40.0,
        },
    );
    // 100 ms more a call at 0.25 GB.
    assert!(close(
        compute(&measured) - assumed,
        message_calls * 0.25 * 0.1
    ));
}

#[test]
fn a_join_writes_its_connection_and_the_room_index_whatever_the_message_size() {
    let prices = PriceTable::embedded_for("us-east-1").0.prices;
    let write_units = |message_bytes: f64| {
        let usage = Usage {
            messages_per_day: 0.0,
            people_per_day: 1.0,
            joins_per_person: 1.0,
            message_bytes,
            ..Usage::default()
        };
        estimate(&stack(false), &usage, &prices)
            .lines
            .into_iter()
            .find(|l| l.price == "dynamodb_write_request_unit")
            .expect("write units")
            .quantity
    };
    // A day's join, 30 times: the connection put and deleted, each also
    // written to `by-room-keys` and `by-room-people`, and six counter updates.
    assert_eq!(write_units(200.0), DAYS_PER_MONTH * (1.0 + 1.0 + 4.0 + 6.0));
    // Only a message's size changes what its put costs.
    assert_eq!(write_units(5_000.0), write_units(200.0));
}

/// Presence tells everyone else in a listed room of an arrival and of a
/// leaving; a room too big to list is told nothing, whatever its size.
#[test]
fn a_join_is_told_to_the_rest_of_a_small_room_and_to_nobody_in_a_big_one() {
    let max = work::PRESENCE_LIST_MAX as u64;
    assert_eq!(work::join(1, 50).posts, 1.0, "alone: the history page only");
    assert_eq!(work::join(3, 50).posts, 1.0 + 2.0 * 2.0);
    assert_eq!(work::join(max, 50).posts, 1.0 + 2.0 * (max as f64 - 1.0));
    assert_eq!(work::join(max + 1, 50).posts, 1.0);
    assert_eq!(work::join(10_000, 50).posts, 1.0);
    // Each of the three presence reads stops at PRESENCE_LIST_MAX + 1.
    assert_eq!(work::join(10_000, 50).people_read, 3.0 * (max as f64 + 1.0));
}
