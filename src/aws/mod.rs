//! AWS clients, all built from one `aws-config` load.
//!
//! Credentials come from aws-config's default chain (environment, profiles,
//! SSO, web identity for CI OIDC, instance and container roles), so every way
//! people authenticate works without chatctl knowing about it.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::{AwsFailure, Error, Result};

mod call_log;
use call_log::CallLog;

/// Attempts per AWS call (the first and its retries) unless the user sets their own.
pub const MAX_ATTEMPTS: u32 = 5;

/// Where and as whom to reach AWS; each field left `None` falls back to aws-config's chain.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// Every service's endpoint (an emulator, a VPC endpoint).
    pub endpoint_url: Option<String>,
    /// Fixed credentials instead of the default chain (the local emulator takes any).
    pub credentials: Option<Credentials>,
}

/// A loaded AWS configuration that hands out service clients.
#[derive(Debug, Clone)]
pub struct Aws {
    config: SdkConfig,
    custom_endpoint: bool,
    call_log: Option<CallLog>,
}

/// Who chatctl acts as, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub region: String,
    /// `aws`, `aws-cn`, `aws-us-gov`, ...: from the caller's ARN, so ARNs
    /// and host names are right outside the commercial partition too.
    pub partition: String,
}

impl Identity {
    /// The partition's DNS suffix (what a template's `AWS::URLSuffix` gives).
    pub fn dns_suffix(&self) -> &'static str {
        match self.partition.as_str() {
            "aws-cn" => "amazonaws.com.cn",
            "aws-iso" => "c2s.ic.gov",
            "aws-iso-b" => "sc2s.sgov.gov",
            "aws-iso-e" => "cloud.adc-e.uk",
            "aws-iso-f" => "csp.hci.ic.gov",
            _ => "amazonaws.com",
        }
    }

    /// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` pieces joined.
    pub fn arn(&self, service: &str, region: &str, account: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{region}:{account}:{resource}",
            self.partition
        )
    }
}

/// The partition named in an ARN (`arn:PARTITION:...`); `aws` when unreadable.
pub fn partition_of(arn: &str) -> String {
    match arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", partition, ..] if !partition.is_empty() => partition.to_string(),
        _ => "aws".to_string(),
    }
}

/// A service's client on the shared configuration, with the call log when
/// it is on.
macro_rules! client {
    ($name:ident, $sdk:ident) => {
        pub fn $name(&self) -> $sdk::Client {
            let mut config = $sdk::config::Builder::from(&self.config);
            if let Some(log) = &self.call_log {
                config = config.interceptor(log.clone());
            }
            $sdk::Client::from_conf(config.build())
        }
    };
}

impl Aws {
    pub async fn load(options: &AwsOptions) -> Aws {
        // Standard retry mode: exponential backoff with jitter for throttling
        // and transient errors, a bounded number of attempts; 5 rather than
        // the SDK's 3, as a deployment is worth a few more seconds. Users who
        // set AWS_RETRY_MODE or AWS_MAX_ATTEMPTS (as for the AWS CLI) get theirs.
        // rustls with ring, the SDK's default TLS with a lighter crypto library.
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https);
        let user_retry_settings = ["AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"]
            .iter()
            .any(|name| std::env::var_os(name).is_some());
        if !user_retry_settings {
            loader = loader.retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
        }
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(credentials) = &options.credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        let config = loader.load().await;
        let custom_endpoint = config.endpoint_url().is_some();
        Aws {
            config,
            custom_endpoint,
            call_log: CallLog::from_env(),
        }
    }

    /// The same account, credentials and endpoint in another region (the
    /// edge stack lives in us-east-1 whatever the chat's region).
    pub fn in_region(&self, region: &str) -> Aws {
        Aws {
            config: self
                .config
                .to_builder()
                .region(Region::new(region.to_string()))
                .build(),
            ..self.clone()
        }
    }

    pub fn region(&self) -> Option<&str> {
        self.config.region().map(|r| r.as_ref())
    }

    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// Whether requests go to a custom endpoint (an emulator) rather than AWS.
    pub fn custom_endpoint(&self) -> Option<&str> {
        self.config.endpoint_url()
    }

    /// Refuses a region name that cannot be one, before any call fails on it.
    pub fn check_region(&self) -> Result<()> {
        match self.region() {
            Some(region) if !valid_region(region) => Err(Error::usage(format!(
                "`{region}` is not an AWS region name (like us-east-1 or eu-west-2): check `region` in the configuration, --region, AWS_REGION or the profile"
            ))),
            _ => Ok(()),
        }
    }

    /// Resolves region, credentials and account before any other call, so a
    /// missing piece is reported first and plainly (exit 2).
    pub async fn identity(&self) -> Result<Identity> {
        let region = self.region().map(str::to_string).ok_or_else(|| {
            Error::usage(
                "no AWS region: set `region` in the configuration, pass --region, or set AWS_REGION"
                    .to_string(),
            )
        })?;
        let provider = self
            .config
            .credentials_provider()
            .ok_or_else(no_credentials)?;
        provider.provide_credentials().await.map_err(|e| {
            Error::usage(format!(
                "no AWS credentials: {}; configure a profile (aws configure, aws sso login), set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use OIDC in CI",
                DisplayErrorContext(&e)
            ))
        })?;
        let caller =
            self.sts().get_caller_identity().send().await.map_err(|e| {
                aws_error("checking the AWS credentials (sts:GetCallerIdentity)", e)
            })?;
        let account = caller
            .account()
            .ok_or_else(|| Error::failed("sts:GetCallerIdentity returned no account".to_string()))?
            .to_string();
        let partition = partition_of(caller.arn().unwrap_or_default());
        Ok(Identity {
            account,
            region,
            partition,
        })
    }

    client!(cloudformation, aws_sdk_cloudformation);
    client!(lambda, aws_sdk_lambda);
    client!(cloudfront, aws_sdk_cloudfront);
    client!(dynamodb, aws_sdk_dynamodb);
    client!(sts, aws_sdk_sts);
    client!(logs, aws_sdk_cloudwatchlogs);
    client!(metrics, aws_sdk_cloudwatch);
    client!(ssm, aws_sdk_ssm);

    /// Path-style addressing with a custom endpoint: emulators and VPC
    /// endpoints do not serve `BUCKET.host` names.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        // Every upload carries a Content-MD5 (`site`), which S3 verifies; a
        // second, CRC32 checksum per request only costs time.
        let mut config = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(self.custom_endpoint)
            .request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
            );
        if let Some(log) = &self.call_log {
            config = config.interceptor(log.clone());
        }
        aws_sdk_s3::Client::from_conf(config.build())
    }
}

