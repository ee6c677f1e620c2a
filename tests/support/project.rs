//! A chatctl project for end-to-end tests: a site and a configuration of
//! each test's own, chatctl run against an emulator, and one of two sets of
//! handlers:
//! - the repository's real handler crates, built once per test run into the
//!   target directory the tests were built in (`scripts/test.sh` builds them
//!   before any test, so every later build is a no-op that only checks), and
//!   never changed by a test;
//! - for tests that change a handler, a copy of the dependency-free fixture
//!   handlers (`tests/fixtures/handlers`) with a target directory of its own,
//!   so a change rebuilds in seconds instead of relinking a real handler.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use aws_credential_types::Credentials;
use chatctl::aws::{Aws, AwsOptions};
use serde_json::Value;

use super::Emulator;

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The target directory these tests were built in, which is also where the
/// real handlers are built once per run (`CARGO_TARGET_TMPDIR` is its `tmp`).
pub fn shared_target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

/// Copies `from` into `to`, writing only files whose bytes differ, so cargo's
/// fingerprints (which use modification times) survive between test runs.
pub fn mirror(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            mirror(&entry.path(), &target);
        } else {
            let bytes = std::fs::read(entry.path()).expect("read");
            if std::fs::read(&target).ok().as_deref() != Some(&bytes[..]) {
                std::fs::write(&target, bytes).expect("write");
            }
        }
    }
}

/// The handler workspace's `[profile.lambda]` and `[profile.lambda-dev]`
/// sections, so fixture handlers build with the real profiles.
pub fn lambda_profiles() -> String {
    let manifest =
        std::fs::read_to_string(repo().join("handlers/Cargo.toml")).expect("handlers/Cargo.toml");
    let mut keep = false;
    let mut profiles = String::new();
    for line in manifest.lines() {
        if line.starts_with('[') {
            keep = line.starts_with("[profile.lambda");
        }
        if keep {
            profiles.push_str(line);
            profiles.push('\n');
        }
    }
    assert!(profiles.contains("[profile.lambda]"), "no lambda profile");
    profiles
}

/// A project: a configuration and a site of its own, and its handlers.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// The handler crates chatctl builds for this project.
    pub handlers: PathBuf,
    /// Where cargo builds them.
    pub target_dir: PathBuf,
}

impl Project {
    /// A project with the repository's real handlers (never changed by a test).
    pub fn new(extra_config: &str) -> Project {
        Project::in_dir(
            tempfile::tempdir().expect("tmp"),
            repo().join("handlers"),
            shared_target_dir(),
            extra_config,
        )
    }

    /// A project with a copy of the fixture handlers of its own, for tests
    /// that change a handler (`fixture_main`).
    pub fn with_fixture_handlers(extra_config: &str) -> Project {
        let dir = tempfile::tempdir().expect("tmp");
        let workspace = dir.path().join("fixture-handlers");
        mirror(&repo().join("tests/fixtures/handlers"), &workspace);
        let manifest = workspace.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).expect("fixture Cargo.toml");
        let start = text
            .find("[profile.lambda]")
            .expect("fixture lambda profile");
        std::fs::write(
            &manifest,
            format!("{}{}", &text[..start], lambda_profiles()),
        )
        .expect("write fixture Cargo.toml");
        let target = workspace.join("target");
        Project::in_dir(dir, workspace, target, extra_config)
    }

    fn in_dir(
        dir: tempfile::TempDir,
        handlers: PathBuf,
        target_dir: PathBuf,
        extra_config: &str,
    ) -> Project {
        mirror(&repo().join("static"), &dir.path().join("site"));
        std::fs::write(dir.path().join("site/style.css"), "body { margin: 0; }\n").expect("css");
        std::fs::write(dir.path().join("site/app.js"), "console.log('chat');\n").expect("js");
        let config = dir.path().join("chatctl.yaml");
        std::fs::write(
            &config,
            format!(
                "app: e2e\nsite_dir: site\nhandlers_dir: {}\n{extra_config}",
                handlers.display()
            ),
        )
        .expect("config");
        Project {
            dir,
            config,
            handlers,
            target_dir,
        }
    }

    /// A project whose site is the repository's real one (`static/`).
    pub fn with_real_site(extra_config: &str) -> Project {
        let project = Project::new(extra_config);
        let site = project.site();
        std::fs::remove_dir_all(&site).expect("remove the stub site");
        mirror(&repo().join("static"), &site);
        project
    }

    pub fn site(&self) -> PathBuf {
        self.dir.path().join("site")
    }

    /// The `src/main.rs` of one of this project's fixture handlers.
    pub fn fixture_main(&self, handler: &str) -> PathBuf {
        assert!(
            !self.handlers.starts_with(repo()),
            "tests never change the repository's own handlers"
        );
        self.handlers.join(handler).join("src/main.rs")
    }
}

