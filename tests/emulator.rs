//! The emulator harness itself: a stack goes up and down through chatctl's AWS
//! client configuration (`--endpoint-url`), and the emulator is gone afterwards.

mod support;

use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_cloudformation::types::StackStatus;
use chatctl::aws::{Aws, AwsOptions};
use support::{port_open, process_exists, Emulator};

const TRIVIAL_TEMPLATE: &str = r#"{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Resources": { "Topic": { "Type": "AWS::SNS::Topic" } },
  "Outputs": { "TopicArn": { "Value": { "Ref": "Topic" } } }
}"#;

fn local_options(endpoint: String) -> AwsOptions {
    AwsOptions {
        profile: None,
        region: Some("us-east-1".to_string()),
        endpoint_url: Some(endpoint),
        credentials: Some(Credentials::new("test", "test", None, None, "tests")),
    }
}

/// Polls the stack until `done` says so, within a bounded time.
async fn wait_for_stack(
    client: &aws_sdk_cloudformation::Client,
    name: &str,
    done: impl Fn(Option<&StackStatus>) -> bool,
) -> Option<StackStatus> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = match client.describe_stacks().stack_name(name).send().await {
            Ok(out) => out.stacks().first().and_then(|s| s.stack_status().cloned()),
            // "Stack with id NAME does not exist" once it is deleted.
            Err(e) => {
                let text = format!("{:?}", e.into_service_error());
                assert!(
                    text.contains("does not exist"),
                    "describe_stacks failed: {text}"
                );
                None
            }
        };
        if done(status.as_ref()) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "stack {name} stuck in {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_stack_is_created_and_deleted_on_the_emulator_which_is_gone_afterwards() {
    let emulator = Emulator::start();
    let (pid, port, raw_port) = (emulator.pid(), emulator.port(), emulator.raw_port());
    let aws = Aws::load(&local_options(emulator.endpoint())).await;
    assert_eq!(aws.region(), Some("us-east-1"));
    let cfn = aws.cloudformation();

    cfn.create_stack()
        .stack_name("harness-check")
        .template_body(TRIVIAL_TEMPLATE)
        .send()
        .await
        .expect("create_stack");
    let created = wait_for_stack(&cfn, "harness-check", |s| {
        !matches!(s, Some(StackStatus::CreateInProgress))
    })
    .await;
    assert_eq!(
        created,
        Some(StackStatus::CreateComplete),
        "{}",
        emulator.log()
    );

    let stack = cfn
        .describe_stacks()
        .stack_name("harness-check")
        .send()
        .await
        .expect("describe_stacks");
    let outputs = stack.stacks()[0].outputs();
    assert_eq!(outputs.len(), 1);
    assert!(
        outputs[0]
            .output_value()
            .is_some_and(|arn| arn.starts_with("arn:aws:sns:us-east-1:")),
        "unexpected output {outputs:?}"
    );

    cfn.delete_stack()
        .stack_name("harness-check")
        .send()
        .await
        .expect("delete_stack");
    let deleted = wait_for_stack(&cfn, "harness-check", |s| {
        matches!(s, None | Some(StackStatus::DeleteComplete))
    })
    .await;
    assert!(matches!(deleted, None | Some(StackStatus::DeleteComplete)));

    assert!(process_exists(pid) && port_open(port) && port_open(raw_port));
    drop(emulator);
    assert!(!process_exists(pid), "the emulator process {pid} survived");
    for port in [port, raw_port] {
        assert!(!port_open(port), "something still listens on port {port}");
    }
}

#[test]
fn the_emulator_is_killed_when_a_test_panics() {
    let (pid, port) = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        let outcome = scope
            .spawn(move || {
                let emulator = Emulator::start();
                tx.send((emulator.pid(), emulator.port()))
                    .expect("send pid");
                panic!("a failing test");
            })
            .join();
        assert!(outcome.is_err(), "the thread should have panicked");
        rx.recv().expect("the emulator started")
    });
    assert!(
        !process_exists(pid),
        "the emulator process {pid} survived a panic"
    );
    assert!(!port_open(port));
}

// Rules 9 and 10 of the rules layer (AWS WAF and CloudFront), as pure
// functions; tests/launch.rs runs them against chatctl's launches.
mod waf_rules {
    use std::collections::HashMap;

    use serde_json::json;

    use super::support::waf_rules::{acl_in_use, scope_refusal};

    const GLOBAL: &str = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/chat/0f1e";

    #[test]
    fn a_cloudfront_web_acl_outside_us_east_1_is_refused() {
        let template = json!({"Resources": {"WebAcl": {
            "Type": "AWS::WAFv2::WebACL", "Properties": {"Scope": "CLOUDFRONT"}}}});
        let none = HashMap::new();
        assert!(scope_refusal("eu-west-1", &template, &none).is_some());
        assert_eq!(scope_refusal("us-east-1", &template, &none), None);
    }

