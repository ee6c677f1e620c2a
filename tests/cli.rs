//! The real `chatctl` binary: help, exit codes, JSON output, configuration errors.

use assert_cmd::Command;
use predicates::prelude::*;

const SUBCOMMANDS: &[&str] = &[
    "init",
    "template",
    "build",
    "launch",
    "update-code",
    "update-site",
    "dev",
    "output",
    "status",
    "delete",
    "logs",
    "invoke",
    "cost",
    "local",
    "completions",
];

/// chatctl with a clean environment: no ambient stage, output or endpoint.
fn chatctl() -> Command {
    let mut command = Command::cargo_bin("chatctl").expect("the chatctl binary is built");
    for var in [
        "CHATCTL_CONFIG",
        "CHATCTL_STAGE",
        "CHATCTL_OUTPUT",
        "CHATCTL_NO_PROGRESS",
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        "AWS_REGION",
        "CHATCTL_LOCAL",
    ] {
        command.env_remove(var);
    }
    command
}

/// Writes a configuration file into a fresh directory.
fn config_file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("chatctl.yaml");
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

#[test]
fn help_lists_every_subcommand_and_the_exit_codes() {
    let assert = chatctl().arg("--help").assert().success();
    let help = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    for subcommand in SUBCOMMANDS {
        assert!(
            help.contains(subcommand),
            "--help does not mention {subcommand}"
        );
    }
    for option in [
        "--config",
        "--stage",
        "--region",
        "--profile",
        "--endpoint-url",
        "--output",
        "--verbose",
        "--quiet",
        "--yes",
        "--no-progress",
    ] {
        assert!(help.contains(option), "--help does not mention {option}");
    }
    assert!(help.contains("Exit codes"));
}

#[test]
fn every_subcommand_has_help_with_its_own_options() {
    let own_options: &[(&str, &[&str])] = &[
        ("init", &["[DIR]", "--app", "--force"]),
        ("template", &["--format", "--out"]),
        ("build", &["--arch", "[HANDLER]"]),
        ("launch", &["--preview", "--allow-replace", "--wait"]),
        ("update-code", &["[HANDLER]"]),
        ("update-site", &["--wait"]),
        ("dev", &["JSON Lines", "Ctrl-C"]),
        ("output", &["[KEY]", "--format"]),
        ("status", &["--config"]),
        ("delete", &["--purge-data"]),
        ("logs", &["[HANDLER]", "--since", "--follow", "--filter"]),
        ("invoke", &["[HANDLER]", "--event", "--sample"]),
        (
            "cost",
            &[
                "--plan",
                "--prices",
                "--free-tier",
                "--observed",
                "--messages-per-day",
                "--room-size",
            ],
        ),
        ("local", &["up", "down", "status"]),
        ("completions", &["<SHELL>"]),
    ];
    assert_eq!(own_options.len(), SUBCOMMANDS.len());
    for (subcommand, options) in own_options {
        let assert = chatctl().args([subcommand, "--help"]).assert().success();
        let help = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
        for option in *options {
            assert!(
                help.contains(option),
                "`{subcommand} --help` lacks {option}:\n{help}"
            );
        }
    }
}

/// The operator commands' help, word for word: what `--follow` prints in
/// JSON mode and how `--sample` lists are part of their interface.
#[test]
fn the_operator_commands_help_is_snapshotted() {
    for subcommand in ["logs", "invoke", "dev", "init", "cost"] {
        let assert = chatctl()
            .env("COLUMNS", "100")
            .args([subcommand, "--help"])
            .assert()
            .success();
        let help = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
        insta::assert_snapshot!(format!("{subcommand}-help"), help);
    }
}

