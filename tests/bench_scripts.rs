//! Every script in `bench/` runs in its quick mode (`BENCH_QUICK=1`: one
//! round, small sizes, the fixture handlers where a handler changes), so a
//! benchmark that no longer works fails CI instead of its next user. Only
//! that it works and prints its table is checked, never its numbers
//! (docs/performance.md holds those, from full runs).

mod support;

use std::process::Command;

use support::project::{repo, shared_target_dir};

/// Runs one benchmark in quick mode and returns what it printed.
fn run_quick(program: &str, script: &str) -> String {
    let mut command = Command::new(program);
    // Without this test's own package variables: a script's nested cargo
    // would see a changed environment and rebuild (see chatctl's
    // calling_package_vars).
    for name in chatctl::build::cargo::calling_package_vars(std::env::vars_os().map(|(n, _)| n)) {
        command.env_remove(name);
    }
    let output = command
        .arg(repo().join("bench").join(script))
        .current_dir(repo())
        .env("BENCH_QUICK", "1")
        // The target directory the tests and the real handlers were built in.
        .env("CARGO_TARGET_DIR", shared_target_dir())
        .env("CI", "true")
        // The chatctl these tests run: no script builds another.
        .env("CHATCTL_BIN", assert_cmd::cargo::cargo_bin!("chatctl"))
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{script} failed in quick mode:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The Markdown table a benchmark prints: a heading and at least one row
/// under a header row.
fn assert_table(stdout: &str, heading: &str, row: &str) {
    assert!(
        stdout.contains(heading),
        "no heading {heading:?}:\n{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("| ---")),
        "no table:\n{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with(row)),
        "no row {row:?}:\n{stdout}"
    );
}

#[test]
fn bench_build_sh_runs_in_quick_mode() {
    let stdout = run_quick("bash", "build.sh");
    assert_table(&stdout, "## chatctl build (x86_64", "| fanout |");
    assert_table(
        &stdout,
        "## chatctl build",
        "| rebuild with nothing changed |",
    );
}

#[test]
fn bench_dev_sh_runs_in_quick_mode() {
    let stdout = run_quick("bash", "dev.sh");
    assert_table(
        &stdout,
        "## chatctl dev on the emulator",
        "| one line of the connect handler (lambda-dev) |",
    );
}

#[test]
fn bench_update_sh_runs_in_quick_mode() {
    let stdout = run_quick("bash", "update.sh");
    assert_table(
        &stdout,
        "## chatctl update-code / update-site",
        "| update-code, one handler changed |",
    );
}

#[test]
fn bench_fanout_sh_runs_in_quick_mode() {
    let stdout = run_quick("bash", "fanout.sh");
    assert_table(&stdout, "## Fan-out on the emulator", "| 10 |");
}

#[test]
fn bench_push_sh_runs_in_quick_mode() {
    let stdout = run_quick("bash", "push.sh");
    assert_table(&stdout, "## Push (message to notification", "| 2 |");
    assert!(
        stdout.contains("first message after the launch"),
        "{stdout}"
    );
}

#[test]
fn bench_flood_sh_runs_in_quick_mode() {
    let stdout = run_quick("bash", "flood.sh");
    assert_table(
        &stdout,
        "## Flood next to a quiet room",
        "| fan-out messages dead-lettered (goal: 0) | 0 |",
    );
}

#[test]
fn bench_vs_cli_sh_runs_in_quick_mode() {
    let stdout = run_quick("bash", "vs-cli.sh");
    assert_table(
        &stdout,
        "## chatctl vs an AWS CLI script",
        "| one handler changed |",
    );
    assert_table(&stdout, "| chatctl start-up", "| `chatctl --help` |");
}

#[test]
fn bench_startup_py_runs_in_quick_mode() {
    let stdout = run_quick("python3", "startup.py");
    assert_table(&stdout, "## Handler start-up", "| connect |");
}
