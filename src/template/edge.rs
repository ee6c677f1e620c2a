//! The edge stack (`stack-templates/edge.yaml`: the AWS WAF web ACL, in
//! us-east-1) and what `protection.waf` changes in the chat stack.

use serde_json::{json, Value};

use super::{source, Template, DESCRIPTION_MARK};
use crate::config::Project;
use crate::error::Result;

const EDGE: &str = include_str!("../../stack-templates/edge.yaml");

/// The chat stack's parameter carrying the web ACL's ARN.
pub const WEB_ACL_PARAMETER: &str = "WebAclArn";

/// The edge stack's template for `project`.
pub fn generate(project: &Project) -> Result<Template> {
    let config = &project.config;
    let mut template = source("edge.yaml", EDGE)?;
    template["Description"] = json!(format!(
        "AWS WAF web ACL for the chat {} ({}) {DESCRIPTION_MARK}",
        config.app, project.stage
    ));
    let rules = &mut template["Resources"]["WebAcl"]["Properties"]["Rules"];
    if let Some(rules) = rules.as_array_mut() {
        for rule in rules {
            if rule["Name"] == "requests-per-address" {
                rule["Statement"]["RateBasedStatement"]["Limit"] =
                    json!(config.protection.requests_per_five_minutes.0);
            }
        }
    }
    Ok(Template(template))
}

/// With `protection.waf`, the distribution takes the web ACL from the
/// `WebAclArn` parameter, and checkov's "no WAF" skip goes (it stays, with
/// its reason, only while the protection is off).
pub fn protect(template: &mut Value, project: &Project) {
    if !project.config.protection.waf {
        return;
    }
    template["Parameters"][WEB_ACL_PARAMETER] = json!({
        "Type": "String",
        "Description": "ARN of the AWS WAF web ACL in the edge stack (us-east-1), set by chatctl",
    });
    let distribution = &mut template["Resources"]["Distribution"];
    distribution["Properties"]["DistributionConfig"]["WebACLId"] =
        json!({"Ref": WEB_ACL_PARAMETER});
    if let Some(skips) = distribution["Metadata"]["checkov"]["skip"].as_array_mut() {
        skips.retain(|skip| skip["id"] != "CKV_AWS_68");
    }
    template["Outputs"]["WebAclArn"] = json!({
        "Description": "The AWS WAF web ACL in front of the site and the HTTP API",
        "Value": {"Ref": WEB_ACL_PARAMETER},
    });
    // No post goes around the web ACL to the HTTP API's own address: the
    // http function refuses what lacks CloudFront's secret header.
    if let Some(http) = template["Resources"].get_mut("HttpFunction") {
        http["Properties"]["Environment"]["Variables"][super::origin::CLOUDFRONT_ONLY_VARIABLE] =
            json!("true");
    }
}
