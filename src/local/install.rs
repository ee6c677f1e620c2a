//! Installing the pinned emulator into the project's tools directory.

use std::process::{Command, Stdio};

use super::state::*;
use super::*;
use crate::error::{Error, Result};

/// Installs the pinned emulator into the project's tools directory, or
/// brings an earlier chatctl's installation up to the pins (its marker
/// differs).
pub fn install(dir: &LocalDir, say: &dyn Fn(&str)) -> Result<()> {
    let venv = dir.venv();
    let requirements = [
        format!("ministack=={MINISTACK_VERSION}"),
        format!("cbor2=={CBOR2_VERSION}"),
        format!("cryptography=={CRYPTOGRAPHY_VERSION}"),
    ];
    let marker = format!("{}\n", requirements.join(" "));
    let pinned = std::fs::read_to_string(venv.join(".pinned")).ok();
    // CHATCTL_MINISTACK names an emulator installed by someone else.
    if dir.ministack().exists()
        && (std::env::var_os("CHATCTL_MINISTACK").is_some()
            || pinned.as_deref() == Some(marker.as_str()))
    {
        return Ok(());
    }
    say(&format!(
        "installing {} into {} (first time only)",
        requirements.join(", "),
        venv.display()
    ));
    if !venv.join("bin/pip").exists() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
        run(
            Command::new(&python).arg("-m").arg("venv").arg(&venv),
            &format!("{python} -m venv"),
        )?;
    }
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(&requirements),
        "pip install ministack",
    )?;
    // The marker scripts/setup.sh reads: the same pins are not installed twice.
    write_file(&venv.join(".pinned"), marker.as_bytes())
}

pub(super) fn run(command: &mut Command, what: &str) -> Result<()> {
    let output = command.stdin(Stdio::null()).output().map_err(|e| {
        Error::failed(format!("{what}: cannot run it ({e})"))
            .with_hint("install Python 3 with venv and pip (Debian: apt-get install python3-venv)")
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::failed(format!(
        "{what} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    ))
    .with_hint("check that PyPI is reachable, then run `chatctl local up` again"))
}
