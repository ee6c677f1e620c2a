//! `chatctl build`: real cargo-zigbuild builds of the handler crates,
//! reproducible zips, the ELF checks, and the zips running on the emulator's
//! Lambda.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture as LambdaArchitecture, FunctionCode, Runtime};
use chatctl::build::elf::{self, GlibcVersion, AL2023_GLIBC};
use chatctl::build::Manifest;
use chatctl::config::Architecture;
use predicates::prelude::*;
use support::project::{shared_target_dir, tools_path, Project};
use support::Emulator;

const HANDLERS: &[&str] = &[
    "connect",
    "disconnect",
    "fanout",
    "http",
    "ingest",
    "message",
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn chatctl() -> Command {
    let mut command = Command::cargo_bin("chatctl").expect("the chatctl binary is built");
    command
        .env_remove("CHATCTL_STAGE")
        .env_remove("CHATCTL_OUTPUT");
    command
}

/// Runs `chatctl build` on the repository's handlers, in the target directory
/// where `scripts/test.sh` built them before the tests, and returns the JSON
/// report. The tests never change what is built there: other tests package
/// the same zips at the same time.
fn build(args: &[&str]) -> serde_json::Value {
    build_with(
        &repo().join("examples/chatctl.yaml"),
        &shared_target_dir(),
        args,
    )
}

fn build_with(config: &Path, target_dir: &Path, args: &[&str]) -> serde_json::Value {
    let assert = chatctl()
        .arg("--config")
        .arg(config)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("PATH", tools_path())
        .args(["--output", "json", "build"])
        .args(args)
        .env("CI", "true")
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r'),
        "progress control characters reached a CI log:\n{stderr:?}"
    );
    serde_json::from_slice(&assert.get_output().stdout).expect("one JSON document")
}

fn zip_path(report: &serde_json::Value, handler: &str) -> PathBuf {
    PathBuf::from(
        report["handlers"][handler]["zip"]
            .as_str()
            .expect("zip path"),
    )
}

fn unzip_bootstrap(zip: &Path) -> Vec<u8> {
    use std::io::Read;
    let file = std::fs::File::open(zip).expect("open zip");
    let mut archive = zip::ZipArchive::new(file).expect("a zip");
    assert_eq!(
        archive.len(),
        1,
        "{} holds more than bootstrap",
        zip.display()
    );
    let mut entry = archive.by_name("bootstrap").expect("bootstrap at the root");
    assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
    let mut binary = Vec::new();
    entry.read_to_end(&mut binary).expect("unzip");
    binary
}

#[test]
fn every_handler_builds_into_a_checked_reproducible_zip() {
    let first = build(&["--arch", "x86_64"]);
    assert_eq!(first["architecture"], "x86_64");
    let manifest_path = PathBuf::from(first["manifest"].as_str().expect("manifest"));
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("read manifest"))
            .expect("parse manifest");
    for handler in HANDLERS {
        let zip = zip_path(&first, handler);
        let bytes = std::fs::read(&zip).expect("read zip");
        let entry = &manifest.handlers[*handler];
        assert_eq!(entry.size, bytes.len() as u64);
        assert_eq!(entry.sha256, chatctl::build::package::sha256_hex(&bytes));
        assert_eq!(
            entry.code_sha256,
            chatctl::build::package::sha256_base64(&bytes)
        );
        let binary = unzip_bootstrap(&zip);
        let info = elf::inspect(&binary).expect("an ELF binary");
        assert_eq!(info.architecture, Some(Architecture::X86_64));
        let (glibc, _) = info.newest_glibc.expect("links glibc");
        assert!(
            glibc <= GlibcVersion(2, 17),
            "{handler} needs glibc {glibc}"
        );
    }

    // Nothing changed: the same zips, untouched.
    let second = build(&[]);
    for handler in HANDLERS {
        assert_eq!(
            second["handlers"][handler]["sha256"],
            first["handlers"][handler]["sha256"]
        );
        assert_eq!(
            second["handlers"][handler]["rewritten"], false,
            "{handler} was re-zipped"
        );
    }

    // The real binary zipped again: byte-identical.
    let connect = std::fs::read(zip_path(&first, "connect")).expect("read zip");
    let rezipped =
        chatctl::build::package::bootstrap_zip(&unzip_bootstrap(&zip_path(&first, "connect")))
            .expect("zip");
    assert!(
        connect == rezipped,
        "zipping the same binary again gave other bytes"
    );

    // Recompile one crate from scratch and re-zip: byte-identical. On the
    // fixture handlers (the same profile, their own target directory), so
    // the real handlers other tests package are never rebuilt under them.
    let fixture = Project::with_fixture_handlers("");
    let built = build_with(&fixture.config, &fixture.target_dir, &[]);
    let connect = zip_path(&built, "connect");
    let before = std::fs::read(&connect).expect("read zip");
    std::fs::remove_file(built["manifest"].as_str().expect("manifest")).expect("remove manifest");
    std::fs::remove_file(&connect).expect("remove zip");
    let main_rs = fixture.fixture_main("connect");
    let source = std::fs::read(&main_rs).expect("read main.rs");
    std::fs::write(&main_rs, &source).expect("touch main.rs"); // new mtime: cargo recompiles
    let third = build_with(&fixture.config, &fixture.target_dir, &["connect"]);
    assert_eq!(third["handlers"]["connect"]["rewritten"], true);
    assert_eq!(
        std::fs::read(&connect).expect("read zip"),
        before,
        "the rebuilt zip differs"
    );
    assert_eq!(
        third["handlers"].as_object().map(|h| h.len()),
        Some(1),
        "only connect was built"
    );
}

