//! Finds cargo-zigbuild, Zig and the Rust targets, and says exactly what to
//! run when one is missing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::config::Architecture;
use crate::error::{Error, Result};

/// The Rust target for an architecture, and the glibc it links against.
/// 2.17 is old enough for every Lambda runtime (al2023 has 2.34, al2 2.26).
pub fn target(architecture: Architecture) -> (&'static str, &'static str) {
    match architecture {
        Architecture::X86_64 => ("x86_64-unknown-linux-gnu", "x86_64-unknown-linux-gnu.2.17"),
        Architecture::Arm64 => (
            "aarch64-unknown-linux-gnu",
            "aarch64-unknown-linux-gnu.2.17",
        ),
    }
}

/// The `PATH` under which cargo-zigbuild finds Zig.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub path: OsString,
}

/// Checks every tool a build needs before starting it.
pub fn locate(workspace_root: &Path, architecture: Architecture) -> Result<Toolchain> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    // Where scripts/setup.sh installs the ziglang and cargo-zigbuild
    // packages (both from PyPI), used for whichever PATH lacks: next to the
    // handler workspace or in a directory above it (the project's root,
    // where the handlers are a workspace of their own).
    let project_tools = workspace_root
        .ancestors()
        .map(|dir| dir.join(".chatctl/tools/zig/bin"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| workspace_root.join(".chatctl/tools/zig/bin"));
    let has_zig = |dir: &Path| dir.join("zig").is_file() || dir.join("python-zig").is_file();
    let has_zigbuild = |dir: &Path| dir.join("cargo-zigbuild").is_file();
    let missing = !dirs.iter().any(|d| has_zig(d)) || !dirs.iter().any(|d| has_zigbuild(d));
    if missing && (has_zig(&project_tools) || has_zigbuild(&project_tools)) {
        dirs.insert(0, project_tools);
    }
    if !dirs.iter().any(|d| has_zig(d)) {
        return Err(Error::usage(
            "Zig is not installed: run `pip install ziglang` (or scripts/setup.sh, which installs it into .chatctl/tools/zig)".to_string(),
        ));
    }
    let path = std::env::join_paths(dirs)
        .map_err(|e| Error::failed(format!("cannot build PATH for cargo-zigbuild: {e}")))?;

    let zigbuild = Command::new("cargo-zigbuild")
        .arg("--version")
        .env("PATH", &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !zigbuild.is_ok_and(|s| s.success()) {
        return Err(Error::usage(
            "cargo-zigbuild is not installed: run `pip install cargo-zigbuild` (prebuilt) or `cargo install --locked cargo-zigbuild`"
                .to_string(),
        ));
    }

    let (triple, _) = target(architecture);
    if let Ok(output) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    {
        let installed = String::from_utf8_lossy(&output.stdout);
        if output.status.success() && !installed.lines().any(|l| l.trim() == triple) {
            return Err(Error::usage(format!(
                "the Rust target {triple} is not installed: run `rustup target add {triple}`"
            )));
        }
    }
    Ok(Toolchain { path })
}
