//! `chatctl local`: the pinned ministack emulator as a background process on
//! 127.0.0.1, so the whole chat runs on one machine without an AWS account.
//!
//! State lives next to the configuration file, in `.chatctl/local/`: the
//! emulator's PID, port and log. The emulator is installed (first time) into
//! `.chatctl/tools/ministack`, the same place `scripts/setup.sh` uses.

pub mod proxy;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The emulator's region (it serves one at a time).
pub const REGION: &str = "us-east-1";
/// The emulator release chatctl is tested against (scripts/setup.sh pins the same).
pub const MINISTACK_VERSION: &str = "1.5.33";
/// How long a fresh emulator may take to answer its health check.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `down` waits after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A command's view of the local emulator under `--local`: its port, and the
/// port of the stack's site proxy (chosen before the proxy starts, so
/// `config.json` can name it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTarget {
    pub dir: LocalDir,
    pub emulator_port: u16,
    pub site_port: u16,
}

impl LocalTarget {
    /// The stack's outputs as a browser on this machine uses them: the
    /// emulator's WebSocket URL and the site proxy's address.
    pub fn browser_outputs(
        &self,
        mut outputs: std::collections::BTreeMap<String, String>,
    ) -> std::collections::BTreeMap<String, String> {
        if let (Some(api), Some(stage)) = (
            outputs.get("WebSocketApiId"),
            outputs.get("WebSocketStageName"),
        ) {
            let url = format!(
                "ws://127.0.0.1:{}/_aws/execute-api/{api}/{stage}",
                self.emulator_port
            );
            outputs.insert("WebSocketUrl".to_string(), url);
        }
        if let Some(api) = outputs.get("HttpApiId") {
            let url = format!(
                "http://127.0.0.1:{}/_aws/execute-api/{api}/$default",
                self.emulator_port
            );
            outputs.insert("HttpApiUrl".to_string(), url);
        }
        outputs.insert(
            "SiteUrl".to_string(),
            format!("http://127.0.0.1:{}/", self.site_port),
        );
        outputs
    }
}

/// What `local up` recorded about the running emulator.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LocalState {
    pub pid: u32,
    pub port: u16,
    /// Site proxies started by `launch --local`, by stack name.
    #[serde(default)]
    pub sites: std::collections::BTreeMap<String, SiteProxy>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SiteProxy {
    pub pid: u32,
    pub port: u16,
}

impl LocalState {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Where a project keeps its local emulator: next to its configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    /// The directory of `config` (the configuration file need not exist yet).
    pub fn for_config(config: &Path) -> LocalDir {
        let dir = config
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        LocalDir {
            root: dir.join(".chatctl"),
        }
    }

    pub fn state_file(&self) -> PathBuf {
        self.root.join("local/state.json")
    }

    pub fn log_file(&self) -> PathBuf {
        self.root.join("local/ministack.log")
    }

    fn venv(&self) -> PathBuf {
        self.root.join("tools/ministack")
    }

