//! Configuration loading through the library: defaults, examples, stack names.

use std::path::{Path, PathBuf};

use chatctl::config::{Architecture, Config, Project};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Every configuration file in `examples/`.
fn example_configs() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("read examples/")
        .map(|entry| entry.expect("read an entry of examples/").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_configuration_loads() {
    let files = example_configs();
    assert!(
        files.len() >= 2,
        "expected the example configurations, found {files:?}"
    );
    for file in files {
        let project = Project::load(&file, None)
            .unwrap_or_else(|e| panic!("{} does not load: {e}", file.display()));
        assert!(
            project.site_dir().is_dir(),
            "{}: site_dir does not exist",
            file.display()
        );
        assert!(
            project.handlers_dir().is_dir(),
            "{}: handlers_dir does not exist",
            file.display()
        );
    }
}

#[test]
fn the_minimal_example_gets_every_default() {
    let project = Project::load(&examples_dir().join("chatctl.yaml"), None).expect("loads");
    let config = &project.config;
    assert_eq!(project.stack_name(), "chat-dev");
    assert_eq!(config.architecture, Architecture::X86_64);
    assert_eq!(config.region, None);
    assert_eq!(config.handlers.memory_mb.0, 256);
    assert_eq!(config.handlers.timeout_seconds.0, 10);
    assert_eq!(config.handlers.log_retention_days.0, 14);
    assert_eq!(config.chat.max_message_bytes.0, 2_000);
    assert_eq!(config.chat.history_length.0, 50);
    assert_eq!(config.chat.rate_limit.messages.0, 5);
    assert_eq!(config.chat.rate_limit.per_seconds.0, 5);
    assert!(
        config.data.retain,
        "chat data is kept unless the configuration says otherwise"
    );
    assert!(config.domain.is_none());
}

#[test]
fn the_production_example_sets_every_key() {
    let file = examples_dir().join("production.yaml");
    let project = Project::load(&file, Some("prod")).expect("loads");
    assert_eq!(project.stack_name(), "team-chat-prod");
    let config = &project.config;
    assert_eq!(config.architecture, Architecture::Arm64);
    assert_eq!(config.region.as_deref(), Some("eu-west-1"));
    assert_eq!(config.handlers.memory_mb.0, 512);
    assert_eq!(config.chat.message_retention_days.0, 365);
    let domain = config.domain.as_ref().expect("a custom domain");
    assert_eq!(domain.name.0, "chat.example.com");
    // The example must exercise every key, nested ones too: compare with a
    // full round trip.
    let text = std::fs::read_to_string(&file).expect("read");
    let raw: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    let all = serde_yaml::to_value(config).expect("serialize");
    let mut missing = Vec::new();
    missing_keys(&all, &raw, "", &mut missing);
    assert!(
        missing.is_empty(),
        "production.yaml does not show {missing:?}"
    );
}

/// The dotted paths of keys in `all` that `shown` lacks.
fn missing_keys(
    all: &serde_yaml::Value,
    shown: &serde_yaml::Value,
    path: &str,
    out: &mut Vec<String>,
) {
    let Some(all) = all.as_mapping() else { return };
    for (key, value) in all {
        let name = format!("{path}{}", key.as_str().unwrap_or("?"));
        match shown.get(key) {
            Some(inner) => missing_keys(value, inner, &format!("{name}."), out),
            None => out.push(name),
        }
    }
}

#[test]
fn the_stage_on_the_command_line_wins_and_names_the_stack() {
    let file = examples_dir().join("production.yaml");
    assert_eq!(
        Project::load(&file, None).expect("loads").stack_name(),
        "team-chat-staging"
    );
    assert!(
        Project::load(&file, Some("qa")).is_err(),
        "qa is not a listed stage"
    );
}

#[test]
fn parse_reports_the_line_of_a_nested_checked_value() {
    let text = "app: chat\ndomain:\n  name: chat.example.com\n  certificate_arn: arn:aws:acm:ap-south-1:1:certificate/x\n";
    let error = Config::parse(text, Path::new("c.yaml")).expect_err("refused");
    match error {
        chatctl::Error::ConfigInvalid { line, message, .. } => {
            assert_eq!(line, Some(4));
            assert!(message.starts_with("domain.certificate_arn:"), "{message}");
            assert!(message.contains("ap-south-1"), "{message}");
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn the_ci_example_is_a_workflow_using_oidc_and_publishing_outputs() {
    let text = std::fs::read_to_string(examples_dir().join("ci/github-actions.yml")).expect("read");
    let workflow: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    assert_eq!(workflow["permissions"]["id-token"], "write");
    let steps = workflow["jobs"]["deploy"]["steps"]
        .as_sequence()
        .expect("steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs
        .iter()
        .any(|r| r.contains("chatctl") && r.contains("launch")));
    assert!(runs
        .iter()
        .any(|r| r.contains("output --format env") && r.contains("GITHUB_OUTPUT")));
    // It deploys the project's own chatctl.yaml (the default), which
    // `chatctl init` writes next to it (its loading is tested there), with
    // a chatctl installed at a fixed tag.
    assert!(
        !text.contains("--config"),
        "a project's workflow names no other configuration"
    );
    assert!(runs
        .iter()
        .any(|r| r.contains("cargo install --locked --git") && r.contains("--tag")));
    // Supply chain: actions pinned by commit (a tag can be moved), the
    // checkout's token not left in the repository, tools at fixed versions.
    for step in steps {
        if let Some(uses) = step["uses"].as_str() {
            let pin = uses.split('@').nth(1).unwrap_or_default();
            assert!(
                pin.len() == 40 && pin.chars().all(|c| c.is_ascii_hexdigit()),
                "{uses} is not pinned by a commit"
            );
        }
        if step["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/checkout@"))
        {
            assert_eq!(step["with"]["persist-credentials"], false);
        }
    }
    for run in &runs {
        for install in run.lines().filter(|l| l.contains("pip install")) {
            let packages = install.split("pip install").nth(1).unwrap_or_default();
            assert!(
                packages
                    .split_whitespace()
                    .all(|p| p.starts_with('-') || p.contains("==")),
                "unpinned: {install}"
            );
        }
    }
}
