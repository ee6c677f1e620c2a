//! `chatctl.yaml`: the typed project configuration and its loader.
//!
//! Every value is checked while it is deserialized, so an error carries the
//! line and column of the offending key or value. Unknown keys are refused:
//! a misspelt key that silently falls back to a default is worse than an error.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Application name; the stack is named `{app}-{stage}`.
    pub app: Name,
    /// Stage deployed when neither `--stage` nor `CHATCTL_STAGE` names one.
    #[serde(default = "Name::default_stage")]
    pub stage: Name,
    /// Stages this project may be deployed as; empty means any valid name.
    #[serde(default)]
    pub stages: Vec<Name>,
    /// AWS region; `--region`/`AWS_REGION` win over it, the AWS profile's region is the fallback.
    #[serde(default)]
    pub region: Option<String>,
    /// CPU architecture of the Lambda functions.
    #[serde(default)]
    pub architecture: Architecture,
    /// Directory of the static web site, relative to this file.
    #[serde(default = "default_site_dir")]
    pub site_dir: PathBuf,
    /// A fixed name for the site bucket (`{stage}` is replaced by the stage).
    /// Left to CloudFormation when absent, which is what most projects want.
    #[serde(default)]
    pub site_bucket_name: Option<BucketNamePattern>,
    /// Directory holding the handler crates, relative to this file.
    #[serde(default = "default_handlers_dir")]
    pub handlers_dir: PathBuf,
    #[serde(default)]
    pub handlers: HandlerSettings,
    #[serde(default)]
    pub chat: ChatLimits,
    /// Optional custom domain for the site, served by CloudFront.
    #[serde(default)]
    pub domain: Option<CustomDomain>,
    #[serde(default)]
    pub data: DataPolicy,
    #[serde(default)]
    pub protection: Protection,
}

fn default_site_dir() -> PathBuf {
    PathBuf::from("static")
}

fn default_handlers_dir() -> PathBuf {
    PathBuf::from("handlers")
}

/// Lambda settings applied to every handler function.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HandlerSettings {
    pub memory_mb: MemoryMb,
    pub timeout_seconds: TimeoutSeconds,
    pub log_retention_days: LogRetentionDays,
}

impl Default for HandlerSettings {
    fn default() -> Self {
        HandlerSettings {
            memory_mb: MemoryMb(256),
            timeout_seconds: TimeoutSeconds(10),
            log_retention_days: LogRetentionDays(14),
        }
    }
}

/// Limits the chat enforces; the handlers receive them as environment variables.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatLimits {
    pub max_message_bytes: MessageBytes,
    pub history_length: HistoryLength,
    pub message_retention_days: Positive,
    pub rate_limit: RateLimit,
    pub connections: ConnectionLimits,
}

impl ChatLimits {
    /// The limits as the functions read them (`chat_limits`).
    pub fn limits(&self) -> chat_limits::Limits {
        chat_limits::Limits {
            max_message_bytes: self.max_message_bytes.0,
            history_length: self.history_length.0,
            message_retention_days: self.message_retention_days.0,
            rate_limit_messages: self.rate_limit.messages.0,
            rate_limit_seconds: self.rate_limit.per_seconds.0,
            connections_per_address: self.connections.per_address.0,
            connections_per_room: self.connections.per_room.0,
        }
    }
}

impl Default for ChatLimits {
    fn default() -> Self {
        ChatLimits {
            max_message_bytes: MessageBytes(chat_limits::MAX_MESSAGE_BYTES.default),
            history_length: HistoryLength(chat_limits::HISTORY_LENGTH.default),
            message_retention_days: Positive(chat_limits::MESSAGE_RETENTION_DAYS.default),
            rate_limit: RateLimit::default(),
            connections: ConnectionLimits::default(),
        }
    }
}

/// At most `messages` requests (sends, edits, deletes, history pages, HTTP
/// posts) per client within `per_seconds` seconds: a client is its source
/// address and, over the WebSocket, its author token too.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimit {
    pub messages: Positive,
    pub per_seconds: Positive,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            messages: Positive(chat_limits::RATE_LIMIT_MESSAGES.default),
            per_seconds: Positive(chat_limits::RATE_LIMIT_SECONDS.default),
        }
    }
}

/// Open WebSocket connections allowed per source address and per room.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionLimits {
    pub per_address: Positive,
    pub per_room: Positive,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            per_address: Positive(chat_limits::CONNECTIONS_PER_ADDRESS.default),
            per_room: Positive(chat_limits::CONNECTIONS_PER_ROOM.default),
        }
    }
}

/// A custom domain needs a certificate CloudFront can use, so both are required together.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CustomDomain {
    pub name: DomainName,
    pub certificate_arn: CertificateArn,
}

