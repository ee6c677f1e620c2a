//! AWS clients, loaded once per process (not per invocation).
//!
//! Each binary builds only the clients its function uses: the linker drops
//! the code of the others, which keeps the DynamoDB-only functions small.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::live::{SiteBucket, SqsQueue};
use crate::settings::Settings;
use crate::store::Store;

/// The shared SDK configuration: region, credentials, and the endpoint
/// (`AWS_ENDPOINT_URL` on an emulator).
pub async fn sdk_config() -> SdkConfig {
    // rustls with ring: the same TLS as the SDK's default client, with a
    // smaller crypto library than its default aws-lc.
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .load()
        .await
}

/// The chat's DynamoDB tables, as every function reaches them.
pub fn store(config: &SdkConfig, settings: Settings) -> Store {
    Store::new(aws_sdk_dynamodb::Client::new(config), settings)
}

/// The client that pushes frames to WebSocket connections.
pub fn management(config: &SdkConfig, settings: &Settings) -> aws_sdk_apigatewaymanagement::Client {
    let management = aws_sdk_apigatewaymanagement::config::Builder::from(config)
        .endpoint_url(&settings.management_endpoint)
        .build();
    aws_sdk_apigatewaymanagement::Client::from_conf(management)
}

/// The site bucket, for room snapshots.
pub fn site_bucket(config: &SdkConfig, settings: &Settings) -> SiteBucket {
    // Emulators and VPC endpoints serve buckets by path only.
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    SiteBucket {
        client: aws_sdk_s3::Client::from_conf(s3),
        bucket: settings.site_bucket.clone(),
    }
}

/// The queues: the delivery queue (the fan-out's) and the notify queue
/// (the fan-out's and the notify function's).
pub fn queues(config: &SdkConfig, settings: &Settings) -> SqsQueue {
    SqsQueue {
        client: aws_sdk_sqs::Client::new(config),
        url: settings.delivery_queue_url.clone(),
        notify_url: settings.notify_queue_url.clone(),
        notify_dead_letters_url: settings.notify_dead_letters_url.clone(),
    }
}
