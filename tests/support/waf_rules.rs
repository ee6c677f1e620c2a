//! Rules 9 and 10: AWS WAF and CloudFront, where the emulator is lenient.
//!
//! Rule 9: a web ACL for CloudFront (`Scope: CLOUDFRONT`) can only be
//! created in us-east-1, and a distribution's `WebACLId` must be the ARN of
//! such a global web ACL. The emulator creates a CLOUDFRONT web ACL in any
//! region (and gives it a us-east-1 ARN). On AWS the resource fails and the
//! stack rolls back; the layer refuses the change set or stack at once,
//! naming the rule.
//! <https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html>
//! ("For CloudFront, you must use the US East (N. Virginia) Region.")
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudfront-distribution-distributionconfig.html>
//! (`WebACLId`: "To specify a web ACL created using the latest version of
//! AWS WAF, use the ACL ARN")
//!
//! Rule 10: a web ACL that a distribution still uses cannot be deleted
//! (`WAFAssociatedItemException`); on AWS the stack holding it ends
//! `DELETE_FAILED`. The emulator deletes it. The layer refuses a DeleteStack
//! of a stack whose web ACL a distribution names.
//! <https://docs.aws.amazon.com/waf/latest/APIReference/API_DeleteWebACL.html>

use std::collections::HashMap;

use serde_json::Value;

/// Rule 9 over one CreateChangeSet, CreateStack or UpdateStack: the
/// template, the region it is for, and its parameters. The reason AWS would
/// fail it, if it would.
pub fn scope_refusal(
    region: &str,
    template: &Value,
    parameters: &HashMap<String, String>,
) -> Option<String> {
    let resources = template.get("Resources")?.as_object()?;
    for (id, resource) in resources {
        let properties = &resource["Properties"];
        match resource["Type"].as_str() {
            Some("AWS::WAFv2::WebACL")
                if properties["Scope"] == "CLOUDFRONT" && region != "us-east-1" =>
            {
                return Some(format!(
                    "{id}: a web ACL with Scope CLOUDFRONT can only be created in us-east-1, not {region} (WAFInvalidParameterException on AWS)"
                ));
            }
            Some("AWS::CloudFront::Distribution") => {
                let acl = &properties["DistributionConfig"]["WebACLId"];
                let value = match acl {
                    Value::Null => continue,
                    Value::String(text) => Some(text.clone()),
                    other => other["Ref"]
                        .as_str()
                        .and_then(|name| parameters.get(name).cloned()),
                };
                // An intrinsic the layer cannot resolve (a GetAtt of a web ACL
                // in this stack) is judged by the web ACL's own scope above.
                if let Some(arn) = value.filter(|arn| !is_global_web_acl(arn)) {
                    return Some(format!(
                        "{id}: WebACLId `{arn}` is not the ARN of a web ACL for CloudFront (arn:PARTITION:wafv2:us-east-1:ACCOUNT:global/webacl/NAME/ID)"
                    ));
                }
            }
            _ => {}
        }
    }
    None
}

/// `arn:PARTITION:wafv2:us-east-1:ACCOUNT:global/webacl/NAME/ID`.
pub fn is_global_web_acl(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_word, _partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let path: Vec<&str> = resource.split('/').collect();
    arn_word == "arn"
        && service == "wafv2"
        && region == "us-east-1"
        && !account.is_empty()
        && path.len() == 4
        && path[0] == "global"
        && path[1] == "webacl"
        && !path[2].is_empty()
        && !path[3].is_empty()
}

/// The `Parameters.member.N.ParameterKey/ParameterValue` pairs of a
/// CloudFormation query request.
pub fn parameters_of(form: &HashMap<String, String>) -> HashMap<String, String> {
    (1..=200)
        .map_while(|n| {
            let key = form.get(&format!("Parameters.member.{n}.ParameterKey"))?;
            let value = form
                .get(&format!("Parameters.member.{n}.ParameterValue"))
                .cloned()
                .unwrap_or_default();
            Some((key.clone(), value))
        })
        .collect()
}

/// Rule 10: whether any of `distributions_xml`'s (a ListDistributions
/// answer) `WebACLId`s names a web ACL of the stack, given the stack's
/// resources (a DescribeStackResources answer; a WAFv2 web ACL's physical
/// id is `NAME|ID|SCOPE`). The ARN in use, if one is.
pub fn acl_in_use(stack_resources_xml: &str, distributions_xml: &str) -> Option<String> {
    let acls: Vec<(String, String)> = stack_resources_xml
        .split("<member>")
        .filter(|member| member.contains("<ResourceType>AWS::WAFv2::WebACL</ResourceType>"))
        .filter(|member| !member.contains("DELETE_COMPLETE"))
        .filter_map(|member| {
            let id = member.split("<PhysicalResourceId>").nth(1)?;
            let id = id.split('<').next()?;
            let mut fields = id.split('|');
            Some((fields.next()?.to_string(), fields.next()?.to_string()))
        })
        .collect();
    distributions_xml
        .split("<WebACLId>")
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .find(|arn| {
            acls.iter()
                .any(|(name, id)| arn.ends_with(&format!("/webacl/{name}/{id}")))
        })
        .map(str::to_string)
}
