//! Operating the deployed chat from the terminal, on the emulator: `chatctl
//! logs` reads and follows the functions' log lines, `chatctl invoke` calls
//! a function with a bundled sample or a file and reports its failures.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::project::{chatctl, chatctl_process, json_of, Project};
use support::ws::{expect, open, send};
use support::Emulator;

/// Lines reach CloudWatch Logs shortly after the invocation that wrote them.
const LOG_WAIT: Duration = Duration::from_secs(30);

/// The `message` function's request line for a `send` (its one line per
/// request), in Lambda's JSON log format or as text.
fn is_send_request(line: &Value) -> bool {
    let message = line["message"].as_str().unwrap_or_default();
    line["handler"] == "message"
        && message.contains("request")
        && (message.contains("\"action\":\"send\"") || message.contains("action=\"send\""))
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_finds_a_sent_messages_line_and_follow_sees_the_next_one() {
    let emulator = Emulator::start();
    let project = Project::new("");
    let (launched, _) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    let outputs = launched["outputs"].clone();
    let mut alice = open(&emulator, &outputs, "room=general&name=alice").await;
    send(&mut alice, json!({"action": "send", "text": "first words"})).await;
    expect(&mut alice, "sent").await;

    let deadline = Instant::now() + LOG_WAIT;
    let lines = loop {
        let (lines, _) = json_of(
            chatctl(&emulator, &project).args(["logs", "message", "connect", "--since", "10m"]),
            0,
        );
        if lines
            .as_array()
            .is_some_and(|l| l.iter().any(is_send_request))
        {
            break lines;
        }
        assert!(Instant::now() < deadline, "no send request line: {lines}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let lines = lines.as_array().expect("one JSON array");
    let handlers: Vec<&str> = lines.iter().filter_map(|l| l["handler"].as_str()).collect();
    assert!(handlers.contains(&"connect"), "{handlers:?}");
    let times: Vec<i64> = lines
        .iter()
        .filter_map(|l| l["timestamp"].as_i64())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "merged in time order"
    );
    assert!(
        lines.iter().all(|l| !l["message"]
            .as_str()
            .unwrap_or_default()
            .contains("first words")),
        "a client's text never reaches the logs"
    );
    // For people: the handler's name before each line, no colour in CI.
    let text = chatctl(&emulator, &project)
        .args(["logs", "message", "--filter", "request"])
        .output()
        .expect("run chatctl");
    assert_eq!(text.status.code(), Some(0));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.lines().any(|l| l.contains(" message | ")), "{text}");
    assert!(!text.contains('\u{1b}'), "no control characters");
    assert!(
        text.lines().all(|l| l.contains("request")),
        "--filter: {text}"
    );

    // --follow prints JSON Lines as they arrive, and Ctrl-C ends it with 0.
    let follow_log = project.dir.path().join("follow.stderr");
    let mut follow = chatctl_process(&emulator.endpoint(), &project)
        .args([
            "logs", "message", "--since", "10m", "--follow", "--output", "json",
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&follow_log).expect("a log file"))
        .spawn()
        .expect("start logs --follow");
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let stdout = follow.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut received = Vec::new();
    let mut next_send_line = || {
        let deadline = Instant::now() + LOG_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines_rx.recv_timeout(left).unwrap_or_else(|_| {
                let stderr = std::fs::read_to_string(&follow_log).unwrap_or_default();
                panic!("--follow printed no send line within {LOG_WAIT:?}: {received:#?}; stderr:\n{stderr}")
            });
            let parsed: Value = serde_json::from_str(&line).expect("each line is one JSON object");
            received.push(parsed.clone());
            if is_send_request(&parsed) {
                return parsed;
            }
        }
    };
    // The first message's line, from --since: the follow is running.
    let first = next_send_line();
    // Then a line written after it started.
    send(&mut alice, json!({"action": "send", "text": "second"})).await;
    expect(&mut alice, "sent").await;
    let seen = next_send_line();
    assert!(
        seen["timestamp"].as_i64() > first["timestamp"].as_i64(),
        "{first} then {seen}"
    );
    assert!(seen["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    let pid = follow.id() as libc::pid_t;
    // SAFETY: kill(2) with a child's pid and a signal number has no memory effects.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = follow.wait().expect("logs --follow exits");
    assert_eq!(status.code(), Some(0), "Ctrl-C is how a follow ends");
}

#[tokio::test(flavor = "multi_thread")]
async fn invoke_sends_a_sample_or_a_file_and_reports_a_function_error() {
    let emulator = Emulator::start();
    let project = Project::new("");
    json_of(chatctl(&emulator, &project).arg("launch"), 0);

    // The samples are listed without AWS.
    let (samples, _) = json_of(chatctl(&emulator, &project).args(["invoke", "--sample"]), 0);
    let names: Vec<&str> = samples
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        names.contains(&"http-form-post") && names.contains(&"stream-insert"),
        "{names:?}"
    );

    // A form post through the http function stores a message...
    let (posted, stderr) = json_of(
        chatctl(&emulator, &project).args(["invoke", "--sample", "http-form-post"]),
        0,
    );
    assert_eq!(posted["handler"], "http");
    assert_eq!(posted["response"]["statusCode"], 303, "{posted}");
    assert!(
        stderr.contains("request"),
        "the log's tail on stderr: {stderr}"
    );
    // ...which the history then holds.
    let (history, _) = json_of(chatctl(&emulator, &project).args(["invoke", "http"]), 0);
    let body: Value = serde_json::from_str(history["response"]["body"].as_str().unwrap_or("{}"))
        .expect("a JSON body");
    assert!(
        body["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["text"] == "hello from chatctl invoke")),
        "{body}"
    );

    // An event the function cannot read: exit 1 with the error's type and message.
    let event = project.dir.path().join("bad-event.json");
    std::fs::write(&event, r#"{"Records": "not a list"}"#).expect("write the event");
    let (failed, stderr) = json_of(
        chatctl(&emulator, &project)
            .args(["invoke", "fanout", "--event"])
            .arg(&event),
        1,
    );
    let message = failed["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("fanout failed (Unhandled): "),
        "{message}"
    );
    assert!(failed["error"]["hint"]
        .as_str()
        .is_some_and(|h| h.contains("chatctl logs")));
    assert!(!stderr.is_empty(), "the log's tail");

    // Mistakes are usage errors, before anything is invoked.
    for (args, says) in [
        (
            vec!["invoke", "message", "--sample", "sns"],
            "is an event for ingest",
        ),
        (
            vec!["invoke", "--sample", "nope"],
            "there is no sample `nope`",
        ),
        (vec!["invoke", "nobody"], "there is no handler `nobody`"),
    ] {
        let (refused, _) = json_of(chatctl(&emulator, &project).args(&args), 2);
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{args:?}: {message}");
    }
}
