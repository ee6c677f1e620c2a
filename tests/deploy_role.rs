//! The README's deploy-role policy is the one chatctl needs: every AWS
//! operation `CHATCTL_AWS_CALL_LOG` records during a launch, an update-code,
//! an update-site, status and output, a second launch and a delete with
//! `--purge-data` is an action the policy allows; the policy grants no
//! whole service (`*` actions); and the OIDC trust policy is restricted to
//! one repository and branch.

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::project::{calls_of, chatctl, json_of, Project};
use support::Emulator;

/// connect, changed, so update-code has one function to update.
const CONNECT_V2: &str = r##"include!("../../runtime.rs");

fn main() {
    serve(|_event| r#"{"handler":"connect","version":2}"#.to_string());
}
"##;

/// The fenced `json` block that follows `marker` in the README.
fn readme_json(marker: &str) -> Value {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let after = &readme[readme
        .find(marker)
        .unwrap_or_else(|| panic!("README.md has no `{marker}`"))..];
    let start = after.find("```json\n").expect("a json block") + "```json\n".len();
    let end = after[start..].find("```").expect("the block ends") + start;
    serde_json::from_str(&after[start..end]).unwrap_or_else(|e| panic!("{marker}: {e}"))
}

/// The IAM action a recorded `Service Operation` needs; `None` for calls
/// that need no permission.
fn action_of(call: &str) -> Option<String> {
    let (service, operation) = call.split_once(' ').expect("`Service Operation`");
    let prefix = service.to_ascii_lowercase();
    let action = match (prefix.as_str(), operation) {
        // Anyone may ask who they are.
        ("sts", "GetCallerIdentity") => return None,
        // S3 operations whose permission has another name.
        ("s3", "ListObjectsV2" | "HeadBucket") => "ListBucket",
        ("s3", "ListObjectVersions") => "ListBucketVersions",
        ("s3", "HeadObject") => "GetObject",
        ("s3", "DeleteObjects") => "DeleteObject",
        ("s3", "PutPublicAccessBlock") => "PutBucketPublicAccessBlock",
        ("s3", "PutBucketEncryption") => "PutEncryptionConfiguration",
        ("s3", "PutBucketLifecycleConfiguration") => "PutLifecycleConfiguration",
        (_, operation) => operation,
    };
    Some(format!("{prefix}:{action}"))
}

/// Whether one of the policy's statements allows `action`.
fn allows(policy: &Value, action: &str) -> bool {
    policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| match &s["Action"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .any(|granted| match granted.strip_suffix('*') {
            Some(prefix) => action.starts_with(prefix),
            None => granted.eq_ignore_ascii_case(action),
        })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_policy_covers_every_call_of_launch_update_and_delete() {
    let emulator = Emulator::start();
    let project = Project::with_fixture_handlers("");
    let logs = project.dir.path();
    let mut calls: BTreeSet<String> = BTreeSet::new();
    let mut run = |args: &[&str], name: &str, code: i32| {
        let mut command = chatctl(&emulator, &project);
        command.args(args);
        let recorded = calls_of(&mut command, logs, name);
        json_of(&mut command, code);
        calls.extend(recorded());
    };
    run(&["launch"], "launch", 0);
    std::fs::write(project.fixture_main("connect"), CONNECT_V2).expect("change connect");
    run(&["update-code"], "update-code", 0);
    std::fs::write(project.site().join("style.css"), "body { color: #111; }\n").expect("css");
    run(&["update-site"], "update-site", 0);
    run(&["status"], "status", 0);
    run(&["output"], "output", 0);
    run(&["launch"], "launch-again", 0);
    run(&["delete", "--yes", "--purge-data"], "delete", 0);

    let policy = readme_json("<!-- deploy-role-policy -->");
    let needed: BTreeSet<String> = calls.iter().filter_map(|c| action_of(c)).collect();
    assert!(needed.len() > 10, "too few calls recorded: {calls:?}");
    let missing: Vec<&String> = needed.iter().filter(|a| !allows(&policy, a)).collect();
    assert!(
        missing.is_empty(),
        "the README's deploy-role policy lacks {missing:?} (chatctl called {calls:?})"
    );
    // Narrow: no statement grants a whole service or everything.
    for statement in policy["Statement"].as_array().expect("statements") {
        let actions = statement["Action"].to_string();
        assert!(
            !actions.contains(":*\"") && !actions.contains("\"*\""),
            "a statement grants a whole service: {statement}"
        );
    }
}

#[test]
fn the_readme_trust_policy_admits_one_repository_and_branch() {
    let trust = readme_json("<!-- deploy-role-trust -->");
    let statement = &trust["Statement"][0];
    assert_eq!(statement["Action"], "sts:AssumeRoleWithWebIdentity");
    assert!(statement["Principal"]["Federated"]
        .as_str()
        .is_some_and(|p| p.ends_with(":oidc-provider/token.actions.githubusercontent.com")));
    let conditions = &statement["Condition"]["StringEquals"];
    assert_eq!(
        conditions["token.actions.githubusercontent.com:aud"],
        "sts.amazonaws.com"
    );
    let subject = conditions["token.actions.githubusercontent.com:sub"]
        .as_str()
        .expect("the subject is matched exactly (StringEquals), not by a pattern");
    assert!(
        subject.starts_with("repo:")
            && subject.ends_with(":ref:refs/heads/main")
            && !subject.contains('*'),
        "{subject}"
    );
}

/// The action CloudFormation needs to create a resource of each type the
/// template holds; a new type fails this test until its permissions are
/// written into examples/ci/cloudformation-permissions.json.
fn create_actions(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "AWS::ApiGatewayV2::Api"
        | "AWS::ApiGatewayV2::Stage"
        | "AWS::ApiGatewayV2::Route"
        | "AWS::ApiGatewayV2::Integration" => &["apigateway:POST"],
        "AWS::Logs::LogGroup" => &["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
        "AWS::IAM::Role" => &["iam:CreateRole", "iam:PutRolePolicy", "iam:PassRole"],
        "AWS::Lambda::Function" => &["lambda:CreateFunction"],
        "AWS::Lambda::Permission" => &["lambda:AddPermission"],
        "AWS::Lambda::EventSourceMapping" => &["lambda:CreateEventSourceMapping"],
        "AWS::SQS::Queue" => &["sqs:CreateQueue", "sqs:SetQueueAttributes"],
        "AWS::DynamoDB::Table" => &["dynamodb:CreateTable", "dynamodb:UpdateTimeToLive"],
        "AWS::S3::Bucket" => &["s3:CreateBucket", "s3:PutBucketVersioning"],
        "AWS::S3::BucketPolicy" => &["s3:PutBucketPolicy"],
        "AWS::CloudFront::OriginAccessControl" => &["cloudfront:CreateOriginAccessControl"],
        "AWS::CloudFront::ResponseHeadersPolicy" => &["cloudfront:CreateResponseHeadersPolicy"],
        "AWS::CloudFront::OriginRequestPolicy" => &["cloudfront:CreateOriginRequestPolicy"],
        "AWS::CloudFront::Distribution" => &["cloudfront:CreateDistribution"],
        "AWS::KMS::Key" => &["kms:CreateKey", "kms:EnableKeyRotation"],
        "AWS::SNS::Topic" => &["sns:CreateTopic"],
        "AWS::SNS::TopicPolicy" => &["sns:SetTopicAttributes"],
        "AWS::SNS::Subscription" => &["sns:Subscribe"],
        "AWS::WAFv2::WebACL" => &["wafv2:CreateWebACL", "wafv2:GetWebACL"],
        "AWS::Cognito::UserPool" => &["cognito-idp:CreateUserPool"],
        "AWS::Cognito::UserPoolClient" => &["cognito-idp:CreateUserPoolClient"],
        "AWS::Cognito::UserPoolDomain" => &["cognito-idp:CreateUserPoolDomain"],
        "AWS::Cognito::UserPoolGroup" => &["cognito-idp:CreateGroup"],
        // The Google client secret is resolved from the app's own secret.
        "AWS::Cognito::UserPoolIdentityProvider" => &[
            "cognito-idp:CreateIdentityProvider",
            "secretsmanager:GetSecretValue",
        ],
        "AWS::SecretsManager::Secret" => &[
            "secretsmanager:CreateSecret",
            "secretsmanager:GetRandomPassword",
            "secretsmanager:GetSecretValue",
        ],
        other => panic!("{other}: add what CloudFormation needs to create it to examples/ci/cloudformation-permissions.json and here"),
    }
}

#[test]
fn cloudformations_permissions_cover_every_resource_type_of_the_template() {
    let policy: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/ci/cloudformation-permissions.json"
        ))
        .expect("read"),
    )
    .expect("valid JSON");
    // production.yaml turns on protection.waf: its edge stack too.
    for (example, edge) in [
        ("chatctl.yaml", false),
        ("production.yaml", false),
        ("production.yaml", true),
    ] {
        let config = format!("examples/{example}");
        let mut args = vec!["--config", &config, "template", "--format", "json"];
        if edge {
            args.push("--edge");
        }
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_chatctl"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run chatctl template");
        let template: Value = serde_json::from_slice(&output.stdout).expect("a JSON template");
        let types: BTreeSet<&str> = template["Resources"]
            .as_object()
            .expect("resources")
            .values()
            .filter_map(|r| r["Type"].as_str())
            .collect();
        for resource_type in types {
            for action in create_actions(resource_type) {
                assert!(
                    allows(&policy, action),
                    "{resource_type} needs {action}, which cloudformation-permissions.json lacks"
                );
            }
        }
    }
}
