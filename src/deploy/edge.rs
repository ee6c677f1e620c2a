//! The edge stack, `{stack}-edge` in us-east-1: the AWS WAF web ACL that
//! `protection.waf` puts in front of the distribution. AWS requires a web
//! ACL for CloudFront to live in us-east-1, and a CloudFormation stack
//! cannot create resources in another region, so the ACL gets a small stack
//! of its own there, whatever the chat's region: launched before the chat
//! stack (which needs its ARN), deleted after it (AWS WAF refuses to delete
//! an ACL a distribution still uses).

use crate::aws::Aws;
use crate::deploy::{stack, LaunchOptions, LaunchResult};
use crate::error::{Error, Result};
use crate::ui::Ui;

/// Where a web ACL for CloudFront must be.
pub const REGION: &str = "us-east-1";

/// The edge stack of the chat stack `stack`.
pub fn stack_name(stack: &str) -> String {
    format!("{stack}-edge")
}

/// What the edge stack's launch left for the chat stack's.
pub(super) struct Edge {
    /// The web ACL's ARN; a placeholder under `--preview` before it exists.
    pub web_acl_arn: String,
    pub stack_updated: bool,
    pub preview_only: bool,
}

/// Brings the edge stack to the project's template, with the same change
/// set, data and interruption rules as the chat stack.
pub(super) async fn deploy(
    edge_aws: &Aws,
    stack: &str,
    target: &super::Target<'_>,
    options: &LaunchOptions,
    ui: &Ui,
) -> Result<Edge> {
    let name = stack_name(stack);
    let cfn = edge_aws.cloudformation();
    let template = crate::template::edge::generate(target.project)?;
    let edge_target = super::Target {
        aws: edge_aws,
        cfn: &cfn,
        stack_name: &name,
        template: &template,
        parameters: &[],
        ..*target
    };
    ui.info(format!(
        "edge stack {name} in {REGION} (the AWS WAF web ACL)"
    ));
    let mut result = LaunchResult::default();
    let preview_only =
        match super::deploy_until_settled(&edge_target, options, &mut result, ui).await? {
            super::Deployed::Preview => true,
            super::Deployed::Done => false,
            super::Deployed::Raced(reason) => return Err(super::kept_racing(&name, &reason)),
        };
    let found = stack::describe(&cfn, &name).await?;
    let arn = found
        .as_ref()
        .and_then(|s| stack::outputs(s).get("WebAclArn").cloned());
    let web_acl_arn = match (arn, preview_only) {
        (Some(arn), _) => arn,
        (None, true) => format!(
            "arn:{}:wafv2:{REGION}:{}:global/webacl/{name}/created-by-this-launch",
            target.identity.partition, target.identity.account
        ),
        (None, false) => {
            return Err(Error::failed(format!(
                "the edge stack {name} in {REGION} has no WebAclArn output: delete it (`aws cloudformation delete-stack --region {REGION} --stack-name {name}`) and launch again"
            )))
        }
    };
    Ok(Edge {
        web_acl_arn,
        stack_updated: result.stack_updated,
        preview_only,
    })
}

/// Deletes the edge stack of `stack` when there is one (after the chat
/// stack stopped using its web ACL). True when it was deleted.
pub async fn remove(edge_aws: &Aws, stack: &str, ui: &Ui) -> Result<bool> {
    let name = stack_name(stack);
    let cfn = edge_aws.cloudformation();
    let Some(found) = stack::describe(&cfn, &name).await? else {
        return Ok(false);
    };
    if !super::existing::deployed_by_chatctl(&cfn, &found).await? {
        ui.info(format!(
            "left {name} in {REGION} alone: chatctl did not deploy it"
        ));
        return Ok(false);
    }
    stack::delete_and_wait(&cfn, &name, ui).await?;
    ui.info(format!("deleted the edge stack {name} in {REGION}"));
    Ok(true)
}
