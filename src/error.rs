//! The library's error type and the exit codes it maps to.
//!
//! Exit codes are part of chatctl's interface (README, "Exit codes"):
//! 0 success, 1 operation failed, 2 usage or configuration error,
//! 3 deployment failed and was rolled back, 130 interrupted.

use std::path::PathBuf;

/// Process exit codes, as documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    Failed = 1,
    Usage = 2,
    RolledBack = 3,
    /// 128 + SIGINT, as shells report a command stopped by Ctrl-C.
    Interrupted = 130,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration file {path} not found\n  hint: {hint}", path = .path.display())]
    ConfigMissing { path: PathBuf, hint: String },

    #[error("cannot read configuration file {path}: {source}", path = .path.display())]
    ConfigUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The file was read but its content is wrong; `line` and `column` are 1-based.
    #[error("{path}: {location}: {message}\n  hint: {hint}", path = .path.display(), location = location(*.line, *.column))]
    ConfigInvalid {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
        hint: String,
    },

    #[error("{0}")]
    Usage(String),

    #[error("{0}")]
    Failed(String),

    /// A deployment failed and CloudFormation rolled it back.
    #[error("{0}")]
    RolledBack(String),

    /// Ctrl-C or SIGTERM: what was in progress and what was cleaned up.
    #[error("{0}")]
    Interrupted(String),

    #[error("cannot write {path}: {source}", path = .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!("line {line}, column {column}"),
        (Some(line), None) => format!("line {line}"),
        _ => "(no position)".to_string(),
    }
}

impl Error {
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::ConfigMissing { .. }
            | Error::ConfigUnreadable { .. }
            | Error::ConfigInvalid { .. }
            | Error::Usage(_) => ExitStatus::Usage,
            Error::Failed(_) | Error::Write { .. } => ExitStatus::Failed,
            Error::RolledBack(_) => ExitStatus::RolledBack,
            Error::Interrupted(_) => ExitStatus::Interrupted,
        }
    }

    /// A stable, machine-readable name for `--output json` error documents.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::ConfigMissing { .. } => "config_missing",
            Error::ConfigUnreadable { .. } => "config_unreadable",
            Error::ConfigInvalid { .. } => "config_invalid",
            Error::Usage(_) => "usage",
            Error::Failed(_) => "failed",
            Error::RolledBack(_) => "rolled_back",
            Error::Interrupted(_) => "interrupted",
            Error::Write { .. } => "write_failed",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