/// PATH with the repository's Zig first: the copied workspace has no tools of its own.
pub fn tools_path() -> std::ffi::OsString {
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(
        std::iter::once(repo().join(".chatctl/tools/zig/bin"))
            .chain(std::env::split_paths(&inherited)),
    )
    .expect("PATH")
}

/// chatctl against one emulator, with dummy credentials and no terminal.
pub fn chatctl(emulator: &Emulator, project: &Project) -> Command {
    Command::from_std(chatctl_process(&emulator.endpoint(), project))
}

/// The same, as a process to start and signal: `endpoint` may be a proxy.
pub fn chatctl_process(endpoint: &str, project: &Project) -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin!("chatctl"));
    command
        .env_remove("CHATCTL_STAGE")
        .env_remove("CHATCTL_OUTPUT")
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("CARGO_TARGET_DIR", &project.target_dir)
        .env("PATH", tools_path())
        .env("CI", "true")
        .arg("--config")
        .arg(&project.config);
    command
}

/// Runs a command and returns its one JSON document, asserting the exit code.
pub fn json_of(command: &mut Command, code: i32) -> (Value, String) {
    let output = command
        .arg("--output")
        .arg("json")
        .output()
        .expect("run chatctl");
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(code), "stderr:\n{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r'),
        "control characters in a CI log"
    );
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    (json, stderr)
}

/// The AWS operations a command performed, through chatctl's call log.
pub fn calls_of(command: &mut Command, dir: &Path, name: &str) -> impl FnOnce() -> Vec<String> {
    let log = dir.join(format!("{name}.calls"));
    command.env("CHATCTL_AWS_CALL_LOG", &log);
    move || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

pub fn count(calls: &[String], call: &str) -> usize {
    calls.iter().filter(|c| c.as_str() == call).count()
}

pub async fn aws(emulator: &Emulator) -> Aws {
    aws_at(&emulator.endpoint(), "us-east-1").await
}

/// Clients for `region` at `endpoint`, with the tests' dummy credentials.
pub async fn aws_at(endpoint: &str, region: &str) -> Aws {
    Aws::load(&AwsOptions {
        region: Some(region.to_string()),
        endpoint_url: Some(endpoint.to_string()),
        credentials: Some(Credentials::new("test", "test", None, None, "tests")),
        ..AwsOptions::default()
    })
    .await
}

/// The secret CloudFront adds as `X-Origin-Verify`, as CloudFormation
/// resolved it into the http function's environment: what a test sends to
/// stand in for CloudFront.
pub async fn origin_secret(aws: &Aws, outputs: &Value) -> String {
    let function = outputs["HttpFunctionName"]
        .as_str()
        .expect("HttpFunctionName");
    aws.lambda()
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .expect("the http function's configuration")
        .environment()
        .and_then(|e| e.variables())
        .and_then(|v| v.get("ORIGIN_VERIFY"))
        .cloned()
        .expect("the origin secret in the http function's environment")
}

/// Each function's deployed CodeSha256, by output key.
pub async fn code_hashes(aws: &Aws, outputs: &Value) -> BTreeMap<String, String> {
    let mut hashes = BTreeMap::new();
    for (key, name) in outputs.as_object().expect("outputs") {
        if key.ends_with("FunctionName") {
            let config = aws
                .lambda()
                .get_function_configuration()
                .function_name(name.as_str().expect("name"))
                .send()
                .await
                .expect("get_function_configuration");
            hashes.insert(
                key.clone(),
                config.code_sha256().unwrap_or_default().to_string(),
            );
        }
    }
    hashes
}

pub async fn bucket_names(aws: &Aws) -> Vec<String> {
    let listed = aws.s3().list_buckets().send().await.expect("list_buckets");
    listed
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect()
}
