//! Installing the pinned emulator into the project's tools directory.

use std::process::{Command, Stdio};

use super::state::*;
use super::*;
use crate::error::{Error, Result};

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
