//! `chatctl dev` on the emulator: a handler change updates exactly that
//! function, once; a site change uploads exactly that file; a build error
//! prints cargo's diagnostics and the watching goes on; a configuration
//! change goes through the launch path with its change set; Ctrl-C ends it
//! with 0. The fixture handlers keep each rebuild to seconds, built with the
//! `lambda-dev` profile the configuration names for the stage.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use support::project::{chatctl, chatctl_process, json_of, Project};
use support::Emulator;

/// A rebuild, an update or a launch on the emulator, with room for a busy machine.
const EVENT_WAIT: Duration = Duration::from_secs(180);

const DEV_PROFILE: &str = "build:\n  stage_profiles:\n    dev: lambda-dev\n";

fn connect_main(version: u32) -> String {
    format!(
        "include!(\"../../runtime.rs\");\n\nfn main() {{\n    serve(|_event| r#\"{{\"handler\":\"connect\",\"version\":{version}}}\"#.to_string());\n}}\n"
    )
}

/// `chatctl dev --output json`, its stdout as parsed lines.
struct Dev {
    child: Child,
    events: mpsc::Receiver<Value>,
    stderr: std::path::PathBuf,
}

impl Dev {
    fn start(emulator: &Emulator, project: &Project) -> Dev {
        let stderr = project.dir.path().join("dev.stderr");
        let mut child = chatctl_process(&emulator.endpoint(), project)
            .args(["dev", "--output", "json"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("a log file"))
            .spawn()
            .expect("start chatctl dev");
        let (sender, events) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let event: Value =
                    serde_json::from_str(&line).expect("each line is one JSON object");
                if sender.send(event).is_err() {
                    break;
                }
            }
        });
        Dev {
            child,
            events,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The next event, which must be of `kind`.
    fn next(&self, kind: &str) -> Value {
        let event = self.events.recv_timeout(EVENT_WAIT).unwrap_or_else(|_| {
            panic!(
                "no `{kind}` event within {EVENT_WAIT:?}; stderr:\n{}",
                self.stderr()
            )
        });
        assert_eq!(event["event"], kind, "{event}\nstderr:\n{}", self.stderr());
        event
    }

    /// Nothing more within `quiet`: one change, one update.
    fn nothing_within(&self, quiet: Duration) {
        if let Ok(event) = self.events.recv_timeout(quiet) {
            panic!("an extra event: {event}");
        }
    }
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

fn invoked_version(emulator: &Emulator, project: &Project) -> Value {
    let (answer, _) = json_of(chatctl(emulator, project).args(["invoke", "connect"]), 0);
    answer["response"]["version"].clone()
}

#[test]
fn dev_makes_handler_site_and_configuration_changes_live_and_survives_a_build_error() {
    let emulator = Emulator::start();
    let project = Project::with_fixture_handlers(DEV_PROFILE);
    std::fs::write(project.fixture_main("connect"), connect_main(1)).expect("connect v1");
    json_of(chatctl(&emulator, &project).arg("launch"), 0);
    assert_eq!(invoked_version(&emulator, &project), 1);
    let zips = project.target_dir.join("chatctl/x86_64-lambda-dev");
    assert!(
        zips.join("connect/bootstrap.zip").is_file(),
        "built with the stage's profile"
    );

    let dev = Dev::start(&emulator, &project);
    dev.next("watching");

    // An editor's save burst (the file cut short, then complete) is one
    // update of exactly the changed handler's function.
    let main_rs = project.fixture_main("connect");
    let v2 = connect_main(2);
    std::fs::write(&main_rs, &v2[..v2.len() / 2]).expect("half written");
    std::fs::write(&main_rs, &v2).expect("connect v2");
    let code = dev.next("code");
    assert_eq!(strings(&code["updated"]), ["connect"], "{code}");
    assert_eq!(
        strings(&code["changed"]),
        ["fixture-handlers/connect/src/main.rs"]
    );
    assert_eq!(invoked_version(&emulator, &project), 2);
    dev.nothing_within(Duration::from_secs(2));

    // A site file: exactly that file is uploaded.
    std::fs::write(project.site().join("app.js"), "console.log('changed');\n").expect("app.js");
    let site = dev.next("site");
    assert_eq!(strings(&site["uploaded"]), ["app.js"], "{site}");
    assert_eq!(strings(&site["changed"]), ["site/app.js"]);

    // A build error: cargo's diagnostics, a failure, and the watching goes on.
    std::fs::write(&main_rs, "fn main() { let x: u32 = \"not a number\"; }\n").expect("broken");
    let failed = dev.next("failed");
    assert_eq!(failed["during"], "code", "{failed}");
    let stderr = dev.stderr();
    assert!(stderr.contains("mismatched types"), "{stderr}");
    assert!(stderr.contains("connect/src/main.rs"), "{stderr}");
    assert_eq!(
        invoked_version(&emulator, &project),
        2,
        "the last good code stays"
    );
    std::fs::write(&main_rs, connect_main(3)).expect("connect v3");
    let code = dev.next("code");
    assert_eq!(strings(&code["updated"]), ["connect"], "{code}");
    assert_eq!(invoked_version(&emulator, &project), 3);

    // The configuration: the launch path, with its change set.
    let config = std::fs::read_to_string(&project.config).expect("config");
    std::fs::write(
        &project.config,
        format!("{config}handlers:\n  memory_mb: 512\n"),
    )
    .expect("more memory");
    let launch = dev.next("launch");
    assert_eq!(launch["stack_updated"], true, "{launch}");
    let changed: Vec<&str> = launch["changes"]
        .as_array()
        .expect("the change set")
        .iter()
        .filter_map(|change| change["logical_id"].as_str())
        .collect();
    assert!(changed.contains(&"ConnectFunction"), "{launch}");
    // The launch path's preview of the change set, as `launch` prints it.
    let stderr = dev.stderr();
    assert!(
        stderr.contains("to modify") && stderr.contains("ConnectFunction"),
        "{stderr}"
    );

    // A configuration that does not load is reported, not fatal.
    std::fs::write(
        &project.config,
        format!("{config}handlers:\n  memory_mb: 1\n"),
    )
    .expect("bad");
    let failed = dev.next("failed");
    assert_eq!(failed["during"], "configuration", "{failed}");
    assert!(
        failed["message"]
            .as_str()
            .unwrap_or_default()
            .contains("memory_mb"),
        "{failed}"
    );

    // Ctrl-C between changes ends it with 0.
    let pid = dev.child.id() as libc::pid_t;
    // SAFETY: kill(2) with a child's pid and a signal number has no memory effects.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let stderr = dev.stderr.clone();
    let mut child = dev.child;
    let (exited, status) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = exited.send(child.wait().expect("wait for dev"));
    });
    let status = status
        .recv_timeout(Duration::from_secs(30))
        .expect("dev stops on Ctrl-C");
    assert_eq!(
        status.code(),
        Some(0),
        "stderr:\n{}",
        std::fs::read_to_string(stderr).unwrap_or_default()
    );
}

#[test]
fn dev_before_a_launch_says_to_launch_first() {
    let emulator = Emulator::start();
    let project = Project::with_fixture_handlers("");
    let output = chatctl(&emulator, &project)
        .arg("dev")
        .output()
        .expect("run dev");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("chatctl launch"), "{stderr}");
}
