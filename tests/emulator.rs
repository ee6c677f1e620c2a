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
