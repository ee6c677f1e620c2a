//! The build manifest: what `chatctl build` produced, read by `launch` and
//! `update-code` to decide what to upload.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Architecture;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub architecture: Architecture,
    /// By handler name.
    pub handlers: BTreeMap<String, BuiltHandler>,
}

/// One handler's zip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuiltHandler {
    /// The Cargo package the binary comes from.
    pub package: String,
    pub zip: PathBuf,
    /// Size of the zip in bytes.
    pub size: u64,
    /// Hex SHA-256 of the zip; part of its artifact key.
    pub sha256: String,
    /// Base64 SHA-256 of the zip: what Lambda reports as `CodeSha256`.
    pub code_sha256: String,
    pub binary_size: u64,
    /// Hex SHA-256 of the binary, to reuse the zip when the binary did not change.
    pub binary_sha256: String,
}

impl BuiltHandler {
    /// The zip's key in the artifact bucket: content-addressed, so an upload
    /// is skipped when the key exists and a rollback finds its code.
    pub fn artifact_key(&self, handler: &str) -> String {
        format!("handlers/{handler}/{}.zip", self.sha256)
    }
}

impl Manifest {
    pub fn new(architecture: Architecture) -> Manifest {
        Manifest {
            architecture,
            handlers: BTreeMap::new(),
        }
    }

    /// Reads a manifest; a missing or unreadable one is treated as empty,
    /// since it is only a cache of the zips beside it.
    pub fn read_or_new(path: &Path, architecture: Architecture) -> Manifest {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Manifest>(&bytes).ok())
            .filter(|m| m.architecture == architecture)
            .unwrap_or_else(|| Manifest::new(architecture))
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::failed(format!("cannot encode the build manifest: {e}")))?;
        write_atomically(path, text.as_bytes())
    }
}

/// Writes through a temporary file and a rename, so an interrupted build never
/// leaves a truncated zip or manifest behind. The temporary name is the
/// process's own: two chatctl processes building into one target directory
/// (two terminals, or tests side by side) each rename their own complete file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let write_error = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(write_error)?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.partial", std::process::id()));
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, bytes).map_err(write_error)?;
    std::fs::rename(&temporary, path).map_err(write_error)
}
