//! AWS clients, loaded once per process (not per invocation).

use aws_config::BehaviorVersion;

use crate::settings::Settings;

#[derive(Debug, Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub management: aws_sdk_apigatewaymanagement::Client,
    pub settings: Settings,
}

impl Clients {
    pub async fn load(settings: Settings) -> Clients {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        // Emulators and VPC endpoints serve buckets by path only.
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        let management = aws_sdk_apigatewaymanagement::config::Builder::from(&config)
            .endpoint_url(&settings.management_endpoint)
            .build();
        Clients {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3),
            management: aws_sdk_apigatewaymanagement::Client::from_conf(management),
            settings,
        }
    }
}
