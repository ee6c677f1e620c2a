//! `.chatctl/local/`: where the emulator's state, log and site proxies are
//! recorded, and what a command under `--local` reads from it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::*;
use crate::error::{Error, Result};

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

/// How a browser reaches a deployed stack: at AWS's own addresses, or under
/// `--local` at the emulator and the site proxy on this machine. The AWS
/// clients know nothing of it: the commands rewrite the outputs they report
/// (and `launch` and `update-site` the ones `config.json` is written from).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Browser {
    #[default]
    Aws,
    Local(LocalTarget),
}

impl Browser {
    /// A stack's outputs as the browser uses them.
    pub fn outputs(
        &self,
        outputs: std::collections::BTreeMap<String, String>,
    ) -> std::collections::BTreeMap<String, String> {
        match self {
            Browser::Aws => outputs,
            Browser::Local(local) => local.browser_outputs(outputs),
        }
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

    /// The emulator's temporary directory: it unpacks every function's zip
    /// there (tens of MB a launch) and never cleans up when stopped, so it
    /// lives here, not in the system's /tmp, and `local down` removes it.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("local/tmp")
    }

    pub(super) fn venv(&self) -> PathBuf {
        self.root.join("tools/ministack")
    }

    /// The log of `stack`'s site proxy.
    pub(super) fn site_log_file(&self, stack: &str) -> PathBuf {
        self.root.join(format!("local/site-{stack}.log"))
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
                return Err(Error::failed(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        let state: LocalState = serde_json::from_str(&text).map_err(|e| {
            Error::failed(format!(
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
            Error::failed("--local: the local emulator is not running")
                .with_hint("start it with `chatctl local up`")
        })
    }
}

pub(super) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
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