#[test]
fn usage_errors_exit_2() {
    chatctl().arg("--no-such-flag").assert().code(2);
    chatctl().arg("frobnicate").assert().code(2);
    chatctl()
        .args(["--output", "yaml", "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("yaml"));
}

#[test]
fn local_without_a_running_emulator_fails_with_exit_1_and_says_how_to_start_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("chatctl.yaml");
    std::fs::write(&config, "app: chat\n").expect("write config");
    chatctl()
        .arg("--config")
        .arg(&config)
        .args(["--local", "status"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("chatctl local up"));
    chatctl()
        .arg("--config")
        .arg(&config)
        .args(["local", "status"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("not running"));
}

#[test]
fn json_output_is_exactly_one_document_on_stdout_even_for_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("chatctl.yaml");
    std::fs::write(&config, "app: chat\n").expect("write config");
    let assert = chatctl()
        .arg("--config")
        .arg(&config)
        .args(["--output", "json", "--local", "status"])
        .assert()
        .code(1);
    let stdout = &assert.get_output().stdout;
    let document: serde_json::Value =
        serde_json::from_slice(stdout).expect("stdout is one JSON document");
    assert_eq!(document["error"]["kind"], "failed");
    assert_eq!(document["error"]["exit_code"], 1);

    let assert = chatctl()
        .args(["--output", "json", "--config", "missing.yaml", "launch"])
        .assert()
        .code(2);
    let document: serde_json::Value =
        serde_json::from_slice(&assert.get_output().stdout).expect("one JSON document");
    assert_eq!(document["error"]["kind"], "config_missing");

    let assert = chatctl()
        .env("CHATCTL_OUTPUT", "json")
        .args(["completions", "bash"])
        .assert()
        .success();
    let document: serde_json::Value =
        serde_json::from_slice(&assert.get_output().stdout).expect("one JSON document");
    assert_eq!(document["shell"], "bash");
    assert!(document["script"]
        .as_str()
        .is_some_and(|s| s.contains("chatctl")));
}

#[test]
fn completions_are_generated_for_common_shells() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        chatctl()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("update-code"));
    }
    let bash = chatctl().args(["completions", "bash"]).assert().success();
    let script = String::from_utf8_lossy(&bash.get_output().stdout).to_string();
    for subcommand in SUBCOMMANDS {
        let name = format!("chatctl__subcmd__{}", subcommand.replace('-', "__subcmd__"));
        assert!(script.contains(&name), "bash completion lacks {subcommand}");
    }
}

/// (file content, expected line, text the message must contain)
const BAD_CONFIGS: &[(&str, &str, usize, &str)] = &[
    ("unknown key", "app: chat\nregoin: us-east-1\n", 2, "unknown field `regoin`"),
    ("nested unknown key", "app: chat\nhandlers:\n  memory: 512\n", 3, "unknown field `memory`"),
    ("wrong type", "app: chat\nhandlers:\n  memory_mb: lots\n", 3, "handlers.memory_mb: invalid type"),
    ("negative number", "app: chat\nchat:\n  message_retention_days: -3\n", 3, "message_retention_days"),
    ("zero retention", "app: chat\nchat:\n  history_length: 10\n  message_retention_days: 0\n", 4, "chat.message_retention_days: must be greater than zero"),
    ("bad YAML", "app: chat\n\tstage: dev\n", 2, "tab character"),
    ("unterminated quote", "app: chat\nstage: \"dev\n", 3, "unexpected end"),
    ("unknown architecture", "app: chat\narchitecture: x86\n", 2, "unknown variant `x86`"),
    ("domain without certificate", "app: chat\ndomain:\n  name: chat.example.com\n", 3, "missing field `certificate_arn`"),
    ("certificate outside us-east-1", "app: chat\ndomain:\n  name: chat.example.com\n  certificate_arn: arn:aws:acm:eu-west-1:123456789012:certificate/abc\n", 4, "only uses ACM certificates from us-east-1"),
    ("bad app name", "app: Chat App\n", 1, "app: `Chat App` is not a valid name"),
    ("log retention CloudWatch refuses", "app: chat\nhandlers:\n  log_retention_days: 10\n", 3, "not a period CloudWatch Logs accepts"),
    ("memory out of range", "app: chat\nhandlers:\n  memory_mb: 64\n", 3, "Lambda accepts 128 to 10240"),
    ("message longer than a frame carries", "app: chat\nchat:\n  max_message_bytes: 40000\n", 3, "max_message_bytes 40000 is out of range: 1 to 32000"),
    ("history page too long", "app: chat\nchat:\n  history_length: 500\n", 3, "history_length 500 is out of range: 1 to 100"),
    ("missing app", "stage: dev\n", 1, "missing field `app`"),
    ("empty file", "", 1, "the file is empty"),
    ("stage not listed", "app: chat\nstages: [dev]\nstage: prod\n", 3, "stage `prod` is not one of"),
];