#[test]
fn arm64_builds_are_aarch64_binaries_and_refused_as_x86_64() {
    // The run's one arm64 build, in a target directory of its own: cargo
    // locks a target directory while it builds, and this build takes
    // minutes that the x86_64 tests must not wait out.
    let report = build_with(
        &repo().join("examples/chatctl.yaml"),
        &shared_target_dir().join("arm64"),
        &["--arch", "arm64", "message"],
    );
    assert_eq!(report["architecture"], "arm64");
    let binary = unzip_bootstrap(&zip_path(&report, "message"));
    assert_eq!(
        elf::inspect(&binary).expect("ELF").architecture,
        Some(Architecture::Arm64)
    );
    let refusal =
        elf::check(&binary, Architecture::X86_64, AL2023_GLIBC).expect_err("wrong architecture");
    assert!(refusal.contains("built for arm64"), "{refusal}");
}

#[test]
fn a_binary_needing_a_newer_glibc_than_al2023_is_refused_naming_the_symbol() {
    let dir = tempfile::tempdir().expect("tmp");
    let binary = dir.path().join("needs-new-glibc");
    let status = Process::new("gcc")
        .arg(repo().join("tests/fixtures/needs_glibc_2_36.c"))
        .arg("-o")
        .arg(&binary)
        .status()
        .expect("run gcc");
    assert!(status.success(), "gcc failed");
    let data = std::fs::read(&binary).expect("read binary");
    let refusal =
        elf::check(&data, Architecture::X86_64, AL2023_GLIBC).expect_err("too new a glibc");
    assert!(refusal.contains("arc4random@GLIBC_2.36"), "{refusal}");
    assert!(refusal.contains("2.34"), "{refusal}");
}

/// A throwaway workspace with one handler crate, built into its own target directory.
fn scratch_workspace(main_rs: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    std::fs::write(root.join("chatctl.yaml"), "app: scratch\n").expect("config");
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"handlers/*\"]\nresolver = \"2\"\n\n[profile.lambda]\ninherits = \"release\"\n",
    )
    .expect("workspace manifest");
    let src = root.join("handlers/broken/src");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(
        root.join("handlers/broken/Cargo.toml"),
        "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("crate manifest");
    std::fs::write(src.join("main.rs"), main_rs).expect("main.rs");
    dir
}

#[test]
fn a_compile_error_shows_cargos_diagnostics_and_exits_1() {
    let dir = scratch_workspace("fn main() {\n    let count: u32 = \"not a number\";\n}\n");
    chatctl()
        .current_dir(dir.path())
        .env("CARGO_TARGET_DIR", dir.path().join("target"))
        .env("PATH", tools_path())
        .arg("build")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("mismatched types"))
        .stderr(predicate::str::contains("handlers/broken/src/main.rs"))
        .stderr(predicate::str::contains("did not compile"));
}