/// Defence at the edge, in front of the site and the HTTP API.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Protection {
    /// An AWS WAF web ACL on the distribution (a rate-based rule per address
    /// and two AWS managed rule groups), deployed by chatctl in us-east-1 as
    /// the stack `{app}-{stage}-edge`. Off by default: it costs money every month.
    pub waf: bool,
    /// Requests one address may make through CloudFront in any five minutes
    /// before the web ACL answers 429.
    pub requests_per_five_minutes: WafRateLimit,
}

impl Default for Protection {
    fn default() -> Self {
        Protection {
            waf: false,
            requests_per_five_minutes: WafRateLimit(2000),
        }
    }
}

/// What happens to chat data when the stack is deleted or a table replaced.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataPolicy {
    /// Keep the tables (DeletionPolicy/UpdateReplacePolicy Retain). Only an
    /// explicit `false` lets CloudFormation delete chat history.
    pub retain: bool,
}

impl Default for DataPolicy {
    fn default() -> Self {
        DataPolicy { retain: true }
    }
}

/// Lambda architectures, in the spelling of `chatctl.yaml` and `--arch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    #[default]
    X86_64,
    Arm64,
}

impl Architecture {
    /// The value CloudFormation's `Architectures` property takes.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.lambda_name())
    }
}

/// Declares a newtype whose value is checked when it is deserialized, so a bad
/// value is reported at its line and column.
macro_rules! checked {
    ($(#[$doc:meta])* $name:ident($inner:ty as $inner_name:literal), $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
        #[serde(try_from = $inner_name, into = $inner_name)]
        pub struct $name(pub $inner);

        impl TryFrom<$inner> for $name {
            type Error = String;
            fn try_from(value: $inner) -> std::result::Result<Self, String> {
                let check: fn(&$inner) -> std::result::Result<(), String> = $check;
                check(&value).map(|()| $name(value))
            }
        }

        impl From<$name> for $inner {
            fn from(value: $name) -> $inner {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

checked!(
    /// An application or stage name: 1 to 24 characters of `a-z`, `0-9` and `-`,
    /// starting with a letter, so `{app}-{stage}` is a valid stack name and
    /// physical names derived from it stay within AWS's limits.
    Name(String as "String"),
    |s| {
        let ok = (1..=24).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(())
        } else {
            Err(format!(
                "`{s}` is not a valid name: use 1 to 24 characters of a-z, 0-9 and '-', starting with a letter"
            ))
        }
    }
);

impl Name {
    fn default_stage() -> Name {
        Name("dev".to_string())
    }

    /// Checks a name given on the command line or in the environment.
    pub fn parse(value: &str) -> std::result::Result<Name, String> {
        Name::try_from(value.to_string())
    }
}

checked!(
    /// Lambda memory in MB: AWS accepts 128 to 10,240.
    MemoryMb(u32 as "u32"),
    |v| {
        if (128..=10_240).contains(v) {
            Ok(())
        } else {
            Err(format!("memory_mb {v} is out of range: Lambda accepts 128 to 10240"))
        }
    }
);

checked!(
    /// Lambda timeout in seconds: AWS accepts 1 to 900.
    TimeoutSeconds(u32 as "u32"),
    |v| {
        if (1..=900).contains(v) {
            Ok(())
        } else {
            Err(format!("timeout_seconds {v} is out of range: Lambda accepts 1 to 900"))
        }
    }
);

/// The retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

checked!(
    /// Log retention in days: one of the values CloudWatch Logs accepts.
    LogRetentionDays(u32 as "u32"),
    |v| {
        if LOG_RETENTION_DAYS.contains(v) {
            Ok(())
        } else {
            Err(format!(
                "log_retention_days {v} is not a period CloudWatch Logs accepts: use one of {LOG_RETENTION_DAYS:?}"
            ))
        }
    }
);

/// The largest `chat.max_message_bytes` (`chat_limits`, which the
/// handlers read too).
pub const MAX_MESSAGE_BYTES: u32 = chat_limits::MAX_MESSAGE_BYTES.max;

checked!(
    /// The longest message, in bytes: 1 to `MAX_MESSAGE_BYTES`.
    MessageBytes(u32 as "u32"),
    |v| chat_limits::MAX_MESSAGE_BYTES.check(*v).map(|_| ())
);

checked!(
    /// Messages per history page and snapshot: 1 to 100.
    HistoryLength(u32 as "u32"),
    |v| chat_limits::HISTORY_LENGTH.check(*v).map(|_| ())
);

checked!(
    /// A rate-based rule's limit: AWS WAF accepts 10 to 2,000,000,000.
    WafRateLimit(u32 as "u32"),
    |v| {
        if (10..=2_000_000_000).contains(v) {
            Ok(())
        } else {
            Err(format!(
                "requests_per_five_minutes {v} is out of range: 10 to 2000000000 (AWS WAF's limits for a rate-based rule)"
            ))
        }
    }
);

checked!(
    /// A whole number greater than zero.
    Positive(u32 as "u32"),
    |v| {
        if *v > 0 {
            Ok(())
        } else {
            Err("must be greater than zero".to_string())
        }
    }
);

checked!(
    /// A fully qualified domain name such as `chat.example.com`.
    DomainName(String as "String"),
    |s| {
        let labels_ok = s.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if s.len() <= 253 && s.contains('.') && labels_ok {
            Ok(())
        } else {
            Err(format!("`{s}` is not a domain name such as chat.example.com"))
        }
    }
);

checked!(
    /// An S3 bucket name, possibly with `{stage}` in it: 3 to 63 characters
    /// of a-z, 0-9, '.' and '-', starting and ending with a letter or digit.
    BucketNamePattern(String as "String"),
    |s| {
        // A stand-in stage here; `for_stage` checks the one deployed.
        if is_bucket_name(&s.replace("{stage}", "stage")) {
            Ok(())
        } else {
            Err(format!("`{s}` is not a valid S3 bucket name: {BUCKET_NAME_RULE}"))
        }
    }
);

const BUCKET_NAME_RULE: &str =
    "3 to 63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit";

/// S3's rule for general purpose bucket names (the parts chatctl checks).
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..")
}

impl BucketNamePattern {
    /// The name for one stage, refused when that stage makes it invalid (a
    /// long stage can push it past 63 characters).
    pub fn for_stage(&self, stage: &Name) -> std::result::Result<String, String> {
        let name = self.0.replace("{stage}", &stage.0);
        if is_bucket_name(&name) {
            Ok(name)
        } else {
            Err(format!(
                "site_bucket_name `{}` gives `{name}` for stage `{stage}`, not a valid S3 bucket name: {BUCKET_NAME_RULE}",
                self.0
            ))
        }
    }
}

checked!(
    /// An ACM certificate ARN in us-east-1, the only region CloudFront takes certificates from.
    CertificateArn(String as "String"),
    |s| {
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let well_formed = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "acm"
            && parts[5].starts_with("certificate/");
        if !well_formed {
            Err(format!(
                "`{s}` is not an ACM certificate ARN (arn:aws:acm:us-east-1:ACCOUNT:certificate/ID)"
            ))
        } else if parts[3] != "us-east-1" {
            Err(format!(
                "the certificate is in {}, but CloudFront only uses ACM certificates from us-east-1: request or import it there",
                parts[3]
            ))
        } else {
            Ok(())
        }
    }
);

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::ConfigMissing {
                    path: path.to_path_buf(),
                    hint: "create it (examples/chatctl.yaml is a starting point) or pass --config FILE"
                        .to_string(),
                })
            }
            Err(source) => {
                return Err(Error::ConfigUnreadable {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Config::parse(&text, path)
    }

    /// Parses configuration text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        if text.trim().is_empty() {
            return Err(Error::ConfigInvalid {
                path: path.to_path_buf(),
                line: Some(1),
                column: Some(1),
                message: "the file is empty".to_string(),
                hint: "add at least `app: NAME` (see examples/chatctl.yaml)".to_string(),
            });
        }
        let config: Config =
            serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text))
                .map_err(|e| invalid(path, text, &e))?;
        config
            .check_stage(&config.stage)
            .map_err(|message| Error::ConfigInvalid {
                path: path.to_path_buf(),
                line: line_of_key(text, "stage"),
                column: Some(1),
                message,
                hint: "add the stage to `stages`, or pick one of those listed".to_string(),
            })?;
        Ok(config)
    }

    /// Refuses a stage the configuration does not list (when it lists any).
    pub fn check_stage(&self, stage: &Name) -> std::result::Result<(), String> {
        if self.stages.is_empty() || self.stages.contains(stage) {
            Ok(())
        } else {
            let known: Vec<&str> = self.stages.iter().map(|s| s.0.as_str()).collect();
            Err(format!(
                "stage `{stage}` is not one of this project's stages ({})",
                known.join(", ")
            ))
        }
    }
}

