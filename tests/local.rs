//! `chatctl local` end to end: `local up` starts the emulator in the
//! background, `--local launch` deploys the real stack into it and serves the
//! site to this machine's browser (static files, `config.json` with the
//! emulator's WebSocket URL, `/api` form posts and the room snapshots), and
//! `local down` stops every process it started.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::local::{local_chatctl, Down};
use support::project::{json_of, Project};
use support::{free_port, http_get, http_request, port_open, process_exists};

fn port_of(url: &str) -> u16 {
    url.trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

#[tokio::test(flavor = "multi_thread")]
async fn local_up_launch_serves_the_chat_to_this_machine_and_down_stops_it() {
    let project = Project::new("");
    let config = project.config.clone();
    let port = free_port();

    let (up, _) = json_of(
        local_chatctl(&config).args(["local", "up", "--port", &port.to_string()]),
        0,
    );
    let _down = Down(&config);
    assert_eq!(up["running"], true);
    assert_eq!(up["endpoint"], format!("http://127.0.0.1:{port}"));
    let pid = up["pid"].as_u64().expect("pid") as u32;
    assert!(process_exists(pid));
    // A second `up` finds it running and starts nothing.
    let (again, _) = json_of(local_chatctl(&config).args(["local", "up"]), 0);
    assert_eq!(
        (again["started"].as_bool(), again["pid"].as_u64()),
        (Some(false), Some(pid as u64))
    );

    let (launched, _) = json_of(local_chatctl(&config).args(["--local", "launch"]), 0);
    let outputs = &launched["outputs"];
    let site_url = outputs["SiteUrl"].as_str().expect("SiteUrl");
    let site = port_of(site_url);
    let websocket = format!(
        "ws://127.0.0.1:{port}/_aws/execute-api/{}/{}",
        outputs["WebSocketApiId"].as_str().expect("api id"),
        outputs["WebSocketStageName"].as_str().expect("stage")
    );
    assert_eq!(outputs["WebSocketUrl"], websocket.as_str());

    // The site, from its bucket, with the default root object.
    let index = http_get(site, "/").expect("the site answers");
    assert!(index.starts_with("HTTP/1.1 200"), "{index}");
    assert!(body(&index).contains("<h1>Chat</h1>"), "{index}");
    let config_json: Value =
        serde_json::from_str(body(&http_get(site, "/config.json").expect("config.json")))
            .expect("config.json is JSON");
    assert_eq!(config_json["websocketUrl"], websocket.as_str());

    // Before any message, the room page is the site's seed: readable, with its form.
    let empty = http_get(site, "/rooms/general.html").expect("the room page");
    assert!(empty.starts_with("HTTP/1.1 200"), "{empty}");
    assert!(body(&empty).contains("No messages yet."), "{empty}");

    // A form post through /api, as a browser without JavaScript sends it.
    let posted = http_request(
        site,
        "POST",
        "/api/rooms/general/messages",
        "application/x-www-form-urlencoded",
        "name=pat&text=hello+from+a+form",
    )
    .expect("the API answers");
    assert!(posted.starts_with("HTTP/1.1 303"), "{posted}");
    assert!(posted.contains("/rooms/general.html"), "{posted}");
    // The stream fan-out writes the room page within a few seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = http_get(site, "/rooms/general.html").unwrap_or_default();
        if page.starts_with("HTTP/1.1 200") && page.contains("hello from a form") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no room page with the message: {page}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Launching again keeps the chat's page: the seed never overwrites it.
    json_of(local_chatctl(&config).args(["--local", "launch"]), 0);
    let page = http_get(site, "/rooms/general.html").unwrap_or_default();
    assert!(page.contains("hello from a form"), "{page}");

    // With protection.waf the HTTP API takes only what came through
    // CloudFront, whose secret header the site proxy adds in its place: the
    // form still posts through the site, a post straight to the API does not.
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{text}protection:\n  waf: true\n")).expect("config");
    json_of(local_chatctl(&config).args(["--local", "launch"]), 0);
    let form = |port: u16, path: &str| {
        http_request(
            port,
            "POST",
            path,
            "application/x-www-form-urlencoded",
            "name=pat&text=behind+the+edge",
        )
        .expect("an answer")
    };
    let through = form(site, "/api/rooms/general/messages");
    assert!(through.starts_with("HTTP/1.1 303"), "{through}");
    let straight = form(
        port,
        &format!(
            "/_aws/execute-api/{}/$default/api/rooms/general/messages",
            outputs["HttpApiId"].as_str().expect("HttpApiId")
        ),
    );
    assert!(straight.starts_with("HTTP/1.1 403"), "{straight}");

    let (status, _) = json_of(local_chatctl(&config).args(["local", "status"]), 0);
    assert_eq!(status["healthy"], true);
    assert!(status["sites"]
        .as_object()
        .is_some_and(|sites| sites.values().any(|url| url == site_url)));

    // The functions' unpacked code is in the project's own temporary
    // directory, which `local down` removes.
    let tmp = config
        .parent()
        .expect("a directory")
        .join(".chatctl/local/tmp");
    let unpacked = std::fs::read_dir(&tmp)
        .map(|entries| entries.count())
        .unwrap_or(0);
    assert!(unpacked > 0, "nothing unpacked in {}", tmp.display());
    let (down, _) = json_of(local_chatctl(&config).args(["local", "down"]), 0);
    assert_eq!(down["stopped"], true);
    assert!(!tmp.exists(), "{} outlived `local down`", tmp.display());
    assert!(!process_exists(pid), "the emulator outlived `local down`");
    assert!(!port_open(port), "port {port} still open");
    assert!(!port_open(site), "the site proxy outlived `local down`");
    let (status, _) = json_of(local_chatctl(&config).args(["local", "status"]), 0);
    assert_eq!(status["running"], false);
}
