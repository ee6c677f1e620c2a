//! `chatctl init` as a new user meets it: chatctl installed with `cargo
//! install --path` into a directory of its own, run in an empty directory
//! outside this repository, and the project it writes taken through `chatctl
//! local up` and `chatctl --local launch` to a message sent and received over
//! the WebSocket. Nothing of the repository is used but the installed binary
//! and the pinned tools (Zig, the installed emulator) a user installs too.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};
use support::project::{repo, shared_target_dir, tools_path};
use support::ws::{expect, send};
use support::{free_port, ministack_binary};

/// `cargo install --path . --root ROOT`: a debug build (`--debug`) into the
/// target directory the tests were built in, where chatctl's dependencies
/// are compiled already, so the install costs a link and not a cold build
/// of the AWS SDK.
fn install_chatctl(root: &Path) -> std::path::PathBuf {
    let mut cargo = Command::new("cargo");
    // Without this test's own package variables (see chatctl's calling_package_vars).
    for name in chatctl::build::cargo::calling_package_vars(std::env::vars_os().map(|(n, _)| n)) {
        cargo.env_remove(name);
    }
    let output = cargo
        .args([
            "install",
            "--locked",
            "--offline",
            "--debug",
            "--quiet",
            "--path",
        ])
        .arg(repo())
        .arg("--root")
        .arg(root)
        .env("CARGO_TARGET_DIR", shared_target_dir())
        .output()
        .expect("run cargo install");
    assert!(
        output.status.success(),
        "cargo install failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    root.join("bin/chatctl")
}

/// The installed chatctl in `dir`, with no AWS settings of its own and the
/// tools a user would have installed.
fn run(chatctl: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(chatctl)
        .args(args)
        .current_dir(dir)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_REGION")
        .env_remove("AWS_PROFILE")
        .env_remove("CHATCTL_CONFIG")
        .env_remove("CHATCTL_STAGE")
        .env_remove("CHATCTL_OUTPUT")
        .env_remove("CHATCTL_LOCAL")
        // The emulator and Zig installed once per machine, as setup.sh does.
        .env("CHATCTL_MINISTACK", ministack_binary())
        // Where the registry crates are compiled already, as a user's
        // CARGO_TARGET_DIR may be; the project's own crates have paths of
        // their own, so nothing of the repository's handlers is reused.
        .env("CARGO_TARGET_DIR", shared_target_dir())
        .env("PATH", tools_path())
        .env("CI", "true")
        .output()
        .expect("run the installed chatctl")
}

fn json_of(output: &Output, code: i32) -> Value {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "stderr:\n{stderr}");
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}); stderr:\n{stderr}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_installed_chatctl_inits_a_project_that_launches_locally_and_chats() {
    let temp = Scratch::new();
    assert!(!temp.path().starts_with(repo()), "outside the repository");
    let chatctl = install_chatctl(&temp.path().join("install"));
    let work = temp.path().join("work");
    std::fs::create_dir(&work).expect("an empty directory");

    let made = json_of(
        &run(&chatctl, &work, &["init", "My Chat", "--output", "json"]),
        0,
    );
    assert_eq!(made["app"], "my-chat");
    assert!(made["next"]
        .as_array()
        .is_some_and(|next| next.iter().any(|c| c == "chatctl --local launch")));
    let project = work.join("My Chat");
    for file in [
        "chatctl.yaml",
        ".gitignore",
        "rust-toolchain.toml",
        ".github/workflows/deploy.yml",
        "handlers/Cargo.toml",
        "handlers/Cargo.lock",
        "handlers/connect/src/main.rs",
        "handlers/chat-core/src/lib.rs",
        "static/index.html",
        "static/app.js",
    ] {
        assert!(project.join(file).is_file(), "init did not write {file}");
    }
    // A second init into the now non-empty directory is refused, untouched.
    std::fs::write(project.join("static/app.js"), "// mine\n").expect("an edit");
    let refused = run(&chatctl, &work, &["init", "My Chat"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(project.join("static/app.js")).expect("app.js"),
        "// mine\n"
    );
    let forced = run(&chatctl, &work, &["init", "My Chat", "--force"]);
    assert_eq!(forced.status.code(), Some(0));
    assert_ne!(
        std::fs::read_to_string(project.join("static/app.js")).expect("app.js"),
        "// mine\n"
    );

    // Its template is lint-clean.
    let template = run(&chatctl, &project, &["template", "-o", "template.yaml"]);
    assert_eq!(template.status.code(), Some(0), "{template:?}");
    let lint = Command::new(repo().join(".chatctl/tools/lint/bin/cfn-lint"))
        .args(["--format", "parseable"])
        .arg(project.join("template.yaml"))
        .output()
        .expect("run cfn-lint");
    assert!(
        lint.status.success() && lint.stdout.is_empty(),
        "cfn-lint:\n{}",
        String::from_utf8_lossy(&lint.stdout)
    );

    // local up, --local launch, and a message over the WebSocket.
    let port = free_port().to_string();
    json_of(
        &run(
            &chatctl,
            &project,
            &["local", "up", "--port", &port, "--output", "json"],
        ),
        0,
    );
    let _down = LocalDown(&chatctl, &project);
    let launched = json_of(
        &run(
            &chatctl,
            &project,
            &["--local", "launch", "--output", "json"],
        ),
        0,
    );
    assert_eq!(launched["stack"], "my-chat-dev");
    let url = launched["outputs"]["WebSocketUrl"]
        .as_str()
        .expect("WebSocketUrl");
    let (mut ada, _) = tokio_tungstenite::connect_async(format!("{url}?room=general&name=ada"))
        .await
        .expect("ada connects");
    let (mut bob, _) = tokio_tungstenite::connect_async(format!("{url}?room=general&name=bob"))
        .await
        .expect("bob connects");
    send(
        &mut ada,
        json!({"action": "send", "text": "hello from a new project"}),
    )
    .await;
    expect(&mut ada, "sent").await;
    let received = expect(&mut bob, "message").await;
    assert_eq!(
        received["message"]["text"], "hello from a new project",
        "{received}"
    );
    assert_eq!(received["message"]["name"], "ada");
}

/// A directory outside the repository at the same path every run (one per
/// target directory), emptied first: the project's crates keep one package
/// id between runs, so the shared target directory holds one build of
/// them, not one more per run.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Scratch {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        shared_target_dir().hash(&mut hasher);
        let dir = std::env::temp_dir().join(format!("chatctl-init-test-{:x}", hasher.finish()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Stops the project's emulator even when an assertion fails.
struct LocalDown<'a>(&'a Path, &'a Path);

impl Drop for LocalDown<'_> {
    fn drop(&mut self) {
        let _ = run(self.0, self.1, &["local", "down"]);
    }
}
