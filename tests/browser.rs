//! The chat in a real browser: Debian's Chromium driven headless by
//! playwright-core (tests/browser/chat.mjs), against the stack that
//! `chatctl --local launch` deployed with the repository's real site. Two
//! people chat live with edits and deletes, a reload shows the history in
//! order, and a third without JavaScript reads the room page and posts
//! through its form; a fourth turns notifications on, her service worker
//! shows a pushed message, and a message sent while she is away reaches a
//! push service stand-in. Screenshots of each state are kept as test artefacts in
//! the target directory (`browser-screenshots/`).

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::free_port;
use support::local::{local_chatctl, Down};
use support::project::{json_of, repo, Project};

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

#[tokio::test(flavor = "multi_thread")]
async fn two_browsers_chat_and_a_third_without_javascript_posts_through_the_form() {
    let script = repo().join("tests/browser/chat.mjs");
    assert!(
        repo()
            .join("tests/browser/node_modules/playwright-core")
            .exists()
            && chromium().exists(),
        "the browser test needs Chromium and playwright-core: run scripts/setup.sh"
    );
    // Three browsers on one address (127.0.0.1) are one client to the
    // per-client limits (tests/limits.rs): lifted out of the way here.
    let project =
        Project::with_real_site("chat:\n  rate_limit:\n    messages: 1000\n    per_seconds: 60\n");
    let config = project.config.clone();
    let port = free_port().to_string();
    json_of(
        local_chatctl(&config).args(["local", "up", "--port", &port]),
        0,
    );
    let _down = Down(&config);
    let (launched, _) = json_of(local_chatctl(&config).args(["--local", "launch"]), 0);
    let site = launched["outputs"]["SiteUrl"]
        .as_str()
        .expect("SiteUrl")
        .to_string();

    let screenshots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../browser-screenshots");
    // Only this run's screenshots count.
    let _ = std::fs::remove_dir_all(&screenshots);
    let run = Command::new("node")
        .arg(&script)
        .arg(&site)
        .arg(&screenshots)
        .env("CHROMIUM", chromium())
        .output()
        .expect("run node (install Node.js 20)");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}\nscreenshots: {}",
        screenshots.display()
    );
    assert!(stdout.contains("every step passed"), "{stdout}\n{stderr}");
    for shot in [
        "01-joined",
        "04-deleted",
        "06-no-javascript",
        "08-script-as-text",
        "11-notifications-on",
    ] {
        assert!(
            screenshots.join(format!("{shot}.png")).exists(),
            "no screenshot {shot}"
        );
    }
    println!("screenshots: {}", screenshots.display());
}

/// Sign-in on: a person created in the stack's user pool signs in through
/// the hosted UI and chats under the name from her token
/// (tests/browser/sign_in.mjs).
#[tokio::test(flavor = "multi_thread")]
async fn a_person_signs_in_through_the_hosted_ui_and_chats_under_her_own_name() {
    let script = repo().join("tests/browser/sign_in.mjs");
    assert!(
        chromium().exists(),
        "the browser test needs Chromium: run scripts/setup.sh"
    );
    let project = Project::with_real_site("auth:\n  provider: cognito\n");
    let config = project.config.clone();
    let port = free_port();
    json_of(
        local_chatctl(&config).args(["local", "up", "--port", &port.to_string()]),
        0,
    );
    let _down = Down(&config);
    let (launched, _) = json_of(local_chatctl(&config).args(["--local", "launch"]), 0);
    let outputs = &launched["outputs"];
    let site = outputs["SiteUrl"].as_str().expect("SiteUrl").to_string();
    let pool = outputs["UserPoolId"].as_str().expect("UserPoolId");
    let password = "correct horse battery staple";
    support::cognito::create_user(port, pool, "ada", password, false);

    let screenshots =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../browser-screenshots/sign-in");
    let _ = std::fs::remove_dir_all(&screenshots);
    let run = Command::new("node")
        .arg(&script)
        .arg(&site)
        .arg("ada")
        .arg(password)
        .arg(&screenshots)
        .env("CHROMIUM", chromium())
        .output()
        .expect("run node (install Node.js 20)");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success() && stdout.contains("every step passed"),
        "the sign-in browser test failed:\n{stdout}\n{stderr}\nscreenshots: {}",
        screenshots.display()
    );
    for shot in ["21-signed-in", "22-verified-message", "23-signed-out"] {
        assert!(
            screenshots.join(format!("{shot}.png")).exists(),
            "no screenshot {shot}"
        );
    }
}
