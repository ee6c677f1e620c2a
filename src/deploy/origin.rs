//! The secret CloudFront adds to what it forwards to the HTTP API
//! (`template::origin`), read back for `chatctl local`'s site proxy.

use crate::aws::Aws;
use crate::error::Result;

/// The secret header's value, as CloudFormation resolved it into the http
/// function's environment: `chatctl local`'s site proxy stands in for
/// CloudFront and adds it.
pub async fn origin_secret(
    aws: &Aws,
    outputs: &std::collections::BTreeMap<String, String>,
) -> Result<Option<String>> {
    let Some(function) = outputs.get("HttpFunctionName") else {
        return Ok(None);
    };
    Ok(crate::functions::configuration(aws, function)
        .await?
        .environment()
        .and_then(|e| e.variables())
        .and_then(|v| v.get(crate::template::origin::ORIGIN_VERIFY_VARIABLE))
        .cloned())
}
