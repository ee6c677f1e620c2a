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
    #[error("configuration file {path} not found", path = .path.display())]
    ConfigMissing { path: PathBuf, hint: String },

    #[error("cannot read configuration file {path}: {source}", path = .path.display())]
    ConfigUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The file was read but its content is wrong; `line` and `column` are 1-based.
    #[error("{path}: {location}: {message}", path = .path.display(), location = location(*.line, *.column))]
    ConfigInvalid {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
        hint: String,
    },

    /// A wrong argument or setting (exit 2).
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },

    /// An operation failed (exit 1).
    #[error("{message}")]
    Failed {
        message: String,
        hint: Option<String>,
    },

    /// An AWS call failed (exit 1).
    #[error(transparent)]
    Aws(#[from] AwsFailure),

    /// A local file or directory could not be read or listed.
    #[error("{doing} {path}: {source}", path = .path.display())]
    Io {
        doing: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

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

/// An AWS call that failed: what chatctl was doing, and AWS's answer (its
/// error code and message), or that the endpoint could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("{doing}: {}", self.said())]
pub struct AwsFailure {
    pub doing: String,
    /// The service's error code (`AccessDenied`, `ValidationError`, ...).
    pub code: Option<String>,
    pub message: String,
    /// No answer came: the connection was refused or timed out.
    pub unreachable: bool,
}

impl AwsFailure {
    fn said(&self) -> String {
        match (&self.code, self.unreachable) {
            (_, true) => format!("{} after retrying", self.message),
            (Some(code), false) => format!("{code}: {}", self.message),
            (None, false) => self.message.clone(),
        }
    }

    /// What to do about it, for the errors people meet most.
    pub fn hint(&self) -> Option<&'static str> {
        if self.unreachable {
            return Some(
                "check the network, a proxy, the region, and --endpoint-url or AWS_ENDPOINT_URL if set",
            );
        }
        Some(match self.code.as_deref()? {
            "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
                "the identity in use may not do this: compare its policy with the README's deploy role"
            }
            "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
                "the credentials have expired: renew them (aws sso login, or a new session)"
            }
            "InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch" => {
                "the credentials are not valid here: check AWS_PROFILE, the keys and the region"
            }
            "Throttling" | "ThrottlingException" | "TooManyRequestsException" => {
                "AWS is throttling the account's calls: try again in a minute"
            }
            _ => return None,
        })
    }
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!("line {line}, column {column}"),
        (Some(line), None) => format!("line {line}"),
        _ => "(no position)".to_string(),
    }
}

impl Error {
    /// An operation that failed (exit 1).
    pub fn failed(message: impl Into<String>) -> Error {
        Error::Failed {
            message: message.into(),
            hint: None,
        }
    }

    /// A wrong argument or setting (exit 2).
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
            hint: None,
        }
    }

    /// A local file or directory that could not be read.
    pub fn read(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Error {
        Error::Io {
            doing: "cannot read",
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// A local file or directory that could not be written.
    pub fn write(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Error {
        Error::Io {
            doing: "cannot write",
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// The same error, with what to do about it.
    pub fn with_hint(self, what_to_do: impl Into<String>) -> Error {
        match self {
            Error::Failed { message, .. } => Error::Failed {
                message,
                hint: Some(what_to_do.into()),
            },
            Error::Usage { message, .. } => Error::Usage {
                message,
                hint: Some(what_to_do.into()),
            },
            other => other,
        }
    }

    /// What to do about the error, when chatctl can say.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::ConfigMissing { hint, .. } | Error::ConfigInvalid { hint, .. } => Some(hint),
            Error::Usage { hint, .. } | Error::Failed { hint, .. } => hint.as_deref(),
            Error::Aws(failure) => failure.hint(),
            _ => None,
        }
    }

    /// The error as people read it: the message, then the hint on its own line.
    pub fn report(&self) -> String {
        match self.hint() {
            Some(hint) => format!("{self}\n  hint: {hint}"),
            None => self.to_string(),
        }
    }

    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::ConfigMissing { .. }
            | Error::ConfigUnreadable { .. }
            | Error::ConfigInvalid { .. }
            | Error::Usage { .. } => ExitStatus::Usage,
            Error::Failed { .. } | Error::Aws(_) | Error::Io { .. } | Error::Write { .. } => {
                ExitStatus::Failed
            }
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
            Error::Usage { .. } => "usage",
            Error::Failed { .. } => "failed",
            Error::Aws(_) => "aws",
            Error::Io { .. } => "io",
            Error::RolledBack(_) => "rolled_back",
            Error::Interrupted(_) => "interrupted",
            Error::Write { .. } => "write_failed",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(code: Option<&str>, unreachable: bool) -> Error {
        Error::Aws(AwsFailure {
            doing: "reading stack chat-dev".into(),
            code: code.map(str::to_string),
            message: if unreachable {
                "cannot connect (Connection refused)".into()
            } else {
                "User is not authorized".into()
            },
            unreachable,
        })
    }

    #[test]
    fn a_hint_is_its_own_line_in_text_and_its_own_field_in_json() {
        let error =
            Error::failed("the emulator is not running").with_hint("run `chatctl local up`");
        assert_eq!(error.to_string(), "the emulator is not running");
        assert_eq!(
            error.report(),
            "the emulator is not running\n  hint: run `chatctl local up`"
        );
        let document: serde_json::Value =
            serde_json::from_str(&crate::output::error_document(&error)).expect("json");
        assert_eq!(document["error"]["message"], "the emulator is not running");
        assert_eq!(document["error"]["hint"], "run `chatctl local up`");
        assert_eq!(document["error"]["exit_code"], 1);
        let plain = Error::usage("bad stage");
        assert_eq!(plain.report(), "bad stage");
        assert_eq!(plain.exit_status(), ExitStatus::Usage);
        let document: serde_json::Value =
            serde_json::from_str(&crate::output::error_document(&plain)).expect("json");
        assert!(document["error"]["hint"].is_null());
    }

    #[test]
    fn an_aws_failure_names_the_call_and_the_code_and_hints_by_code() {
        let denied = aws(Some("AccessDenied"), false);
        assert_eq!(
            denied.to_string(),
            "reading stack chat-dev: AccessDenied: User is not authorized"
        );
        assert!(denied.hint().is_some_and(|h| h.contains("deploy role")));
        assert_eq!(
            (denied.kind(), denied.exit_status()),
            ("aws", ExitStatus::Failed)
        );
        let offline = aws(None, true);
        assert_eq!(
            offline.to_string(),
            "reading stack chat-dev: cannot connect (Connection refused) after retrying"
        );
        assert!(offline.hint().is_some_and(|h| h.contains("--endpoint-url")));
        assert!(aws(Some("ExpiredToken"), false)
            .hint()
            .is_some_and(|h| h.contains("expired")));
        assert_eq!(aws(Some("ValidationError"), false).hint(), None);
    }

    #[test]
    fn an_unreadable_file_names_its_path() {
        let error = Error::read(
            "site/index.html",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert!(error
            .to_string()
            .starts_with("cannot read site/index.html: "));
        assert_eq!(error.kind(), "io");
    }
}
