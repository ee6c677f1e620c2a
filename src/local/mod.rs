//! `chatctl local`: the pinned ministack emulator as a background process on
//! 127.0.0.1, so the whole chat runs on one machine without an AWS account.
//!
//! State lives next to the configuration file, in `.chatctl/local/`: the
//! emulator's PID, port and log. The emulator is installed (first time) into
//! `.chatctl/tools/ministack`, the same place `scripts/setup.sh` uses.

pub mod proxy;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The emulator's region (it serves one at a time).
pub const REGION: &str = "us-east-1";
/// The emulator release chatctl is tested against (scripts/setup.sh pins the same).
pub const MINISTACK_VERSION: &str = "1.5.33";
/// What the emulator needs beside itself: cbor2, without which it cannot
/// read or answer CloudWatch's CBOR protocol (`cost` reads the functions'
/// durations there).
pub const CBOR2_VERSION: &str = "5.7.1";
/// And cryptography, without which its Cognito signs no token (a dummy
/// JWKS, random signatures): sign-in (`auth`) needs it.
pub const CRYPTOGRAPHY_VERSION: &str = "50.0.2";

mod emulator;
mod install;
mod state;

pub use emulator::*;
use emulator::{new_log, stop_own, SITE_PROXY_MARK};
pub use install::*;
use state::write_file;
pub use state::*;

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
        .map_err(|e| Error::failed(format!("cannot find a free port on 127.0.0.1: {e}")))
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
            Error::failed(format!(
                "the stack has no {key} output; run `chatctl --local launch` again"
            ))
        })
    };
    let exe = std::env::current_exe()
        .map_err(|e| Error::failed(format!("cannot find chatctl's own executable: {e}")))?;
    let log_path = dir.site_log_file(stack);
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
            .map_err(|e| Error::failed(format!("cannot start the site proxy: {e}")))?
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
    Err(Error::failed(format!(
        "the site proxy did not start on port {}",
        site.port
    ))
    .with_hint(format!("read {}", log_path.display())))
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
    use std::path::Path;

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
        assert!(
            setup.contains(&format!("CBOR2_VERSION={CBOR2_VERSION}\n")),
            "scripts/setup.sh pins another cbor2 than chatctl local installs"
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
