//! The configuration's checked values: each newtype refuses a bad value
//! while it is deserialized, so the error carries its line and column.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Declares a newtype whose value is checked when it is deserialized, so a bad
/// value is reported at its line and column.
macro_rules! checked {
    ($(#[$doc:meta])* $name:ident($inner:ty as $inner_name:literal), $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
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
    pub(super) fn default_stage() -> Name {
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

checked!(
    /// A Cargo profile name, as `cargo --profile` takes it: letters, digits,
    /// `-` and `_`, starting with a letter. The profile itself is defined in
    /// the handler workspace's Cargo.toml.
    CargoProfile(String as "String"),
    |s| {
        let ok = s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && s.len() <= 64;
        if ok {
            Ok(())
        } else {
            Err(format!(
                "`{s}` is not a Cargo profile name: use letters, digits, '-' and '_', starting with a letter"
            ))
        }
    }
);
