//! Interrupted and concurrent launches: SIGINT and SIGKILL at known points
//! (while handler zips upload, while the change set is reviewed, while
//! CloudFormation deploys, while the site uploads), each followed by a
//! launch that finishes the job; and two launches at once.
//!
//! The fault proxy's `stall` holds one kind of request open, so the signal
//! lands while that step is in progress, not before or after it.

mod support;

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::faults::FaultProxy;
use support::project::{aws, chatctl, chatctl_process, json_of, Project};
use support::Emulator;

/// How long one launch may take here, a cold build of the handlers included.
const LAUNCH_LIMIT: Duration = Duration::from_secs(900);
/// How long a stalled request is held: longer than any test waits for it.
const HOLD: Duration = Duration::from_secs(60);

/// A `chatctl launch` running in the background, its output going to files.
struct Running {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Running {
    fn start(endpoint: &str, project: &Project, name: &str) -> Running {
        Running::command(endpoint, project, name, &["launch"])
    }

    /// Any chatctl command, with `--output json`.
    fn command(endpoint: &str, project: &Project, name: &str, args: &[&str]) -> Running {
        let stdout = project.dir.path().join(format!("{name}.stdout"));
        let stderr = project.dir.path().join(format!("{name}.stderr"));
        let child = chatctl_process(endpoint, project)
            .args(args)
            .args(["--output", "json"])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start chatctl");
        Running {
            child,
            stdout,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits until stderr shows `text`.
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + LAUNCH_LIMIT;
        while !self.stderr().contains(text) {
            self.assert_running(deadline, &format!("printed {text:?}"));
        }
    }

    /// Fails at once when chatctl already exited or the deadline passed.
    fn assert_running(&mut self, deadline: Instant, awaited: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "chatctl exited ({status}) before it {awaited}:\n{}",
                self.stderr()
            );
        }
        assert!(
            Instant::now() < deadline,
            "chatctl never {awaited}:\n{}",
            self.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    /// Waits until the proxy holds one more request than `before`: this
    /// process is now inside the step that request belongs to.
    fn until_stalled(&mut self, proxy: &FaultProxy, before: u64) {
        let deadline = Instant::now() + LAUNCH_LIMIT;
        while proxy.tally().stalled == before {
            self.assert_running(deadline, "reached the stalled step");
        }
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, signal);
        }
    }

    /// Waits for the exit; the exit code (None when killed), stdout, stderr.
    fn finish(mut self) -> (Option<i32>, String, String) {
        let deadline = Instant::now() + LAUNCH_LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll chatctl") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("chatctl did not stop:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = std::fs::read_to_string(&self.stdout).unwrap_or_default();
        (status.code(), stdout, self.stderr())
    }
}

/// Starts `launch` through the proxy, sends `signal` once the proxy holds
/// the launch's next stalled request, and returns how it ended.
fn launch_and_signal_when_stalled(
    proxy: &FaultProxy,
    project: &Project,
    name: &str,
    signal: libc::c_int,
) -> (Option<i32>, String, String) {
    let before = proxy.tally().stalled;
    let mut run = Running::start(&proxy.endpoint(), project, name);
    run.until_stalled(proxy, before);
    run.signal(signal);
    run.finish()
}

/// chatctl's change sets that were never executed.
async fn unexecuted_change_sets(emulator: &Emulator) -> Vec<String> {
    let listed = aws(emulator)
        .await
        .cloudformation()
        .list_change_sets()
        .stack_name("e2e-dev")
        .send()
        .await;
    let Ok(listed) = listed else {
        return Vec::new(); // no stack, no change sets
    };
    listed
        .summaries()
        .iter()
        .filter(|s| {
            !matches!(
                s.execution_status().map(|e| e.as_str()),
                Some("EXECUTE_COMPLETE" | "EXECUTE_IN_PROGRESS" | "EXECUTE_FAILED" | "OBSOLETE")
            )
        })
        .filter_map(|s| s.change_set_name().map(str::to_string))
        .collect()
}

