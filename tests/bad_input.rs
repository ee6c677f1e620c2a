//! Bad input, each case with its exit code and message. Cases covered
//! elsewhere: a missing or malformed configuration and an unknown stage
//! (tests/cli.rs), missing credentials and a deployment CloudFormation
//! rolls back (tests/launch.rs), a handler that does not compile
//! (tests/build.rs), a stack someone else is deploying and a region
//! without the stack (tests/interrupt.rs).

mod support;

use std::path::Path;

use support::free_port;
use support::project::{calls_of, chatctl_process, json_of, Project};

/// chatctl aimed at a port nothing listens on: any AWS call would fail.
fn offline(project: &Project) -> assert_cmd::Command {
    let dead = format!("http://127.0.0.1:{}", free_port());
    assert_cmd::Command::from_std(chatctl_process(&dead, project))
}

/// Runs `launch` offline and returns (exit code, stderr, AWS calls made).
fn launch_offline(project: &Project, name: &str) -> (Option<i32>, String, Vec<String>) {
    let mut command = offline(project);
    command.arg("launch");
    let calls = calls_of(&mut command, project.dir.path(), name);
    let output = command.output().expect("run chatctl");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).to_string(),
        calls(),
    )
}

fn set_handlers_dir(project: &Project, dir: &Path) {
    let config = std::fs::read_to_string(&project.config).expect("config");
    let config: String = config
        .lines()
        .map(|line| {
            if line.starts_with("handlers_dir:") {
                format!("handlers_dir: {}\n", dir.display())
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(&project.config, config).expect("config");
}

#[test]
fn a_missing_empty_or_oversized_site_exits_2_before_any_aws_call() {
    let project = Project::new("");

    // A file over 5 GiB: sparse, so it takes no disk space.
    let big = project.site().join("video.mp4");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(5 * 1024 * 1024 * 1024 + 1))
        .expect("sparse file");
    let (code, stderr, calls) = launch_offline(&project, "big");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("video.mp4") && stderr.contains("at most 5 GiB"),
        "{stderr}"
    );
    assert_eq!(calls, Vec::<String>::new());
    std::fs::remove_file(&big).expect("remove");

    // Empty.
    for entry in std::fs::read_dir(project.site()).expect("site") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).expect("rm dir");
        } else {
            std::fs::remove_file(&path).expect("rm");
        }
    }
    let (code, stderr, calls) = launch_offline(&project, "empty");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("is empty") && stderr.contains("index.html"),
        "{stderr}"
    );
    assert_eq!(calls, Vec::<String>::new());

    // Missing.
    std::fs::remove_dir(project.site()).expect("rmdir");
    let (code, stderr, calls) = launch_offline(&project, "missing");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("does not exist") && stderr.contains("site_dir"),
        "{stderr}"
    );
    assert_eq!(calls, Vec::<String>::new());
}

#[test]
fn a_handlers_directory_without_crates_or_missing_exits_2() {
    let project = Project::new("");
    let empty = project.dir.path().join("no-handlers");
    std::fs::create_dir_all(empty.join("notes")).expect("mkdir");
    set_handlers_dir(&project, &empty);
    let (code, stderr, calls) = launch_offline(&project, "no-crates");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no handler crates") && stderr.contains("Cargo.toml"),
        "{stderr}"
    );
    assert_eq!(calls, Vec::<String>::new());

    set_handlers_dir(&project, &project.dir.path().join("nowhere"));
    let (code, stderr, _) = launch_offline(&project, "no-dir");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("handlers_dir"), "{stderr}");
}

#[test]
fn a_malformed_region_exits_2_naming_it() {
    let project = Project::new("");
    for command in ["launch", "output", "status", "update-site"] {
        let output = offline(&project)
            .args([command, "--region", "moon base"])
            .output()
            .expect("run chatctl");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains("`moon base` is not an AWS region name"),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn an_endpoint_refusing_connections_exits_1_saying_so() {
    let project = Project::new("");
    let (failure, stderr) = json_of(offline(&project).arg("output"), 1);
    assert_eq!(failure["error"]["kind"], "aws", "{failure}");
    let message = failure["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("cannot connect") && message.contains("Connection refused"),
        "{message}"
    );
    let hint = failure["error"]["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("--endpoint-url"), "{failure}");
    assert!(stderr.contains("\n  hint: check the network"), "{stderr}");
    // One line a person can read, not a dump of the SDK's error structs.
    assert!(!message.contains("DispatchFailure"), "{message}");
    assert!(stderr.contains("cannot connect"), "{stderr}");
}