/// The 1-based line of a top-level key, for errors found after parsing.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    line_of_path(text, &[key])
}

/// The 1-based line of a nested key such as `["domain", "certificate_arn"]`,
/// found by indentation. Used for checks that serde_yaml reports at the
/// enclosing mapping rather than at the value.
fn line_of_path(text: &str, keys: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let (mut from, mut parent_indent, mut found) = (0, None::<usize>, None);
    for key in keys {
        let prefix = format!("{key}:");
        let mut hit = None;
        for (index, line) in lines.iter().enumerate().skip(from) {
            let content = line.trim_start();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let indent = line.len() - content.len();
            if parent_indent.is_some_and(|parent| indent <= parent) {
                break; // left the parent's block
            }
            if content.starts_with(&prefix) {
                hit = Some((index, indent));
                break;
            }
        }
        let (index, indent) = hit?;
        from = index + 1;
        parent_indent = Some(indent);
        found = Some(index + 1);
    }
    found
}

/// Turns a deserialization error into a configuration error with position and hint.
fn invalid(
    path: &Path,
    text: &str,
    error: &serde_path_to_error::Error<serde_yaml::Error>,
) -> Error {
    let inner = error.inner();
    let full = inner.to_string();
    // serde_yaml appends " at line L column C"; the position is reported separately.
    let mut message = match full.find(" at line ") {
        Some(index) => full[..index].to_string(),
        None => full.clone(),
    };
    // serde_yaml prefixes some messages with its own, sometimes shorter, key
    // path ("chat: ..."); the path from serde_path_to_error is the exact one.
    if let Some((head, rest)) = message.split_once(": ") {
        if !head.contains(' ') && !head.contains('`') {
            message = rest.to_string();
        }
    }
    let key_path = error.path().to_string();
    let last_key = key_path.rsplit('.').next().unwrap_or_default();
    let names_key_already = message.contains(&format!("`{last_key}`"));
    if key_path != "." && !names_key_already && !is_yaml_syntax_error(&message) {
        message = format!("{key_path}: {message}");
    }
    let keys: Vec<&str> = key_path
        .split('.')
        .take_while(|k| !k.contains('['))
        .filter(|k| !k.is_empty())
        .collect();

    let mut line = inner.location().map(|l| l.line());
    let mut column = inner.location().map(|l| l.column());
    if let Some(key_line) = line_of_path(text, &keys) {
        if line.is_none_or(|l| key_line > l) {
            line = Some(key_line);
            column = None;
        }
    }
    let hint = if message.contains("unknown field") {
        "remove or correct the key: the keys allowed here are listed above and in README.md (Configuration)"
    } else if message.contains("unknown variant") {
        "use one of the values listed above"
    } else if message.contains("invalid type") || message.contains("invalid value") {
        "change the value to the type named above (README.md, Configuration, lists every key)"
    } else if message.contains("missing field") {
        "add the missing key (README.md, Configuration, lists every key)"
    } else if message.contains("duplicate") {
        "keep one of the repeated keys"
    } else if is_yaml_syntax_error(&message) {
        "this is not valid YAML: check indentation (spaces, not tabs), colons and quoting"
    } else {
        "README.md, Configuration, lists every key and its allowed values"
    };
    Error::ConfigInvalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
        hint: hint.to_string(),
    }
}

