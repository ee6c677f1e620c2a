//! Prices: the embedded table (its region, the date it was taken and its
//! source), or a file of the same shape (`--prices FILE`) for another
//! region, negotiated rates or newer prices. Every key must be present: a
//! price silently taken as zero would understate the bill.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const EMBEDDED: &str = include_str!("us-east-1.json");

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    pub region: String,
    pub currency: String,
    pub taken: String,
    pub source: String,
    pub prices: Prices,
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

impl PriceTable {
    /// The embedded table.
    pub fn embedded() -> PriceTable {
        serde_json::from_str(EMBEDDED).expect("the embedded price table is valid")
    }

    /// A table from a file, every key present and no price negative.
    pub fn load(path: &Path) -> Result<PriceTable> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?;
        let table: PriceTable = serde_json::from_str(&text).map_err(|e| {
            Error::usage(format!("{}: not a price table: {e}", path.display())).with_hint(
                "start from `chatctl cost --output json`'s `prices` document, which has every key",
            )
        })?;
        let values = serde_json::to_value(&table.prices).unwrap_or_default();
        if let Some((key, _)) = values
            .as_object()
            .into_iter()
            .flatten()
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
