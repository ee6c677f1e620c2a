//! AWS clients, all built from one `aws-config` load.
//!
//! Credentials come from aws-config's default chain (environment, profiles,
//! SSO, web identity for CI OIDC, instance and container roles), so every way
//! people authenticate works without chatctl knowing about it.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

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
}

impl Aws {
    pub async fn load(options: &AwsOptions) -> Aws {
        // Standard retry mode: exponential backoff with jitter for throttling
        // and transient errors, a bounded number of attempts.
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(5));
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
        }
    }

    pub fn region(&self) -> Option<&str> {
        self.config.region().map(|r| r.as_ref())
    }

    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    pub fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.config)
    }

    /// Path-style addressing with a custom endpoint: emulators and VPC
    /// endpoints do not serve `BUCKET.host` names.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(self.custom_endpoint)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.config)
    }

    pub fn cloudfront(&self) -> aws_sdk_cloudfront::Client {
        aws_sdk_cloudfront::Client::new(&self.config)
    }
}