    pub fn ministack(&self) -> PathBuf {
        std::env::var_os("CHATCTL_MINISTACK")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.venv().join("bin/ministack"))
    }

    /// The recorded state, if the recorded emulator is still alive.
    pub fn running(&self) -> Result<Option<LocalState>> {
        let path = self.state_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::Failed(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        let state: LocalState = serde_json::from_str(&text).map_err(|e| {
            Error::Failed(format!(
                "{} is damaged ({e}); delete it and run `chatctl local up`",
                path.display()
            ))
        })?;
        // A pid in an old state file may belong to another process by now.
        Ok(runs(state.pid, EMULATOR_MARK).then_some(state))
    }

    pub fn save(&self, state: &LocalState) -> Result<()> {
        let path = self.state_file();
        write_file(&path, &serde_json::to_vec_pretty(state).unwrap_or_default())
    }

    /// The running emulator, or an error that says how to start it.
    pub fn require(&self) -> Result<LocalState> {
        self.running()?.ok_or_else(|| {
            Error::Failed(
                "--local: the local emulator is not running\n  hint: start it with `chatctl local up`"
                    .to_string(),
            )
        })
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, bytes).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// What the emulator's and the site proxy's command lines contain: a pid
/// from `state.json` is signalled only while it still runs one of them.
const EMULATOR_MARK: &str = "ministack";
const SITE_PROXY_MARK: &str = "serve-site";

/// A process's command line, arguments joined by spaces (Linux's /proc,
/// else `ps`); None when there is no such process.
fn command_line(pid: u32) -> Option<String> {
    if let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) {
        return Some(String::from_utf8_lossy(&raw).replace('\0', " "));
    }
    let out = Command::new("ps")
        .args(["-o", "command=", "-p", &pid.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Whether `pid` is alive and still the process whose command line holds `mark`.
pub fn runs(pid: u32, mark: &str) -> bool {
    crate::process::exists(pid) && command_line(pid).is_some_and(|line| line.contains(mark))
}

/// Stops the group led by `pid` only while `pid` is still what chatctl
/// started; a recycled pid is left alone, with a word on stderr.
fn stop_own(pid: u32, mark: &str) {
    if runs(pid, mark) {
        stop_group(pid);
    } else if crate::process::exists(pid) {
        eprintln!(
            "chatctl: process {pid} is no longer the {mark} chatctl started; not signalling it"
        );
    }
}

/// Installs the pinned emulator into the project's tools directory.
pub fn install(dir: &LocalDir, say: &dyn Fn(&str)) -> Result<()> {
    if dir.ministack().exists() {
        return Ok(());
    }
    let venv = dir.venv();
    say(&format!(
        "installing ministack {MINISTACK_VERSION} into {} (first time only)",
        venv.display()
    ));
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    run(
        Command::new(&python).arg("-m").arg("venv").arg(&venv),
        &format!("{python} -m venv"),
    )?;
    let requirement = format!("ministack=={MINISTACK_VERSION}");
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(&requirement),
        "pip install ministack",
    )?;
    // The marker scripts/setup.sh reads: the same pin is not installed twice.
    write_file(&venv.join(".pinned"), format!("{requirement}\n").as_bytes())
}

fn run(command: &mut Command, what: &str) -> Result<()> {
    let output = command.stdin(Stdio::null()).output().map_err(|e| {
        Error::Failed(format!(
            "{what}: cannot run it ({e})\n  hint: install Python 3 with venv and pip (Debian: apt-get install python3-venv)"
        ))
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::Failed(format!(
        "{what} failed ({}):\n{}\n  hint: check that PyPI is reachable, then run `chatctl local up` again",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}

/// The emulator on 127.0.0.1:`port`, set up so the Lambda processes it
/// spawns reach it: they inherit `AWS_ENDPOINT_URL` (the handlers' SDK
/// clients) and `EXECUTE_API_ENDPOINT_OVERRIDE` (their management API base,
/// handlers/chat-core/src/settings.rs). The tests start theirs with it too.
pub fn emulator_command(binary: &Path, port: u16) -> Command {
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(binary);
    command
        .env("GATEWAY_PORT", port.to_string())
        // Without it the emulator listens on every interface.
        .env("BIND_HOST", "127.0.0.1")
        .env(
            "EXECUTE_API_ENDPOINT_OVERRIDE",
            format!("{endpoint}/_aws/execute-api"),
        )
        .env("AWS_ENDPOINT_URL", endpoint);
    command
}

/// A fresh, empty log file (its directory created).
fn new_log(path: &Path) -> Result<std::fs::File> {
    write_file(path, b"")?;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// Starts the emulator in its own process group and waits for its health check.
pub fn start(dir: &LocalDir, port: u16) -> Result<LocalState> {
    if port_in_use(port) {
        return Err(Error::Failed(format!(
            "port {port} on 127.0.0.1 is already in use\n  hint: stop what listens there, or choose another with `chatctl local up --port PORT`"
        )));
    }
    let log_path = dir.log_file();
    let log = new_log(&log_path)?;
    let log_err = log.try_clone().map_err(|source| Error::Write {
        path: log_path.clone(),
        source,
    })?;
    let binary = dir.ministack();
    let child = {
        use std::os::unix::process::CommandExt;
        emulator_command(&binary, port)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Its own group: `down` stops it with every function process it spawned.
            .process_group(0)
            .spawn()
            .map_err(|e| {
                Error::Failed(format!(
                    "cannot start {}: {e}\n  hint: delete {} and run `chatctl local up` to reinstall",
                    binary.display(),
                    dir.venv().display()
                ))
            })?
    };
    let state = LocalState {
        pid: child.id(),
        port,
        sites: Default::default(),
    };
    dir.save(&state)?;
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if healthy(port) {
            return Ok(state);
        }
        if !crate::process::exists(state.pid) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stop_group(state.pid);
    let _ = std::fs::remove_file(dir.state_file());
    Err(Error::Failed(format!(
        "the emulator did not become healthy on port {port} within {}s\n  hint: read {}",
        START_TIMEOUT.as_secs(),
        log_path.display()
    )))
}

/// Stops the emulator and any site proxies, and forgets them.
pub fn stop(dir: &LocalDir, state: &LocalState) -> Result<()> {
    for site in state.sites.values() {
        stop_own(site.pid, SITE_PROXY_MARK);
    }
    stop_own(state.pid, EMULATOR_MARK);
    match std::fs::remove_file(dir.state_file()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Write {
            path: dir.state_file(),
            source,
        }),
    }
}

/// SIGTERM to the process group led by `pid`, then SIGKILL if it lingers.
pub fn stop_group(pid: u32) {
    let Ok(group) = i32::try_from(pid) else {
        return;
    };
    // SAFETY: signalling a process group we started; a stale pid fails harmlessly.
    unsafe { libc::kill(-group, libc::SIGTERM) };
    let deadline = Instant::now() + STOP_TIMEOUT;
    while crate::process::exists(pid) && Instant::now() < deadline {
        reap(group);
        std::thread::sleep(Duration::from_millis(50));
    }
    if crate::process::exists(pid) {
        // SAFETY: as above.
        unsafe { libc::kill(-group, libc::SIGKILL) };
    }
    reap(group);
}

/// Collects an exited child of this process, so it does not linger as a zombie.
fn reap(pid: i32) {
    // SAFETY: WNOHANG never blocks; a pid that is not our child returns -1.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
}

pub fn port_in_use(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// The emulator's health check answers 200.
pub fn healthy(port: u16) -> bool {
    use std::io::{Read, Write};
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET /_ministack/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// The `--local` view for `stack`: the emulator, and the site proxy's port
/// (the one recorded for the stack, or a free one).
pub fn target(dir: &LocalDir, state: &LocalState, stack: &str) -> Result<LocalTarget> {
    let site_port = match state.sites.get(stack) {
        Some(site) => site.port,
        None => free_port()?,
    };
    Ok(LocalTarget {
        dir: dir.clone(),
        emulator_port: state.port,
        site_port,
    })
}

fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| Error::Failed(format!("cannot find a free port on 127.0.0.1: {e}")))
}

/// (Re)starts the site proxy of `stack` after a `launch --local`, in the
/// background, and records it so `local down` stops it.
pub fn start_site(
    target: &LocalTarget,
    stack: &str,
    outputs: &std::collections::BTreeMap<String, String>,
    origin_verify: Option<&str>,
) -> Result<SiteProxy> {
    let dir = &target.dir;
    let mut state = dir.require()?;
    if let Some(old) = state.sites.remove(stack) {
        stop_own(old.pid, SITE_PROXY_MARK);
    }
    let needed = |key: &str| {
        outputs.get(key).cloned().ok_or_else(|| {
            Error::Failed(format!(
                "the stack has no {key} output; run `chatctl --local launch` again"
            ))
        })
    };
    let exe = std::env::current_exe()
        .map_err(|e| Error::Failed(format!("cannot find chatctl's own executable: {e}")))?;
    let log_path = dir.root.join(format!("local/site-{stack}.log"));
    let log = new_log(&log_path)?;
    let child = {
        use std::os::unix::process::CommandExt;
        Command::new(exe)
            .args(["local", "serve-site", "--port"])
            .arg(target.site_port.to_string())
            .arg("--emulator-port")
            .arg(target.emulator_port.to_string())
            .arg("--site-bucket")
            .arg(needed("SiteBucketName")?)
            .arg("--http-api-id")
            .arg(needed("HttpApiId")?)
            .env(
                crate::commands::local::ORIGIN_VERIFY_ENV,
                origin_verify.unwrap_or_default(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|e| Error::Failed(format!("cannot start the site proxy: {e}")))?
    };
    let site = SiteProxy {
        pid: child.id(),
        port: target.site_port,
    };
    state.sites.insert(stack.to_string(), site.clone());
    dir.save(&state)?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if port_in_use(site.port) {
            return Ok(site);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(Error::Failed(format!(
        "the site proxy did not start on port {}\n  hint: read {}",
        site.port,
        log_path.display()
    )))
}

/// Stops and forgets the site proxy of `stack` (after `delete --local`).
pub fn stop_site(dir: &LocalDir, stack: &str) -> Result<()> {
    let Some(mut state) = dir.running()? else {
        return Ok(());
    };
    if let Some(site) = state.sites.remove(stack) {
        stop_own(site.pid, SITE_PROXY_MARK);
        dir.save(&state)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_is_signalled_only_while_it_runs_what_chatctl_started() {
        let me = std::process::id();
        // This test binary's own command line: its name, not the emulator's.
        assert!(super::runs(me, "chatctl"));
        assert!(!super::runs(me, super::EMULATOR_MARK));
        assert!(!super::runs(u32::MAX / 2, "chatctl"), "no such process");
    }

    #[test]
    fn the_emulator_pin_matches_the_setup_script() {
        let setup = include_str!("../../scripts/setup.sh");
        assert!(
            setup.contains(&format!("MINISTACK_VERSION={MINISTACK_VERSION}\n")),
            "scripts/setup.sh pins another ministack than chatctl local installs"
        );
    }

    #[test]
    fn browser_outputs_point_at_this_machine() {
        let target = LocalTarget {
            dir: LocalDir::for_config(Path::new("chatctl.yaml")),
            emulator_port: 4566,
            site_port: 8080,
        };
        let outputs = [
            ("WebSocketApiId", "ws1"),
            ("WebSocketStageName", "live"),
            (
                "WebSocketUrl",
                "wss://ws1.execute-api.us-east-1.amazonaws.com/live",
            ),
            ("HttpApiId", "h1"),
            ("SiteUrl", "https://d1.cloudfront.net"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let outputs = target.browser_outputs(outputs);
        assert_eq!(
            outputs["WebSocketUrl"],
            "ws://127.0.0.1:4566/_aws/execute-api/ws1/live"
        );
        assert_eq!(
            outputs["HttpApiUrl"],
            "http://127.0.0.1:4566/_aws/execute-api/h1/$default"
        );
        assert_eq!(outputs["SiteUrl"], "http://127.0.0.1:8080/");
        assert_eq!(
            LocalDir::for_config(Path::new("chatctl.yaml")).state_file(),
            Path::new("./.chatctl/local/state.json")
        );
    }
}