/// `us-east-1`, `ap-southeast-2`, `us-gov-west-1`: lowercase words joined
/// by dashes, ending in a number. Anything else fails later with an
/// unreadable endpoint error.
fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

fn no_credentials() -> Error {
    Error::usage(
        "no AWS credentials: configure a profile (aws configure, aws sso login), set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use OIDC in CI".to_string(),
    )
}

/// An AWS call that failed, typed: what chatctl was doing and what AWS
/// said (its error code and message), or, for a call that never got an
/// answer (a refused connection, a timeout), the deepest cause.
pub fn aws_error<E, R>(doing: &str, error: SdkError<E, R>) -> Error
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let failure = |code: Option<&str>, message: String, unreachable: bool| {
        Error::Aws(AwsFailure {
            doing: doing.to_string(),
            code: code.map(str::to_string),
            message,
            unreachable,
        })
    };
    if let SdkError::DispatchFailure(dispatch) = &error {
        // The deepest cause says it plainly ("Connection refused").
        let mut cause: &dyn std::error::Error = &error;
        while let Some(next) = cause.source() {
            cause = next;
        }
        let what = if dispatch.is_timeout() {
            "the connection timed out"
        } else {
            "cannot connect"
        };
        return failure(None, format!("{what} ({cause})"), true);
    }
    if let Some(service) = error.as_service_error() {
        if let Some(code) = service.code() {
            let message = service.message().unwrap_or("AWS gave no message");
            return failure(Some(code), message.to_string(), false);
        }
    }
    failure(None, DisplayErrorContext(&error).to_string(), false)
}

#[cfg(test)]
mod tests {
    use super::{partition_of, Identity};

    #[test]
    fn arns_and_host_names_follow_the_callers_partition() {
        let identity = |arn: &str, region: &str| Identity {
            account: "123456789012".into(),
            region: region.into(),
            partition: partition_of(arn),
        };
        let china = identity("arn:aws-cn:iam::123456789012:user/ci", "cn-north-1");
        assert_eq!(china.dns_suffix(), "amazonaws.com.cn");
        assert_eq!(
            china.arn("s3", "", "", "bucket/*"),
            "arn:aws-cn:s3:::bucket/*"
        );
        let gov = identity(
            "arn:aws-us-gov:sts::123456789012:assumed-role/r/s",
            "us-gov-west-1",
        );
        assert_eq!(
            (gov.partition.as_str(), gov.dns_suffix()),
            ("aws-us-gov", "amazonaws.com")
        );
        let commercial = identity("arn:aws:iam::123456789012:root", "eu-west-1");
        assert_eq!(commercial.arn("s3", "", "", "b"), "arn:aws:s3:::b");
        assert_eq!(partition_of("not an arn"), "aws");
    }

    #[test]
    fn region_names_are_checked_by_shape() {
        for good in [
            "us-east-1",
            "ap-southeast-2",
            "us-gov-west-1",
            "il-central-1",
        ] {
            assert!(super::valid_region(good), "{good}");
        }
        for bad in [
            "",
            "moon base",
            "us-east",
            "US-EAST-1",
            "us-east-1a",
            "us--1",
            "east-1",
        ] {
            assert!(!super::valid_region(bad), "{bad}");
        }
    }
}
