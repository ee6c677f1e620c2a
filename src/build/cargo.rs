//! Cargo: the workspace layout (`cargo metadata`) and the one `cargo
//! zigbuild` invocation that builds every handler, so shared dependencies
//! compile once.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The Cargo workspace the handler crates belong to.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
    /// Binary packages by their manifest directory.
    pub packages: BTreeMap<PathBuf, Package>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    /// The binary target that becomes `bootstrap`.
    pub bin: String,
}

#[derive(Deserialize)]
struct Metadata {
    workspace_root: PathBuf,
    target_directory: PathBuf,
    packages: Vec<MetadataPackage>,
}

#[derive(Deserialize)]
struct MetadataPackage {
    name: String,
    manifest_path: PathBuf,
    targets: Vec<MetadataTarget>,
}

#[derive(Deserialize)]
struct MetadataTarget {
    name: String,
    kind: Vec<String>,
}

/// Reads the workspace that contains `crate_dir`.
pub fn metadata(crate_dir: &Path) -> Result<Workspace> {
    let output = Command::new("cargo")
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(crate_dir.join("Cargo.toml"))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error::usage(format!("cannot run cargo: {e}; install Rust with rustup")))?;
    if !output.status.success() {
        return Err(Error::failed(format!(
            "cargo metadata failed for {}",
            crate_dir.display()
        )));
    }
    let metadata: Metadata = serde_json::from_slice(&output.stdout)
        .map_err(|e| Error::failed(format!("cannot read cargo metadata: {e}")))?;
    let mut packages = BTreeMap::new();
    for package in metadata.packages {
        let bins: Vec<&MetadataTarget> = package
            .targets
            .iter()
            .filter(|t| t.kind.iter().any(|k| k == "bin"))
            .collect();
        let Some(bin) = bins
            .iter()
            .find(|t| t.name == package.name)
            .or_else(|| bins.first())
        else {
            continue;
        };
        // Canonical, like the handler directories it is matched with: cargo
        // reports paths as it was given them, through symbolic links (every
        // macOS temporary directory, many CI caches) included.
        let dir = package
            .manifest_path
            .parent()
            .map(|dir| dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()))
            .unwrap_or_default();
        packages.insert(
            dir,
            Package {
                name: package.name.clone(),
                bin: bin.name.clone(),
            },
        );
    }
    Ok(Workspace {
        root: metadata.workspace_root,
        target_dir: metadata.target_directory,
        packages,
    })
}

/// The variables cargo (or a test runner) sets for a program it runs (`cargo
/// run`, a test) that describe that program's own package. Passed on to the
/// handler build they change nothing in it, but build scripts that read them
/// (ring reads `CARGO_MANIFEST_DIR`) rerun when they differ, and everything
/// after them recompiles: chatctl run by `cargo run` or by a test would
/// rebuild every handler that a plain `chatctl` had built, and back again.
pub fn calling_package_vars(
    names: impl Iterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    const PREFIXES: [&str; 4] = ["CARGO_PKG_", "CARGO_BIN_EXE_", "CARGO_MANIFEST_", "NEXTEST"];
    const NAMES: [&str; 4] = [
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
    ];
    names
        .filter(|name| {
            name.to_str().is_some_and(|name| {
                NAMES.contains(&name) || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
            })
        })
        .collect()
}

/// Runs one `cargo zigbuild` for `packages` and returns each package's
/// executable. Compiler diagnostics go to stderr as cargo renders them;
/// `on_line` receives cargo's stderr lines when `capture_stderr` is set (so a
/// progress display can print them), `on_built` each finished package.
pub struct ZigBuild<'a> {
    pub workspace: &'a Workspace,
    pub packages: &'a [Package],
    pub target: &'a str,
    /// The Cargo profile (`lambda` unless the configuration names another).
    pub profile: &'a str,
    pub path_env: &'a std::ffi::OsStr,
    pub capture_stderr: bool,
    /// Passes `--quiet`: only diagnostics, no "Compiling" lines.
    pub quiet: bool,
}

#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    target: Option<MetadataTarget>,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    success: Option<bool>,
}

