//! The emulator and site-proxy processes: started, checked (by pid and
//! command line, so a recycled pid is never signalled) and stopped.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::*;
use crate::error::{Error, Result};

/// How long a fresh emulator may take to answer its health check.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `down` waits after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// What the emulator's and the site proxy's command lines contain: a pid
/// from `state.json` is signalled only while it still runs one of them.
pub(super) const EMULATOR_MARK: &str = "ministack";
pub(super) const SITE_PROXY_MARK: &str = "serve-site";

/// A process's command line, arguments joined by spaces (Linux's /proc,
/// else `ps`); None when there is no such process.
pub(super) fn command_line(pid: u32) -> Option<String> {
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
pub(super) fn stop_own(pid: u32, mark: &str) {
    if runs(pid, mark) {
        stop_group(pid);
    } else if crate::process::exists(pid) {
        eprintln!(
            "chatctl: process {pid} is no longer the {mark} chatctl started; not signalling it"
        );
    }
}

/// The emulator on 127.0.0.1:`port`, set up so the Lambda processes it
/// spawns reach it: they inherit `AWS_ENDPOINT_URL` (the handlers' SDK
/// clients), `EXECUTE_API_ENDPOINT_OVERRIDE` (their management API base,
/// handlers/chat-core/src/settings.rs), `COGNITO_ENDPOINT_OVERRIDE` (where
/// the emulator serves the user pools' JWKS, hosted UI and token endpoint,
/// on its own address) and `PUSH_ALLOW_LOCAL` (push
/// endpoints may be http on 127.0.0.1, where a test's push service
/// listens; never set on AWS). The tests start theirs with it too.
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
        .env("COGNITO_ENDPOINT_OVERRIDE", &endpoint)
        .env("PUSH_ALLOW_LOCAL", "true")
        .env("AWS_ENDPOINT_URL", endpoint);
    command
}

/// A fresh, empty log file (its directory created).
pub(super) fn new_log(path: &Path) -> Result<std::fs::File> {
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
        return Err(
            Error::failed(format!("port {port} on 127.0.0.1 is already in use")).with_hint(
                "stop what listens there, or choose another with `chatctl local up --port PORT`",
            ),
        );
    }
    let log_path = dir.log_file();
    let log = new_log(&log_path)?;
    let log_err = log.try_clone().map_err(|source| Error::Write {
        path: log_path.clone(),
        source,
    })?;
    let binary = dir.ministack();
    let tmp = dir.tmp_dir();
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|source| Error::Write {
        path: tmp.clone(),
        source,
    })?;
    let child = {
        use std::os::unix::process::CommandExt;
        emulator_command(&binary, port)
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Its own group: `down` stops it with every function process it spawned.
            .process_group(0)
            .spawn()
            .map_err(|e| {
                Error::failed(format!("cannot start {}: {e}", binary.display())).with_hint(format!(
                    "delete {} and run `chatctl local up` to reinstall",
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
    Err(Error::failed(format!(
        "the emulator did not become healthy on port {port} within {}s",
        START_TIMEOUT.as_secs()
    ))
    .with_hint(format!("read {}", log_path.display())))
}

/// Stops the emulator and any site proxies, and forgets them.
pub fn stop(dir: &LocalDir, state: &LocalState) -> Result<()> {
    for site in state.sites.values() {
        stop_own(site.pid, SITE_PROXY_MARK);
    }
    stop_own(state.pid, EMULATOR_MARK);
    // What the emulator unpacked goes with it.
    let _ = std::fs::remove_dir_all(dir.tmp_dir());
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
pub(super) fn reap(pid: i32) {
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