#[test]
fn bad_configuration_files_exit_2_naming_file_line_and_problem() {
    for (what, content, line, message) in BAD_CONFIGS {
        let (_dir, path) = config_file(content);
        let assert = chatctl()
            .arg("--config")
            .arg(&path)
            .arg("launch")
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        let expected_position = format!("{}: line {line}", path.display());
        assert!(
            stderr.contains(&expected_position),
            "{what}: expected `{expected_position}` in:\n{stderr}"
        );
        assert!(
            stderr.contains(message),
            "{what}: expected `{message}` in:\n{stderr}"
        );
        assert!(stderr.contains("hint: "), "{what}: no hint in:\n{stderr}");
        assert!(
            assert.get_output().stdout.is_empty(),
            "{what}: wrote to stdout"
        );
    }
}

#[test]
fn a_missing_configuration_file_exits_2_and_says_what_to_do() {
    chatctl()
        .args(["--config", "no/such/chatctl.yaml", "launch"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/chatctl.yaml not found"))
        .stderr(predicate::str::contains("--config"));
}

#[test]
fn a_site_bucket_name_too_long_for_the_deployed_stage_exits_2_naming_both() {
    // 47 + 1 + 7 characters: valid as written, 63 with a 15-character stage,
    // 64 with a 16-character one.
    let pattern = format!("{}-{{stage}}", "b".repeat(47));
    let (_dir, path) = project_with_handlers(CHAT_HANDLERS);
    std::fs::write(&path, format!("app: chat\nsite_bucket_name: {pattern}\n")).expect("config");
    let template = |stage: &str| {
        chatctl()
            .arg("--config")
            .arg(&path)
            .args(["--stage", stage, "template", "--format", "json"])
            .assert()
    };
    let fits = template(&"s".repeat(15)).success();
    let template_json: serde_json::Value =
        serde_json::from_slice(&fits.get_output().stdout).expect("JSON template");
    assert_eq!(
        template_json["Resources"]["SiteBucket"]["Properties"]["BucketName"]
            .as_str()
            .map(str::len),
        Some(63)
    );
    template(&"s".repeat(16))
        .code(2)
        .stderr(predicate::str::contains(format!(
            "site_bucket_name `{pattern}` gives `{}-{}` for stage `{}`",
            "b".repeat(47),
            "s".repeat(16),
            "s".repeat(16)
        )))
        .stderr(predicate::str::contains("3 to 63 characters"));
}

#[test]
fn the_stage_comes_from_the_flag_or_chatctl_stage_and_must_be_listed() {
    let (_dir, path) = config_file("app: chat\nstages: [dev, prod]\n");
    chatctl()
        .arg("--config")
        .arg(&path)
        .args(["--stage", "qa", "launch"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "stage `qa` is not one of this project's stages (dev, prod)",
        ));
    chatctl()
        .arg("--config")
        .arg(&path)
        .env("CHATCTL_STAGE", "qa")
        .arg("launch")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("stage `qa`"));
    chatctl()
        .arg("--config")
        .arg(&path)
        .args(["--stage", "Not Valid", "launch"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--stage: `Not Valid` is not a valid name",
        ));
    // A listed stage passes the checks and names the deployment.
    let (_dir, path) = project_with_handlers(CHAT_HANDLERS);
    std::fs::write(&path, "app: chat\nstages: [dev, prod]\n").expect("config");
    let assert = chatctl()
        .arg("--config")
        .arg(&path)
        .env("CHATCTL_STAGE", "prod")
        .args(["template", "--format", "json"])
        .assert()
        .success();
    let template: serde_json::Value =
        serde_json::from_slice(&assert.get_output().stdout).expect("JSON template");
    assert_eq!(
        template["Resources"]["WebSocketStage"]["Properties"]["StageName"],
        "prod"
    );
}

#[test]
fn the_config_path_is_read_from_chatctl_config() {
    chatctl()
        .env("CHATCTL_CONFIG", "from/env.yaml")
        .arg("launch")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("from/env.yaml not found"));
}