/// libyaml's scanner and parser messages, as serde_yaml passes them on.
fn is_yaml_syntax_error(message: &str) -> bool {
    [
        "did not find expected",
        "could not find expected",
        "not allowed in this context",
        "found character",
        "found unexpected",
        "tab character",
        "while scanning",
        "while parsing",
        "unexpected end",
    ]
    .iter()
    .any(|phrase| message.contains(phrase))
}

/// The configuration together with the command line's choices.
#[derive(Debug, Clone)]
pub struct Project {
    pub config: Config,
    /// The directory relative paths in the configuration are resolved against.
    pub root: PathBuf,
    pub stage: Name,
}

impl Project {
    /// Loads the configuration and applies the stage chosen on the command line.
    pub fn load(path: &Path, stage: Option<&str>) -> Result<Project> {
        let config = Config::load(path)?;
        let stage = match stage {
            Some(s) => Name::parse(s).map_err(|e| Error::Usage(format!("--stage: {e}")))?,
            None => config.stage.clone(),
        };
        config.check_stage(&stage).map_err(|e| {
            Error::Usage(format!(
                "{e}; add it to `stages` in {} or pass another --stage",
                path.display()
            ))
        })?;
        if let Some(pattern) = &config.site_bucket_name {
            pattern.for_stage(&stage).map_err(|e| {
                Error::Usage(format!(
                    "{e}; shorten it in {} or deploy a shorter stage",
                    path.display()
                ))
            })?;
        }
        let root = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        Ok(Project {
            config,
            root,
            stage,
        })
    }

    /// `{app}-{stage}`: unique per application and stage, so stages deploy side by side.
    pub fn stack_name(&self) -> String {
        format!("{}-{}", self.config.app, self.stage)
    }

    pub fn site_dir(&self) -> PathBuf {
        self.root.join(&self.config.site_dir)
    }

    pub fn handlers_dir(&self) -> PathBuf {
        self.root.join(&self.config.handlers_dir)
    }
}
