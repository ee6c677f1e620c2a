//! Test support: a fresh ministack emulator per test.
//!
//! Each `Emulator` listens on its own free port on 127.0.0.1, runs in its own
//! process group (it spawns one process per warm Lambda function), and is
//! killed with that whole group when dropped, including when a test panics.
//! Everyone reaches it through the AWS rules layer (`aws_rules.rs`): tests,
//! chatctl, and the deployed handlers, whose endpoints point at the layer.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod aws_rules;
pub mod cognito;
pub mod dynamo;
pub mod faults;
pub mod flood;
pub mod index_rules;
pub mod local;
pub mod log_rules;
pub mod post_budget;
pub mod project;
pub mod push_service;
pub mod server;
pub mod waf_rules;
pub mod ws;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// How long the emulator may take to answer its health check.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Emulator {
    child: Child,
    /// The emulator's own port; everyone else uses the rules layer's.
    raw_port: u16,
    rules: aws_rules::RulesLayer,
    /// Holds the emulator's working directory and log until the emulator is gone.
    workdir: tempfile::TempDir,
}

/// The pinned emulator, installed by `scripts/setup.sh`.
pub fn ministack_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CHATCTL_MINISTACK") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".chatctl/tools/ministack/bin/ministack")
}

impl Emulator {
    /// Starts an emulator and waits until it answers its health check.
    pub fn start() -> Emulator {
        let binary = ministack_binary();
        assert!(
            binary.exists(),
            "the emulator is not installed at {}: run scripts/setup.sh",
            binary.display()
        );
        let raw_port = free_port();
        let rules = aws_rules::RulesLayer::start(raw_port);
        let layer = format!("http://127.0.0.1:{}", rules.port());
        let workdir = tempfile::tempdir().expect("create a working directory for the emulator");
        let log = std::fs::File::create(workdir.path().join("ministack.log"))
            .expect("create the emulator's log file");
        let log_err = log.try_clone().expect("clone the emulator's log handle");
        let child = chatctl::local::emulator_command(&binary, raw_port)
            // The handlers' calls go through the rules layer too.
            .env("AWS_ENDPOINT_URL", &layer)
            .env(
                "EXECUTE_API_ENDPOINT_OVERRIDE",
                format!("{layer}/_aws/execute-api"),
            )
            .current_dir(workdir.path())
            .env("TMPDIR", workdir.path())
            // Its own state (the user pools' signing keys among it), which
            // a sign-in test reads to sign tokens as a pool would.
            .env("STATE_DIR", workdir.path().join("state"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let mut emulator = Emulator {
            child,
            raw_port,
            rules,
            workdir,
        };
        emulator.wait_until_healthy();
        emulator
    }

    /// The port tests and chatctl use: the rules layer in front of the emulator.
    pub fn port(&self) -> u16 {
        self.rules.port()
    }

    /// The emulator's own port, behind the rules layer.
    pub fn raw_port(&self) -> u16 {
        self.raw_port
    }

    /// Throttles the management API's PostToConnection like AWS's account
    /// limit, `per_second` with a `burst` (rule 8).
    pub fn limit_posts(&self, per_second: f64, burst: f64) {
        self.rules.limit_posts(per_second, burst);
    }

    /// Every AWS request chatctl, the tests and the deployed functions made
    /// so far, in order, as `service:Operation`.
    pub fn operations(&self) -> Vec<String> {
        self.rules.operations()
    }

    /// What the rules layer refused so far.
    pub fn refusals(&self) -> aws_rules::Refusals {
        self.rules.refusals()
    }

    /// Where this emulator keeps its state (`STATE_DIR`).
    pub fn state_dir(&self) -> PathBuf {
        self.workdir.path().join("state")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// The emulator's combined stdout and stderr so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.workdir.path().join("ministack.log")).unwrap_or_default()
    }

    fn wait_until_healthy(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the emulator process") {
                panic!(
                    "the emulator exited with {status} before it was healthy:\n{}",
                    self.log()
                );
            }
            if http_get(self.raw_port, "/_ministack/health")
                .is_some_and(|r| r.starts_with("HTTP/1.1 200"))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the emulator did not become healthy within {START_TIMEOUT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Emulator {
    /// Rule 3 of the rules layer, checked before the emulator stops.
    fn cloudfront_name_clashes(&self) -> Vec<String> {
        let regions = self.rules.regions();
        if regions.is_empty() {
            return Vec::new();
        }
        let endpoint = format!("http://127.0.0.1:{}", self.raw_port);
        // A thread of its own: the test may be inside a runtime already.
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the rules check")
                .block_on(aws_rules::cloudfront_name_clashes(&endpoint, &regions))
        })
        .join()
        .unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let clashes = if std::thread::panicking() {
            Vec::new()
        } else {
            self.cloudfront_name_clashes()
        };
        // The negative pid addresses the whole process group: the emulator and
        // every Lambda process it started.
        let group = -(self.child.id() as libc::pid_t);
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(group, libc::SIGKILL);
        }
        let _ = self.child.wait();
        assert!(clashes.is_empty(), "AWS rule 3: {}", clashes.join("; "));
    }
}

/// Whether a process with this pid still exists.
pub fn process_exists(pid: u32) -> bool {
    // SAFETY: kill(2) with signal 0 only checks for existence and permission.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// Whether anything accepts connections on 127.0.0.1:port.
pub fn port_open(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
}

/// A minimal HTTP/1.1 GET on 127.0.0.1; the raw response, or None when unreachable.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// A GET on 127.0.0.1 whose answer is JSON; the parsed body.
pub fn get_json(port: u16, path: &str) -> serde_json::Value {
    let response = http_get(port, path).unwrap_or_else(|| panic!("no answer to GET {path}"));
    let body = &response[response.find("\r\n\r\n").map(|i| i + 4).unwrap_or(0)..];
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {response}"))
}

/// A minimal HTTP/1.1 request on 127.0.0.1; the raw response.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> Option<String> {
    http_request_with(port, method, path, &[("Content-Type", content_type)], body)
}

/// The same, with any headers.
pub fn http_request_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<String> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(500)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port on 127.0.0.1");
    listener
        .local_addr()
        .expect("read the bound address")
        .port()
}