#[test]
fn missing_zig_is_reported_with_the_command_that_installs_it() {
    let dir = scratch_workspace("fn main() {}\n");
    let cargo_bin = Path::new(&std::env::var("HOME").expect("HOME")).join(".cargo/bin");
    chatctl()
        .current_dir(dir.path())
        .env(
            "PATH",
            std::env::join_paths([
                cargo_bin.as_path(),
                Path::new("/usr/bin"),
                Path::new("/bin"),
            ])
            .expect("PATH"),
        )
        .arg("build")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pip install ziglang"));
}

#[test]
fn an_unknown_handler_name_is_a_usage_error() {
    chatctl()
        .arg("--config")
        .arg(repo().join("examples/chatctl.yaml"))
        .args(["build", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("there is no handler `nope`"));
}

fn squeeze(text: &str) -> String {
    text.split_whitespace().collect()
}

/// A sample event for each handler (handlers/chat-core/fixtures/events, which chat-core's
/// tests decode into the handlers' event types) that needs no table or
/// bucket, and a part of the correct answer: each binary must decode its
/// event type and apply the chat's rules.
fn sample(handler: &str) -> (String, &'static str) {
    let event = std::fs::read_to_string(
        repo().join(format!("handlers/chat-core/fixtures/events/{handler}.json")),
    )
    .unwrap_or_else(|e| panic!("no sample event for {handler}: {e}"));
    let expected = match handler {
        "connect" | "http" => r#"\"field\":\"room\""#,
        "disconnect" => "disconnected",
        "message" => "no connection id",
        "fanout" => r#""batchItemFailures":[]"#,
        "ingest" => "null",
        other => panic!("no expected answer for {other}"),
    };
    (event, expected)
}

/// Every built zip is deployed as a provided.al2023 function on the emulator,
/// which runs `bootstrap` on this host, and answers a sample event correctly.
#[tokio::test(flavor = "multi_thread")]
async fn every_zip_runs_on_the_emulators_lambda() {
    let zips: Vec<(String, Vec<u8>)> = {
        let report = build(&[]);
        HANDLERS
            .iter()
            .map(|h| {
                let zip = std::fs::read(zip_path(&report, h)).expect("read zip");
                let code_sha256 = report["handlers"][h]["code_sha256"]
                    .as_str()
                    .expect("sha")
                    .to_string();
                assert_eq!(code_sha256, chatctl::build::package::sha256_base64(&zip));
                (code_sha256, zip)
            })
            .collect()
    };
    let emulator = Emulator::start();
    let aws = support::project::aws(&emulator).await;
    let lambda = aws.lambda();
    for (handler, (code_sha256, zip)) in HANDLERS.iter().zip(zips) {
        let created = lambda
            .create_function()
            .function_name(format!("chat-{handler}"))
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .architectures(LambdaArchitecture::X8664)
            .role("arn:aws:iam::000000000000:role/chat")
            .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
            // The chat's limits, as chatctl writes them into every function
            // (a function without them refuses to run on defaults).
            .environment(
                aws_sdk_lambda::types::Environment::builder()
                    .set_variables(Some(
                        chat_limits::Limits::default()
                            .to_env()
                            .into_iter()
                            .map(|(name, value)| (name.to_string(), value))
                            .collect(),
                    ))
                    .build(),
            )
            .send()
            .await
            .expect("create_function");
        assert_eq!(
            created.code_sha256(),
            Some(code_sha256.as_str()),
            "Lambda's CodeSha256 is the manifest's"
        );
        let (event, expected) = sample(handler);
        let invoked = lambda
            .invoke()
            .function_name(format!("chat-{handler}"))
            .payload(Blob::new(event))
            .send()
            .await
            .expect("invoke");
        let payload =
            String::from_utf8_lossy(invoked.payload().map(|p| p.as_ref()).unwrap_or_default())
                .to_string();
        assert!(
            // The emulator re-serializes payloads with its own spacing.
            invoked.function_error().is_none() && squeeze(&payload).contains(&squeeze(expected)),
            "{handler} answered {payload:?} ({:?}), expected it to contain {expected:?}\n{}",
            invoked.function_error(),
            emulator.log()
        );
    }
}

/// Symbolic links are everywhere on real machines (every macOS temporary
/// directory, many CI caches): a project and a target directory reached
/// through links build like any other.
#[test]
fn a_project_and_target_directory_reached_through_symbolic_links_build() {
    let fixture = Project::with_fixture_handlers("");
    let links = tempfile::tempdir().expect("tmp");
    let project = links.path().join("project");
    std::os::unix::fs::symlink(fixture.dir.path(), &project).expect("link the project");
    let real_target = links.path().join("real-target");
    std::fs::create_dir(&real_target).expect("target directory");
    let target = links.path().join("target");
    std::os::unix::fs::symlink(&real_target, &target).expect("link the target directory");

    // Paths relative to the configuration, so they pass through the link.
    std::fs::write(
        fixture.dir.path().join("linked.yaml"),
        "app: e2e\nsite_dir: site\nhandlers_dir: fixture-handlers\n",
    )
    .expect("config");
    let report = build_with(&project.join("linked.yaml"), &target, &["connect"]);
    let zip = zip_path(&report, "connect");
    let binary = unzip_bootstrap(&zip);
    assert_eq!(
        elf::inspect(&binary).expect("ELF").architecture,
        Some(Architecture::X86_64)
    );
    assert!(
        real_target
            .join("chatctl/x86_64/connect/bootstrap.zip")
            .is_file(),
        "the zip is not in the linked target directory: {}",
        zip.display()
    );
}

/// The same commit built in two checkout directories with two Cargo homes
/// gives byte-identical zips: no machine path is compiled in, so a launch
/// from a laptop and one from CI see the same `CodeSha256` and update
/// nothing. The second Cargo home shares the first's downloads but unpacks
/// sources under its own path, which the fixture `fanout` (with one registry
/// crate) would carry without the remapping.
#[test]
fn two_checkouts_with_two_cargo_homes_build_identical_zips() {
    let first = Project::with_fixture_handlers("");
    let second = Project::with_fixture_handlers("");
    let own_home = chatctl::build::cargo::cargo_home();
    let other = tempfile::tempdir().expect("tmp");
    let other_home = other.path().join("cargo-home");
    std::fs::create_dir_all(other_home.join("registry")).expect("registry");
    for shared in ["index", "cache"] {
        std::os::unix::fs::symlink(
            own_home.join("registry").join(shared),
            other_home.join("registry").join(shared),
        )
        .expect("share the downloads");
    }
    let build_in = |project: &Project, cargo_home: &Path| -> serde_json::Value {
        let assert = chatctl()
            .arg("--config")
            .arg(&project.config)
            .env("CARGO_TARGET_DIR", &project.target_dir)
            .env("CARGO_HOME", cargo_home)
            .env("CARGO_NET_OFFLINE", "true")
            .env("PATH", tools_path())
            .env("CI", "true")
            .args(["--output", "json", "build"])
            .assert()
            .success();
        serde_json::from_slice(&assert.get_output().stdout).expect("one JSON document")
    };
    let one = build_in(&first, &own_home);
    let two = build_in(&second, &other_home);
    assert!(
        other_home.join("registry/src").is_dir(),
        "the second build did not unpack sources in its own Cargo home"
    );
    for handler in HANDLERS {
        assert_eq!(
            one["handlers"][handler]["sha256"], two["handlers"][handler]["sha256"],
            "{handler}: different zips from two checkouts"
        );
    }
    let fanout = unzip_bootstrap(&zip_path(&two, "fanout"));
    let text = String::from_utf8_lossy(&fanout);
    assert!(
        text.contains("/cargo/registry/src/") && text.contains("fastrand"),
        "the fixture fanout carries no remapped registry path: the test proves nothing"
    );
    for home in [&own_home, &other_home] {
        assert!(
            !text.contains(&*home.to_string_lossy()),
            "{} is compiled into fanout",
            home.display()
        );
    }
}