    #[test]
    fn a_distribution_takes_only_a_global_web_acl_arn() {
        let template = json!({"Resources": {"Distribution": {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {"DistributionConfig": {"WebACLId": {"Ref": "WebAclArn"}}}}}});
        let with = |arn: &str| HashMap::from([("WebAclArn".to_string(), arn.to_string())]);
        assert_eq!(scope_refusal("eu-west-1", &template, &with(GLOBAL)), None);
        for bad in [
            "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/chat/0f1e",
            "arn:aws:wafv2:eu-west-1:123456789012:global/webacl/chat/0f1e",
            "0f1e-classic-waf-id",
        ] {
            assert!(
                scope_refusal("eu-west-1", &template, &with(bad)).is_some(),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_acl_a_distribution_names_is_in_use() {
        let resources = "<member><ResourceType>AWS::WAFv2::WebACL</ResourceType><PhysicalResourceId>chat|0f1e|CLOUDFRONT</PhysicalResourceId><ResourceStatus>CREATE_COMPLETE</ResourceStatus></member>";
        let using =
            format!("<DistributionSummary><WebACLId>{GLOBAL}</WebACLId></DistributionSummary>");
        assert_eq!(acl_in_use(resources, &using).as_deref(), Some(GLOBAL));
        assert_eq!(acl_in_use(resources, "<WebACLId></WebACLId>"), None);
    }
}

/// Rule 11's own cases: what AWS's one-index-per-update rule refuses.
mod index_rules {
    use serde_json::{json, Value};

    use super::support::index_rules::{change_set_name, refusal, template_body};

    fn with_indexes(names: &[(&str, &str)]) -> Value {
        let indexes: Vec<Value> = names
            .iter()
            .map(|(name, projection)| {
                json!({"IndexName": name, "KeySchema": [{"AttributeName": "room", "KeyType": "HASH"}], "Projection": {"ProjectionType": projection}})
            })
            .collect();
        json!({"Resources": {"Connections": {"Type": "AWS::DynamoDB::Table", "Properties": {"GlobalSecondaryIndexes": indexes}}}})
    }

    #[test]
    fn more_than_one_index_created_or_deleted_in_one_update_is_refused() {
        let old = with_indexes(&[("by-room", "ALL")]);
        let renamed = with_indexes(&[("by-room-keys", "KEYS_ONLY")]);
        let reason = refusal(&old, &renamed).expect("a rename is two changes");
        assert!(reason.contains("create 1 and delete 1"), "{reason}");
        let redefined = with_indexes(&[("by-room", "KEYS_ONLY")]);
        assert!(
            refusal(&old, &redefined).is_some(),
            "in place is two changes"
        );
        let both = with_indexes(&[("by-room", "ALL"), ("by-room-keys", "KEYS_ONLY")]);
        assert_eq!(refusal(&old, &both), None, "one creation");
        assert_eq!(refusal(&both, &renamed), None, "one deletion");
        assert_eq!(refusal(&old, &old), None);
        let none = with_indexes(&[]);
        let two = with_indexes(&[("a", "ALL"), ("b", "ALL")]);
        assert!(refusal(&none, &two).is_some());
        // A table the stack does not have yet is created, not updated.
        assert_eq!(refusal(&json!({"Resources": {}}), &two), None);
    }

    #[test]
    fn the_deployed_template_and_change_set_names_are_read_as_aws_writes_them() {
        let answer = "<GetTemplateResponse><GetTemplateResult><TemplateBody>{&quot;Resources&quot;:{&quot;A&quot;:{&quot;Type&quot;:&quot;x&amp;y&quot;}}}</TemplateBody></GetTemplateResult></GetTemplateResponse>";
        assert_eq!(
            template_body(answer),
            Some(json!({"Resources": {"A": {"Type": "x&y"}}}))
        );
        assert_eq!(
            change_set_name(
                "arn:aws:cloudformation:us-east-1:000000000000:changeSet/chatctl-1/abc-def"
            ),
            "chatctl-1"
        );
        assert_eq!(change_set_name("chatctl-1"), "chatctl-1");
    }
}

mod log_rules {
    //! Rule 12's reading of CloudWatch Logs filter patterns.

    use super::support::log_rules::terms;

    #[test]
    fn terms_as_cloudwatch_logs_reads_them() {
        let pattern = terms(r#"ERROR "bad thing" -retry"#).expect("terms");
        assert_eq!(pattern.required, ["ERROR", "bad thing"]);
        assert_eq!(pattern.excluded, ["retry"]);
        assert!(pattern.matches("ERROR: a bad thing happened"));
        assert!(!pattern.matches("ERROR: a bad thing happened; retry"));
        assert!(!pattern.matches("error: a bad thing happened"));
        assert!(terms(r#"{ $.level = "ERROR" }"#).is_none());
    }
}