/// A launch that must succeed, then one more that must find nothing to do:
/// the state converged.
fn converges(emulator: &Emulator, project: &Project) -> (Value, String) {
    let (done, stderr) = json_of(chatctl(emulator, project).arg("launch"), 0);
    let (again, _) = json_of(chatctl(emulator, project).arg("launch"), 0);
    assert_eq!(again["stack_updated"], false, "{again}");
    assert_eq!(again["uploaded_zips"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        again["site"]["uploaded"].as_array().map(Vec::len),
        Some(0),
        "{again}"
    );
    (done, stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn interrupted_launches_clean_up_and_the_next_launch_finishes_the_job() {
    let emulator = Emulator::start();
    let project = Project::new("");
    let proxy = FaultProxy::start(emulator.port(), 0.0, 1);

    tokio::task::block_in_place(|| {
        // 1. SIGKILL while a handler zip uploads: nothing deployed yet.
        proxy.stall("PUT", "/handlers/", HOLD);
        let (code, _, _) =
            launch_and_signal_when_stalled(&proxy, &project, "kill-upload", libc::SIGKILL);
        assert_eq!(code, None);

        // 2. SIGINT while the change set is reviewed: exit 130, it is deleted.
        proxy.stall("POST", "Action=DescribeChangeSet", HOLD);
        let (code, stdout, stderr) =
            launch_and_signal_when_stalled(&proxy, &project, "int-changeset", libc::SIGINT);
        assert_eq!(code, Some(130), "{stderr}");
        assert!(
            stderr.contains("interrupted (Ctrl-C)")
                && stderr.contains("before the change set was executed")
                && stderr.contains("deleted change set"),
            "{stderr}"
        );
        let document: Value = serde_json::from_str(&stdout).expect("one JSON document");
        assert_eq!(document["error"]["kind"], "interrupted");
    });
    assert_eq!(
        unexecuted_change_sets(&emulator).await,
        Vec::<String>::new()
    );

    tokio::task::block_in_place(|| {
        // 3. SIGKILL while the change set is reviewed: it is left behind...
        let (code, _, _) =
            launch_and_signal_when_stalled(&proxy, &project, "kill-changeset", libc::SIGKILL);
        assert_eq!(code, None);
    });
    let orphans = unexecuted_change_sets(&emulator).await;
    assert_eq!(orphans.len(), 1, "{orphans:?}");

    tokio::task::block_in_place(|| {
        // 4. ... and the next launch deletes it; SIGINT once CloudFormation
        // took the change set (its answer held back): exit 130, the
        // deployment goes on.
        proxy.stall_answer("POST", "Action=ExecuteChangeSet", HOLD);
        let (code, _, stderr) =
            launch_and_signal_when_stalled(&proxy, &project, "int-deploy", libc::SIGINT);
        assert_eq!(code, Some(130), "{stderr}");
        assert!(
            stderr.contains(&format!("deleted change set {}", orphans[0])),
            "{stderr}"
        );
        assert!(
            stderr.contains("the deployment goes on and finishes or rolls back on its own"),
            "{stderr}"
        );

        // 5. The next launch waits for it if need be, and finishes the job.
        let (done, _) = converges(&emulator, &project);
        assert!(done["outputs"]["SiteUrl"].is_string(), "{done}");
    });
    assert_eq!(
        unexecuted_change_sets(&emulator).await,
        Vec::<String>::new()
    );

    tokio::task::block_in_place(|| {
        // 6. SIGKILL, then SIGINT, while the site uploads.
        for (signal, name) in [(libc::SIGKILL, "kill-site"), (libc::SIGINT, "int-site")] {
            std::fs::write(
                project.site().join("style.css"),
                format!("body {{ margin: 0; }} /* {name} */\n"),
            )
            .expect("change the site");
            proxy.stall("PUT", "/style.css", HOLD);
            let (code, _, stderr) = launch_and_signal_when_stalled(&proxy, &project, name, signal);
            if signal == libc::SIGINT {
                assert_eq!(code, Some(130), "{stderr}");
                assert!(
                    stderr.contains("interrupted during the site upload"),
                    "{stderr}"
                );
            } else {
                assert_eq!(code, None);
            }
            let (done, _) = converges(&emulator, &project);
            assert_eq!(done["site"]["uploaded"][0], "style.css", "{done}");
        }
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn two_launches_at_once_both_finish_one_after_the_other() {
    let emulator = Emulator::start();
    let project = Project::new("");
    tokio::task::block_in_place(|| {
        json_of(chatctl(&emulator, &project).arg("launch"), 0);
    });
    // A configuration change both launches deploy.
    let config = std::fs::read_to_string(&project.config).expect("config");
    std::fs::write(
        &project.config,
        format!("{config}chat:\n  history_length: 30\n"),
    )
    .expect("change the config");

    // The first launch's ExecuteChangeSet is held until the second launch
    // has created and executed its own: both read the stack settled, the
    // first loses the race.
    let proxy = FaultProxy::start(emulator.port(), 0.0, 1);
    proxy.stall("POST", "Action=ExecuteChangeSet", HOLD);
    let (first, second) = tokio::task::block_in_place(|| {
        let mut first = Running::start(&proxy.endpoint(), &project, "first");
        first.until_stalled(&proxy, 0);
        let second = Running::start(&emulator.endpoint(), &project, "second");
        let second = second.finish();
        proxy.release();
        (first.finish(), second)
    });
    for (code, stdout, stderr) in [&first, &second] {
        assert_eq!(*code, Some(0), "{stderr}");
        let document: Value = serde_json::from_str(stdout).expect("one JSON document");
        assert!(document["outputs"]["SiteUrl"].is_string(), "{document}");
    }
    // The second executed first; the first's change set is stale.
    let (_, _, first_stderr) = &first;
    eprintln!("first launch:\n{first_stderr}");
    assert!(
        first_stderr.contains("another deployment of e2e-dev started first")
            && first_stderr.contains("deploying again"),
        "the first launch did not notice the second:\n{first_stderr}"
    );
    assert_eq!(
        unexecuted_change_sets(&emulator).await,
        Vec::<String>::new()
    );
    tokio::task::block_in_place(|| {
        converges(&emulator, &project);
    });
}

/// Someone else's deployment: a stack held CREATE_IN_PROGRESS by a wait
/// condition until the test signals it.
const FOREIGN_STACK: &str = r#"{
  "Resources": {
    "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
    "Wait": {
      "Type": "AWS::CloudFormation::WaitCondition",
      "Properties": {"Handle": {"Ref": "Handle"}, "Timeout": "600", "Count": 1}
    }
  }
}"#;

/// The foreign stack, created as `e2e-dev`, and where to signal its wait condition.
struct ForeignStack {
    signal_path: String,
}

impl ForeignStack {
    async fn create(emulator: &Emulator) -> ForeignStack {
        let cfn = aws(emulator).await.cloudformation();
        cfn.create_stack()
            .stack_name("e2e-dev")
            .template_body(FOREIGN_STACK)
            .send()
            .await
            .expect("create someone else's stack");
        let handle = cfn
            .describe_stack_resource()
            .stack_name("e2e-dev")
            .logical_resource_id("Handle")
            .send()
            .await
            .expect("the wait handle")
            .stack_resource_detail()
            .and_then(|r| r.physical_resource_id())
            .expect("its URL")
            .to_string();
        let at = handle.find("/_ministack/").expect("a path on the emulator");
        ForeignStack {
            signal_path: handle[at..].to_string(),
        }
    }

    /// Ends the wait: `SUCCESS` completes the stack, `FAILURE` rolls it back.
    fn signal(&self, emulator: &Emulator, status: &str) {
        let answer = support::http_request(
            emulator.port(),
            "PUT",
            &self.signal_path,
            "", // signed like a presigned URL: no Content-Type
            &format!(r#"{{"Status":"{status}","Reason":"test","UniqueId":"1","Data":""}}"#),
        )
        .expect("signal the wait condition");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_launch_waits_for_a_busy_stack_and_another_region_has_none() {
    let emulator = Emulator::start();
    let project = Project::new("");
    let foreign = ForeignStack::create(&emulator).await;

    let (code, stdout, stderr) = tokio::task::block_in_place(|| {
        let mut run = Running::start(&emulator.endpoint(), &project, "busy");
        run.wait_for("stack e2e-dev is busy (CREATE_IN_PROGRESS)");
        // The other deployment fails; its stack rolls back.
        foreign.signal(&emulator, "FAILURE");
        run.finish()
    });
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("waiting for it to finish"), "{stderr}");
    assert!(
        stderr.contains("deleting it and creating it again"),
        "{stderr}"
    );
    let launched: Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert!(launched["outputs"]["SiteUrl"].is_string(), "{launched}");

    let (elsewhere, _) = tokio::task::block_in_place(|| {
        json_of(
            chatctl(&emulator, &project).args(["output", "--region", "eu-west-1"]),
            1,
        )
    });
    let message = elsewhere["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("not deployed in eu-west-1") && message.contains("--region"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_of_the_same_name_not_made_by_chatctl_is_left_alone() {
    let emulator = Emulator::start();
    let project = Project::new("");
    let foreign = ForeignStack::create(&emulator).await;
    foreign.signal(&emulator, "SUCCESS");

    // The launch waits for it to finish, then refuses to take it over.
    let (refused, _) =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 2));
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("was not deployed by chatctl") && message.contains("stage"),
        "{message}"
    );
    let resources = aws(&emulator)
        .await
        .cloudformation()
        .list_stack_resources()
        .stack_name("e2e-dev")
        .send()
        .await
        .expect("list");
    let mut logical: Vec<&str> = resources
        .stack_resource_summaries()
        .iter()
        .filter_map(|r| r.logical_resource_id())
        .collect();
    logical.sort();
    assert_eq!(logical, ["Handle", "Wait"]);
}

/// A message that arrives while `delete` runs: its snapshot must not land in
/// the site bucket after the bucket was emptied, or the stack's deletion
/// fails on AWS (DELETE_FAILED; the rules layer refuses the DeleteStack).
/// `delete` stops the fan-out's event source mapping before emptying. Here
/// the DeleteStack is held while a message is posted and given time to reach
/// the bucket.
#[tokio::test(flavor = "multi_thread")]
async fn a_message_posted_while_delete_runs_does_not_stop_the_deletion() {
    let emulator = Emulator::start();
    let project = Project::new("");
    let (launched, _) =
        tokio::task::block_in_place(|| json_of(chatctl(&emulator, &project).arg("launch"), 0));
    let outputs = launched["outputs"].clone();
    let (http_api, bucket) = (
        outputs["HttpApiId"].as_str().expect("api").to_string(),
        outputs["SiteBucketName"]
            .as_str()
            .expect("bucket")
            .to_string(),
    );
    let proxy = FaultProxy::start(emulator.port(), 0.0, 1);
    proxy.stall("POST", "Action=DeleteStack", HOLD);
    let mut run = Running::command(&proxy.endpoint(), &project, "delete", &["delete", "--yes"]);
    run.until_stalled(&proxy, 0);

    // The site bucket is empty now; a message arrives.
    let response = support::http_request(
        emulator.port(),
        "POST",
        &format!("/_aws/execute-api/{http_api}/$default/api/rooms/general/messages"),
        "application/x-www-form-urlencoded",
        "name=late&text=still+here",
    )
    .expect("HTTP API answers");
    assert!(response.starts_with("HTTP/1.1 303"), "{response}");
    // The fan-out, if still running, writes the room's snapshot within seconds.
    let s3 = aws(&emulator).await.s3();
    let deadline = Instant::now() + Duration::from_secs(8);
    while Instant::now() < deadline {
        let listed = s3.list_objects_v2().bucket(&bucket).send().await;
        if listed.is_ok_and(|l| l.key_count().unwrap_or(0) > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    proxy.release();
    let (code, stdout, stderr) = tokio::task::block_in_place(|| run.finish());
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("stopped the fan-out"), "{stderr}");
    assert_eq!(emulator.refusals().bucket_not_empty, 0);
}