/// A project directory whose handlers directory holds the named binary crates.
fn project_with_handlers(names: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, path) = config_file("app: chat\n");
    for name in names {
        let src = dir.path().join("handlers").join(name).join("src");
        std::fs::create_dir_all(&src).expect("mkdir");
        std::fs::write(src.join("main.rs"), "fn main() {}\n").expect("write main.rs");
        std::fs::write(
            src.parent().expect("crate dir").join("Cargo.toml"),
            "[package]\n",
        )
        .expect("write Cargo.toml");
    }
    std::fs::create_dir_all(dir.path().join("static")).expect("mkdir static");
    (dir, path)
}

const CHAT_HANDLERS: &[&str] = &[
    "connect",
    "disconnect",
    "fanout",
    "http",
    "ingest",
    "message",
    "notify",
];

#[test]
fn template_prints_yaml_json_or_writes_a_file() {
    let (dir, path) = project_with_handlers(CHAT_HANDLERS);
    let assert = chatctl()
        .arg("--config")
        .arg(&path)
        .arg("template")
        .assert()
        .success();
    let yaml: serde_yaml::Value =
        serde_yaml::from_slice(&assert.get_output().stdout).expect("YAML on stdout");
    assert_eq!(
        yaml["Description"],
        "Serverless chat chat (dev) deployed by chatctl"
    );

    let assert = chatctl()
        .arg("--config")
        .arg(&path)
        .args(["--stage", "qa", "template", "--format", "json"])
        .assert()
        .success();
    let json: serde_json::Value =
        serde_json::from_slice(&assert.get_output().stdout).expect("JSON on stdout");
    assert_eq!(
        json["Resources"]["WebSocketStage"]["Properties"]["StageName"],
        "qa"
    );

    let out = dir.path().join("out.yaml");
    let assert = chatctl()
        .arg("--config")
        .arg(&path)
        .args(["--output", "json", "template", "-o"])
        .arg(&out)
        .assert()
        .success();
    let report: serde_json::Value =
        serde_json::from_slice(&assert.get_output().stdout).expect("one JSON document");
    assert_eq!(report["stack"], "chat-dev");
    let written: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&out).expect("written")).expect("YAML");
    assert_eq!(written, yaml);
}

#[test]
fn template_refuses_handler_crates_it_cannot_wire_or_a_missing_one() {
    let (_dir, path) = project_with_handlers(&[
        "connect",
        "disconnect",
        "fanout",
        "http",
        "ingest",
        "message",
        "notify",
        "weather-bot",
    ]);
    chatctl()
        .arg("--config")
        .arg(&path)
        .arg("template")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("handler crate `weather-bot`"));

    let (_dir, path) = project_with_handlers(&[
        "connect",
        "disconnect",
        "http",
        "ingest",
        "message",
        "notify",
    ]);
    chatctl()
        .arg("--config")
        .arg(&path)
        .arg("template")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing: fanout"));

    let (_dir, path) = project_with_handlers(&[]);
    chatctl()
        .arg("--config")
        .arg(&path)
        .arg("template")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("handlers directory"));
}

/// chatctl's configuration limit and the handlers' are one number.
#[test]
fn the_message_size_limit_is_the_handlers_limit() {
    assert_eq!(
        chatctl::config::MAX_MESSAGE_BYTES as usize,
        chat_core::frames::MAX_MESSAGE_BYTES_LIMIT
    );
}
