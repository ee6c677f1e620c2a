//! `chatctl.yaml`: the typed project configuration and its loader.
//!
//! Every value is checked while it is deserialized, so an error carries the
//! line and column of the offending key or value. Unknown keys are refused:
//! a misspelt key that silently falls back to a default is worse than an error.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

mod auth;
mod load;
mod project;
mod values;

pub use auth::{Auth, AuthProvider, GoogleSignIn};
pub use project::Project;
pub use values::{
    BucketNamePattern, CargoProfile, CertificateArn, DomainName, HistoryLength, LogRetentionDays,
    MemoryMb, MessageBytes, Name, Positive, TimeoutSeconds, WafRateLimit, LOG_RETENTION_DAYS,
    MAX_MESSAGE_BYTES,
};

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
    pub build: BuildSettings,
    #[serde(default)]
    pub chat: ChatLimits,
    /// Optional custom domain for the site, served by CloudFront.
    #[serde(default)]
    pub domain: Option<CustomDomain>,
    #[serde(default)]
    pub data: DataPolicy,
    #[serde(default)]
    pub protection: Protection,
    /// Optional sign-in (`provider: cognito`); the chat is anonymous without it.
    #[serde(default)]
    pub auth: Option<Auth>,
    /// The usage `chatctl cost` prices unless the command line says otherwise.
    #[serde(default)]
    pub cost: crate::cost::Usage,
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

/// How the handler crates are compiled.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BuildSettings {
    /// The Cargo profile the handlers are built with.
    pub profile: CargoProfile,
    /// Another profile for some stages, by stage: a development stage can
    /// trade zip size for a fast rebuild (`dev: lambda-dev`).
    pub stage_profiles: BTreeMap<Name, CargoProfile>,
}

impl Default for BuildSettings {
    fn default() -> Self {
        BuildSettings {
            profile: CargoProfile("lambda".to_string()),
            stage_profiles: BTreeMap::new(),
        }
    }
}

impl BuildSettings {
    /// The profile `stage` is built with.
    pub fn profile_for(&self, stage: &Name) -> &str {
        &self.stage_profiles.get(stage).unwrap_or(&self.profile).0
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