impl ZigBuild<'_> {
    pub fn run(
        &self,
        on_line: &(dyn Fn(&str) + Sync),
        on_built: &mut dyn FnMut(&str),
    ) -> Result<BTreeMap<String, PathBuf>> {
        let mut command = Command::new("cargo");
        command
            .arg("zigbuild")
            .arg("--manifest-path")
            .arg(self.workspace.root.join("Cargo.toml"))
            .args(["--profile", self.profile, "--target", self.target])
            .arg("--message-format=json-render-diagnostics")
            .env("PATH", self.path_env)
            .stdout(Stdio::piped());
        for package in self.packages {
            command.args(["-p", &package.name]);
        }
        // The versions the lock file names, never newer ones resolved at
        // build time: what was reviewed is what ships.
        if self.workspace.root.join("Cargo.lock").is_file() {
            command.arg("--locked");
        }
        for name in calling_package_vars(std::env::vars_os().map(|(name, _)| name)) {
            command.env_remove(name);
        }
        let remaps = remap_flags(&cargo_home(), &self.workspace.target_dir);
        match std::env::var("CARGO_ENCODED_RUSTFLAGS")
            .ok()
            .or_else(|| {
                std::env::var("RUSTFLAGS")
                    .ok()
                    .map(|f| f.split_whitespace().collect::<Vec<_>>().join("\x1f"))
            })
            .filter(|flags| !flags.is_empty())
        {
            // The user's flags in the environment win over any configuration:
            // the remapping joins them there.
            Some(flags) => {
                let all: Vec<String> = flags
                    .split('\x1f')
                    .map(str::to_string)
                    .chain(remaps)
                    .collect();
                command
                    .env_remove("RUSTFLAGS")
                    .env("CARGO_ENCODED_RUSTFLAGS", all.join("\x1f"));
            }
            None => {
                let triple = self.target.split('.').next().unwrap_or(self.target);
                let quoted: Vec<String> = remaps.iter().map(|f| toml_string(f)).collect();
                command
                    .arg("--config")
                    .arg(format!("target.{triple}.rustflags=[{}]", quoted.join(",")));
            }
        }
        if self.quiet {
            command.arg("--quiet");
        }
        if self.capture_stderr {
            // cargo sees a pipe, but a person reads the lines on a terminal.
            command.arg("--color=always");
        }
        if self.capture_stderr {
            command.stderr(Stdio::piped());
        } else {
            command.stderr(Stdio::inherit());
        }
        let mut child = command
            .spawn()
            .map_err(|e| Error::failed(format!("cannot run cargo zigbuild: {e}")))?;

        let stderr = child.stderr.take();
        let mut executables = BTreeMap::new();
        let mut success = false;
        std::thread::scope(|scope| {
            if let Some(stderr) = stderr {
                scope.spawn(move || {
                    for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                        on_line(&line);
                    }
                });
            }
            if let Some(stdout) = child.stdout.take() {
                for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                    let Ok(message) = serde_json::from_str::<Message>(&line) else {
                        continue;
                    };
                    match (message.reason.as_str(), message.target, message.executable) {
                        ("compiler-artifact", Some(target), Some(executable)) => {
                            if let Some(package) =
                                self.packages.iter().find(|p| p.bin == target.name)
                            {
                                on_built(&package.name);
                                executables.insert(package.name.clone(), executable);
                            }
                        }
                        ("build-finished", _, _) => success = message.success.unwrap_or(false),
                        _ => {}
                    }
                }
            }
        });
        let status = child
            .wait()
            .map_err(|e| Error::failed(format!("cargo zigbuild did not finish: {e}")))?;
        if !status.success() || !success {
            return Err(Error::failed(
                "the handlers did not compile: cargo's messages above say why".to_string(),
            ));
        }
        Ok(executables)
    }
}

/// Cargo's home: where registry sources are unpacked (`CARGO_HOME`, else
/// `~/.cargo`).
pub fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
}

/// `--remap-path-prefix` flags that make the handler binaries independent of
/// the machine: dependencies' panic locations carry their source path under
/// the Cargo home (hundreds of them), and generated code the target
/// directory's. Without them the same commit gives other zips, another
/// `CodeSha256` and a redeploy of every function from each machine. Both
/// the path as given and its canonical form are mapped; rustc applies the
/// last match, so the more specific target directory comes last.
pub fn remap_flags(cargo_home: &Path, target_dir: &Path) -> Vec<String> {
    let mut flags = Vec::new();
    for (from, to) in [(cargo_home, "/cargo"), (target_dir, "/target")] {
        let mut forms = vec![from.to_path_buf()];
        if let Ok(canonical) = from.canonicalize() {
            if canonical != from {
                forms.push(canonical);
            }
        }
        for form in forms {
            flags.push(format!("--remap-path-prefix={}={to}", form.display()));
        }
    }
    flags
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_paths_are_remapped_and_quoted_for_cargos_config() {
        let flags = remap_flags(Path::new("/home/ci/.cargo"), Path::new("/no/such/target"));
        assert_eq!(
            flags,
            [
                "--remap-path-prefix=/home/ci/.cargo=/cargo",
                "--remap-path-prefix=/no/such/target=/target"
            ]
        );
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn the_calling_packages_variables_are_not_passed_to_the_handler_build() {
        let calling_package = [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_PKG_NAME",
            "CARGO_BIN_EXE_chatctl",
            "CARGO_TARGET_TMPDIR",
            "NEXTEST_RUN_ID",
        ];
        let the_users = [
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_TERM_COLOR",
            "RUSTFLAGS",
            "PATH",
        ];
        let names = the_users
            .iter()
            .chain(&calling_package)
            .map(std::ffi::OsString::from);
        assert_eq!(
            calling_package_vars(names),
            calling_package.map(std::ffi::OsString::from)
        );
    }
}
