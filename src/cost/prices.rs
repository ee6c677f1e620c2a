//! Prices: an embedded table per region (its date and source named), or a
//! file of the same shape (`--prices FILE`) for another region, negotiated
//! rates or newer prices. Every price must be present: a price silently
//! taken as zero would understate the bill.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The embedded tables, by region. Where a region has no table, `cost`
/// says so and prices with the first one's.
const EMBEDDED: [(&str, &str); 3] = [
    ("us-east-1", include_str!("us-east-1.json")),
    ("us-west-2", include_str!("us-west-2.json")),
    ("eu-west-1", include_str!("eu-west-1.json")),
];

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    pub region: String,
    pub currency: String,
    pub taken: String,
    pub source: String,
    pub prices: Prices,
    /// The account's always-free allowances a month; absent from a file,
    /// `--free-tier` is refused rather than guessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_tier: Option<FreeTier>,
}

/// Unit prices, in the table's currency.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub websocket_message: f64,
    pub websocket_connection_minute: f64,
    pub http_api_request: f64,
    pub lambda_request: f64,
    pub lambda_gb_second_x86_64: f64,
    pub lambda_gb_second_arm64: f64,
    pub dynamodb_write_request_unit: f64,
    pub dynamodb_read_request_unit: f64,
    pub dynamodb_storage_gb_month: f64,
    pub dynamodb_stream_read_request: f64,
    pub s3_put_request: f64,
    pub s3_get_request: f64,
    pub s3_storage_gb_month: f64,
    pub cloudfront_https_request: f64,
    pub cloudfront_transfer_gb: f64,
    pub sqs_request: f64,
    pub sns_publish: f64,
    pub logs_ingestion_gb: f64,
    pub logs_storage_gb_month: f64,
    pub kms_request: f64,
    pub waf_web_acl_month: f64,
    pub waf_rule_month: f64,
    pub waf_request: f64,
}

/// What an account gets free every month, for good (not the 12-month
/// offers of new accounts), in each price's unit. One allowance may cover
/// several prices (Lambda's GB-seconds on either architecture; Logs'
/// 5 GB of ingestion and storage together).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FreeTier {
    pub source: String,
    pub lambda_requests: f64,
    pub lambda_gb_seconds: f64,
    pub dynamodb_storage_gb_month: f64,
    pub cloudfront_https_requests: f64,
    pub cloudfront_transfer_gb: f64,
    pub sqs_requests: f64,
    pub sns_publishes: f64,
    pub logs_gb: f64,
    pub kms_requests: f64,
}

impl FreeTier {
    /// Each allowance: its name, the prices it covers and how much.
    pub fn allowances(&self) -> [(&'static str, &'static [&'static str], f64); 9] {
        [
            ("lambda_requests", &["lambda_request"], self.lambda_requests),
            (
                "lambda_gb_seconds",
                &["lambda_gb_second_x86_64", "lambda_gb_second_arm64"],
                self.lambda_gb_seconds,
            ),
            (
                "dynamodb_storage_gb_month",
                &["dynamodb_storage_gb_month"],
                self.dynamodb_storage_gb_month,
            ),
            (
                "cloudfront_https_requests",
                &["cloudfront_https_request"],
                self.cloudfront_https_requests,
            ),
            (
                "cloudfront_transfer_gb",
                &["cloudfront_transfer_gb"],
                self.cloudfront_transfer_gb,
            ),
            ("sqs_requests", &["sqs_request"], self.sqs_requests),
            ("sns_publishes", &["sns_publish"], self.sns_publishes),
            (
                "logs_gb",
                &["logs_ingestion_gb", "logs_storage_gb_month"],
                self.logs_gb,
            ),
            ("kms_requests", &["kms_request"], self.kms_requests),
        ]
    }
}

impl PriceTable {
    /// The embedded table of `region`, or, when there is none, the first
    /// (us-east-1) and `false`.
    pub fn embedded_for(region: &str) -> (PriceTable, bool) {
        let (json, exact) = match EMBEDDED.iter().find(|(name, _)| *name == region) {
            Some((_, json)) => (*json, true),
            None => (EMBEDDED[0].1, false),
        };
        let table = serde_json::from_str(json).expect("the embedded price tables are valid");
        (table, exact)
    }

    /// The regions with an embedded table.
    pub fn embedded_regions() -> impl Iterator<Item = &'static str> {
        EMBEDDED.iter().map(|(region, _)| *region)
    }

    /// A table from a file, every price present and none negative.
    pub fn load(path: &Path) -> Result<PriceTable> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?;
        let table: PriceTable = serde_json::from_str(&text).map_err(|e| {
            Error::usage(format!("{}: not a price table: {e}", path.display())).with_hint(
                "start from `chatctl cost --output json`'s `prices` document, which has every key",
            )
        })?;
        let mut values = vec![serde_json::to_value(&table.prices).unwrap_or_default()];
        if let Some(free) = &table.free_tier {
            values.push(serde_json::to_value(free).unwrap_or_default());
        }
        if let Some((key, _)) = values
            .iter()
            .filter_map(|v| v.as_object())
            .flatten()
            .filter(|(key, _)| *key != "source")
            .find(|(_, v)| v.as_f64().is_none_or(|v| v < 0.0 || !v.is_finite()))
        {
            return Err(Error::usage(format!(
                "{}: the price `{key}` is negative",
                path.display()
            )));
        }
        Ok(table)
    }
}
