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
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn twice_the_use_costs_twice_as_much_beyond_the_fixed_part() {
    let prices = PriceTable::embedded().prices;
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
    let prices = PriceTable::embedded().prices;
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
    let prices = PriceTable::embedded().prices;
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
    let table = PriceTable::embedded();
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
