//! End to end on the emulator: `launch`, a second launch that writes
//! nothing, a one-handler-one-file change, `output`, `status`, `delete`, and
//! a failing deployment that rolls back.
//!
//! The test that changes a handler deploys the fixture handlers (a change
//! rebuilds in seconds); the others deploy the real ones, built once per run.

mod support;

use assert_cmd::Command;
use serde_json::Value;
use support::project::{
    aws, aws_at, bucket_names, calls_of, chatctl, code_hashes, count, json_of, origin_secret,
    Project,
};
use support::{http_request_with, Emulator};

#[tokio::test(flavor = "multi_thread")]
async fn launch_twice_change_one_handler_and_one_file_then_delete() {
    let emulator = Emulator::start();
    let project = Project::with_fixture_handlers("");
    let aws = aws(&emulator).await;
    let logs = project.dir.path();

    // 1. A new stack.
    let (first, _) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    let outputs = first["outputs"].clone();
    assert!(first["stack_updated"].as_bool().unwrap_or(false));
    assert_eq!(first["uploaded_zips"].as_array().map(Vec::len), Some(7));
    let site_bucket = outputs["SiteBucketName"]
        .as_str()
        .expect("bucket")
        .to_string();
    let config_json = aws
        .s3()
        .get_object()
        .bucket(&site_bucket)
        .key("config.json")
        .send()
        .await
        .expect("config.json");
    let config_json: Value =
        serde_json::from_slice(&config_json.body.collect().await.expect("body").into_bytes())
            .expect("JSON");
    assert_eq!(config_json["websocketUrl"], outputs["WebSocketUrl"]);
    assert_eq!(config_json["maxMessageBytes"], 2000);
    let style = aws
        .s3()
        .head_object()
        .bucket(&site_bucket)
        .key("style.css")
        .send()
        .await
        .expect("style.css uploaded");
    assert_eq!(style.content_type(), Some("text/css; charset=utf-8"));
    let index = aws
        .s3()
        .head_object()
        .bucket(&site_bucket)
        .key("index.html")
        .send()
        .await
        .expect("index.html");
    assert_eq!(index.cache_control(), Some("no-cache"));
    let hashes_before = code_hashes(&aws, &outputs).await;

    // 2. Nothing changed: no write of any kind.
    let mut again = chatctl(&emulator, &project);
    again.arg("launch");
    let calls = calls_of(&mut again, logs, "second");
    let output = again.output().expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("up to date"));
    let calls = calls();
    assert!(!calls.is_empty(), "the call log recorded nothing");
    let writes: Vec<&String> = calls
        .iter()
        .filter(|c| {
            let operation = c.split(' ').nth(1).unwrap_or("");
            !["Describe", "Get", "List", "Head"]
                .iter()
                .any(|read| operation.starts_with(read))
        })
        .collect();
    assert!(
        writes.is_empty(),
        "a launch with nothing changed wrote: {writes:?}"
    );

    // 3. One handler and one site file change.
    let main_rs = project.fixture_main("connect");
    let original = std::fs::read_to_string(&main_rs).expect("main.rs");
    let changed = original.replacen(
        "fn main() {",
        "fn main() {\n    eprintln!(\"connect, changed by a test\");",
        1,
    );
    assert_ne!(changed, original);
    std::fs::write(&main_rs, &changed).expect("change connect");
    std::fs::write(project.site().join("style.css"), "body { margin: 1rem; }\n")
        .expect("change css");
    let mut third = chatctl(&emulator, &project);
    third.args(["launch", "--wait"]);
    let calls = calls_of(&mut third, logs, "third");
    let result = json_of(&mut third, 0);
    std::fs::write(&main_rs, &original).expect("restore connect");
    let (third, _) = result;
    let calls = calls();
    assert_eq!(
        count(&calls, "S3 PutObject"),
        3,
        "one zip, one site file, the pending-invalidation record: {calls:?}"
    );
    assert_eq!(count(&calls, "CloudFormation ExecuteChangeSet"), 1);
    assert_eq!(count(&calls, "CloudFront CreateInvalidation"), 1);
    let zips = third["uploaded_zips"].as_array().expect("zips");
    assert_eq!(zips.len(), 1);
    assert!(
        zips[0]
            .as_str()
            .is_some_and(|k| k.starts_with("handlers/connect/")),
        "{zips:?}"
    );
    assert_eq!(third["site"]["uploaded"], serde_json::json!(["style.css"]));
    assert_eq!(third["invalidated"], serde_json::json!(["/style.css"]));
    assert!(third["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .any(|c| c["logical_id"] == "ConnectFunction"));
    let hashes_after = code_hashes(&aws, &outputs).await;
    for (key, before) in &hashes_before {
        let after = &hashes_after[key];
        if key == "ConnectFunctionName" {
            assert_ne!(before, after, "connect's code did not change");
        } else {
            assert_eq!(before, after, "{key}'s code changed");
        }
    }

    // A file removed locally is removed remotely; room snapshots never are,
    // and the site's seed page for a room never overwrites one.
    for key in ["rooms/general.json", "rooms/general.html"] {
        aws.s3()
            .put_object()
            .bucket(&site_bucket)
            .key(key)
            .body(b"written by the fan-out".to_vec().into())
            .send()
            .await
            .expect("a snapshot the fan-out wrote");
    }
    std::fs::remove_file(project.site().join("app.js")).expect("remove app.js");
    let (fourth, _) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    assert_eq!(fourth["site"]["deleted"], serde_json::json!(["app.js"]));
    assert_eq!(fourth["invalidated"], serde_json::json!(["/app.js"]));
    assert!(aws
        .s3()
        .head_object()
        .bucket(&site_bucket)
        .key("app.js")
        .send()
        .await
        .is_err());
    aws.s3()
        .head_object()
        .bucket(&site_bucket)
        .key("rooms/general.json")
        .send()
        .await
        .expect("the room snapshot survived the sync");
    let page = aws
        .s3()
        .get_object()
        .bucket(&site_bucket)
        .key("rooms/general.html")
        .send()
        .await
        .expect("the room page");
    let page = page.body.collect().await.expect("body").into_bytes();
    assert_eq!(
        &page[..],
        b"written by the fan-out",
        "the seed page replaced the chat's snapshot"
    );

    // 4. Outputs in every format.
    let text = chatctl(&emulator, &project)
        .arg("output")
        .output()
        .expect("output");
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(
        text.starts_with("SiteUrl "),
        "the site URL comes first:\n{text}"
    );
    let env = chatctl(&emulator, &project)
        .args(["output", "--format", "env"])
        .output()
        .expect("output env");
    let env = String::from_utf8_lossy(&env.stdout).to_string();
    let lines: Vec<&str> = env.lines().collect();
    assert_eq!(
        lines.len(),
        outputs.as_object().map(|o| o.len()).unwrap_or(0)
    );
    assert!(lines.iter().all(|l| l
        .split_once('=')
        .is_some_and(|(k, v)| !k.is_empty() && !v.is_empty())));
    assert_eq!(
        lines[0],
        format!("SiteUrl={}", outputs["SiteUrl"].as_str().unwrap_or(""))
    );
    let (json, _) = json_of(chatctl(&emulator, &project).arg("output"), 0);
    assert_eq!(json, outputs);
    let single = chatctl(&emulator, &project)
        .args(["output", "WebSocketUrl"])
        .output()
        .expect("output key");
    assert_eq!(
        String::from_utf8_lossy(&single.stdout).trim(),
        outputs["WebSocketUrl"].as_str().unwrap_or("")
    );

    // 5. Status: deployed, and the code matches the local build.
    let (status, _) = json_of(chatctl(&emulator, &project).arg("status"), 0);
    assert!(
        status["status"]
            .as_str()
            .is_some_and(|s| s.ends_with("_COMPLETE")),
        "{status}"
    );
    assert!(status["events"].as_array().is_some_and(|e| !e.is_empty()));
    // connect was restored after its deployment, so it differs from the next build only once rebuilt;
    // every other handler matches.
    assert_eq!(status["code"]["message"]["matches"], true, "{status}");

    // 6. Delete: no stack, no bucket; the chat tables stay.
    chatctl(&emulator, &project).arg("delete").assert().code(2);
    let (deleted, _) = json_of(chatctl(&emulator, &project).args(["delete", "--yes"]), 0);
    assert_eq!(
        deleted["tables_kept"].as_array().map(Vec::len),
        Some(3),
        "{deleted}"
    );
    // The kept subscriptions keep the VAPID key they were made for.
    assert_eq!(deleted["vapid_key_deleted"], false, "{deleted}");
    aws.ssm()
        .get_parameter()
        .name("/chatctl/e2e-dev/vapid-private-key")
        .send()
        .await
        .expect("the VAPID key is kept");
    let stacks = aws
        .cloudformation()
        .describe_stacks()
        .stack_name("e2e-dev")
        .send()
        .await;
    assert!(
        stacks.is_err()
            || stacks.is_ok_and(|s| s
                .stacks()
                .iter()
                .all(|s| s.stack_status().map(|x| x.as_str()) == Some("DELETE_COMPLETE")))
    );
    let buckets = bucket_names(&aws).await;
    assert!(buckets.is_empty(), "buckets left behind: {buckets:?}");
    for table in [
        "MessagesTableName",
        "ConnectionsTableName",
        "SubscriptionsTableName",
    ] {
        let name = outputs[table].as_str().expect("table");
        aws.dynamodb()
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name} was not kept: {e:?}"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_with_purge_data_removes_the_tables_too() {
    let emulator = Emulator::start();
    let project = Project::new("stage: purge\n");
    let aws = aws(&emulator).await;
    let (launched, _) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    let (deleted, _) = json_of(
        chatctl(&emulator, &project).args(["delete", "--yes", "--purge-data"]),
        0,
    );
    assert_eq!(
        deleted["tables_deleted"].as_array().map(Vec::len),
        Some(3),
        "{deleted}"
    );
    assert_eq!(deleted["vapid_key_deleted"], true, "{deleted}");
    assert!(aws
        .ssm()
        .get_parameter()
        .name("/chatctl/e2e-purge/vapid-private-key")
        .send()
        .await
        .is_err_and(|e| e
            .as_service_error()
            .is_some_and(|e| e.is_parameter_not_found())));
    for table in [
        "MessagesTableName",
        "ConnectionsTableName",
        "SubscriptionsTableName",
    ] {
        let name = launched["outputs"][table].as_str().expect("table");
        assert!(
            aws.dynamodb()
                .describe_table()
                .table_name(name)
                .send()
                .await
                .is_err(),
            "{name} still exists"
        );
    }
    assert!(bucket_names(&aws).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_deployment_exits_3_naming_the_resource_and_the_next_launch_recovers() {
    let emulator = Emulator::start();
    let project = Project::new("site_bucket_name: e2e-site-{stage}\n");
    let aws = aws(&emulator).await;
    // Someone else's bucket already has the name.
    aws.s3()
        .create_bucket()
        .bucket("e2e-site-dev")
        .send()
        .await
        .expect("create clashing bucket");

    let (failure, stderr) = json_of(chatctl(&emulator, &project).arg("launch"), 3);
    assert_eq!(failure["error"]["kind"], "rolled_back");
    let message = failure["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("SiteBucket (AWS::S3::Bucket)"),
        "{message}"
    );
    assert!(
        message.contains("e2e-site-dev") && message.contains("already exists"),
        "{message}"
    );
    assert!(
        stderr.contains("ROLLBACK"),
        "the rollback events were not shown:\n{stderr}"
    );

    // The clash is resolved; the stack left in ROLLBACK_COMPLETE is replaced.
    aws.s3()
        .delete_bucket()
        .bucket("e2e-site-dev")
        .send()
        .await
        .expect("remove clashing bucket");
    let (recovered, stderr) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    assert!(
        stderr.contains("ROLLBACK_COMPLETE")
            && stderr.contains("deleting it and creating it again"),
        "{stderr}"
    );
    assert_eq!(recovered["outputs"]["SiteBucketName"], "e2e-site-dev");
}

#[test]
fn no_credentials_exit_2_before_anything_happens() {
    let project = Project::new("");
    let home = tempfile::tempdir().expect("home");
    Command::cargo_bin("chatctl")
        .expect("chatctl")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .arg("--config")
        .arg(&project.config)
        .arg("launch")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no AWS credentials"));
}

/// Rule 3: CloudFront names (origin access controls, response headers
/// policies) are unique per account, not per region, so AWS refuses a second
/// with `OriginAccessControlAlreadyExists` / `ResponseHeadersPolicyAlreadyExists`:
/// <https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateOriginAccessControl.html>.
/// The emulator instead hands the second stack the first one's (so deleting
/// either breaks the other). One app and stage, launched in two regions of
/// one account, must get names of their own.
#[tokio::test(flavor = "multi_thread")]
async fn one_stage_in_two_regions_gets_cloudfront_names_of_its_own() {
    let emulator = Emulator::start();
    let project = Project::with_fixture_handlers("");
    let mut names = Vec::new();
    for region in ["us-east-1", "eu-west-1"] {
        json_of(
            chatctl(&emulator, &project).args(["--region", region, "launch"]),
            0,
        );
        let aws = aws_at(&emulator.endpoint(), region).await;
        let resources = aws
            .cloudformation()
            .describe_stack_resources()
            .stack_name("e2e-dev")
            .send()
            .await
            .expect("describe_stack_resources");
        let cloudfront = aws.cloudfront();
        for resource in resources.stack_resources() {
            let id = resource.physical_resource_id().unwrap_or_default();
            let name = match resource.resource_type().unwrap_or_default() {
                "AWS::CloudFront::OriginAccessControl" => cloudfront
                    .get_origin_access_control()
                    .id(id)
                    .send()
                    .await
                    .expect("get_origin_access_control")
                    .origin_access_control()
                    .and_then(|o| o.origin_access_control_config())
                    .map(|c| c.name().to_string()),
                "AWS::CloudFront::ResponseHeadersPolicy" => cloudfront
                    .get_response_headers_policy()
                    .id(id)
                    .send()
                    .await
                    .expect("get_response_headers_policy")
                    .response_headers_policy()
                    .and_then(|p| p.response_headers_policy_config())
                    .map(|c| c.name().to_string()),
                _ => continue,
            };
            names.push((region, id.to_string(), name.expect("a name")));
        }
    }
    assert_eq!(names.len(), 4, "{names:?}");
    for (i, (region, id, name)) in names.iter().enumerate() {
        for (other_region, other_id, other_name) in &names[i + 1..] {
            assert!(
                id != other_id && name != other_name,
                "{region} and {other_region} share CloudFront {name} ({id}): AWS refuses the second"
            );
        }
    }
}

/// With a custom domain, launch names the DNS records that point it at the
/// distribution, in text and in `--output json`.
#[tokio::test(flavor = "multi_thread")]
async fn a_custom_domain_launch_names_the_dns_records_to_create() {
    let emulator = Emulator::start();
    let project = Project::with_fixture_handlers(
        "domain:\n  name: chat.example.com\n  certificate_arn: arn:aws:acm:us-east-1:123456789012:certificate/abc\n",
    );
    let (launched, _) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    let target = launched["outputs"]["DistributionDomainName"]
        .as_str()
        .expect("distribution domain")
        .to_string();
    let records = launched["dns_records"].as_array().expect("dns_records");
    let summary: Vec<(String, String, String)> = records
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_string(),
                r["type"].as_str().unwrap_or_default().to_string(),
                r["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let want = |kind: &str| {
        (
            "chat.example.com".to_string(),
            kind.to_string(),
            target.clone(),
        )
    };
    assert_eq!(summary, [want("CNAME"), want("A"), want("AAAA")]);
    assert_eq!(records[1]["alias_hosted_zone_id"], "Z2FDTNDATAQYW2");
    assert_eq!(launched["outputs"]["SiteUrl"], "https://chat.example.com");

    let text = chatctl(&emulator, &project)
        .arg("launch")
        .output()
        .expect("launch");
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains(&format!("chat.example.com CNAME {target}")),
        "{stdout}"
    );
}

/// `protection.waf`: the web ACL lives in its own stack in us-east-1 (the
/// chat here is in eu-west-1) and the distribution uses it; AWS's rules for
/// it hold (rules 9 and 10 of the rules layer: a CloudFront web ACL only in
/// us-east-1, none deleted while a distribution uses it); turning it off
/// lets the distribution go before the edge stack is deleted; `delete`
/// removes both.
#[tokio::test(flavor = "multi_thread")]
async fn a_waf_launch_puts_its_web_acl_in_us_east_1_and_delete_removes_it() {
    const WAF: &str = "protection:\n  waf: true\n  requests_per_five_minutes: 500\n";
    let emulator = Emulator::start();
    // The real handlers: the http function checks CloudFront's header.
    let project = Project::new(WAF);
    let launch = || {
        let mut command = chatctl(&emulator, &project);
        command.args(["--region", "eu-west-1", "launch"]);
        let (json, _) = json_of(&mut command, 0);
        json
    };
    // A preview deploys nothing in either region (a first preview leaves
    // CloudFormation's empty REVIEW_IN_PROGRESS stack, as AWS does).
    let (preview, _) = json_of(
        chatctl(&emulator, &project).args(["--region", "eu-west-1", "launch", "--preview"]),
        0,
    );
    assert_eq!(preview["preview_only"], true, "{preview}");
    let east = aws_at(&emulator.endpoint(), "us-east-1")
        .await
        .cloudformation();
    let reviewed = east
        .describe_stacks()
        .stack_name("e2e-dev-edge")
        .send()
        .await;
    assert!(
        reviewed.map_or(true, |found| found.stacks().iter().all(|s| {
            s.stack_status()
                .is_some_and(|status| status.as_str() == "REVIEW_IN_PROGRESS")
        })),
        "a preview deployed the web ACL"
    );
    let launched = launch();
    let arn = launched["outputs"]["WebAclArn"]
        .as_str()
        .expect("a WebAclArn output")
        .to_string();
    assert!(
        arn.starts_with("arn:aws:wafv2:us-east-1:") && arn.contains(":global/webacl/e2e-dev-edge/"),
        "{arn}"
    );
    let edge_template = east
        .get_template()
        .stack_name("e2e-dev-edge")
        .send()
        .await
        .expect("the edge stack is in us-east-1")
        .template_body()
        .unwrap_or_default()
        .to_string();
    assert!(
        edge_template.contains("\"Limit\":500") || edge_template.contains("\"Limit\": 500"),
        "the rate comes from protection.requests_per_five_minutes: {edge_template}"
    );
    let web_acl_of_distribution = || async {
        let aws = aws_at(&emulator.endpoint(), "eu-west-1").await;
        let outputs = aws
            .cloudformation()
            .describe_stacks()
            .stack_name("e2e-dev")
            .send()
            .await
            .expect("describe the chat stack");
        let id = outputs.stacks()[0]
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some("DistributionId"))
            .and_then(|o| o.output_value())
            .expect("a DistributionId output")
            .to_string();
        aws.cloudfront()
            .get_distribution_config()
            .id(id)
            .send()
            .await
            .expect("the distribution's configuration")
            .distribution_config()
            .and_then(|c| c.web_acl_id())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(web_acl_of_distribution().await, arn);

    // Posts straight to the HTTP API's execute-api address go around the
    // web ACL: refused. CloudFront's header (from Secrets Manager, resolved
    // at deploy time into the function's configuration, never into the
    // template) lets a post through.
    let outputs = &launched["outputs"];
    let http_api = outputs["HttpApiId"].as_str().expect("HttpApiId");
    let post = |headers: &[(&str, &str)]| {
        let mut all = vec![("Content-Type", "application/json")];
        all.extend_from_slice(headers);
        let answer = http_request_with(
            emulator.port(),
            "POST",
            &format!("/_aws/execute-api/{http_api}/$default/api/rooms/general/messages"),
            &all,
            r#"{"name":"ann","text":"through the edge"}"#,
        )
        .expect("an HTTP answer");
        answer.lines().next().unwrap_or_default().to_string()
    };
    assert!(post(&[]).contains(" 403"), "{}", post(&[]));
    let west = aws_at(&emulator.endpoint(), "eu-west-1").await;
    let secret = origin_secret(&west, outputs).await;
    assert!(secret.len() >= 32, "a guessable secret: {secret:?}");
    assert!(post(&[("X-Origin-Verify", "not-it")]).contains(" 403"));
    assert!(
        post(&[("X-Origin-Verify", &secret)]).contains(" 201"),
        "{}",
        post(&[("X-Origin-Verify", &secret)])
    );
    let chat_template = west
        .cloudformation()
        .get_template()
        .stack_name("e2e-dev")
        .send()
        .await
        .expect("the chat stack's template");
    assert!(
        !chat_template
            .template_body()
            .unwrap_or_default()
            .contains(&secret),
        "the secret is written into the template"
    );

    // Nothing changed: nothing deployed, in either region.
    let again = launch();
    assert_eq!(again["stack_updated"], false, "{again}");

    // Rule 10: the edge stack cannot go while the distribution uses it.
    let refused = east.delete_stack().stack_name("e2e-dev-edge").send().await;
    assert!(refused.is_err(), "deleting a web ACL in use was allowed");
    // Rule 9: a CloudFront web ACL is refused outside us-east-1.
    let body = std::process::Command::new(env!("CARGO_BIN_EXE_chatctl"))
        .args(["--config", &project.config.display().to_string()])
        .args(["template", "--edge", "--format", "json"])
        .output()
        .expect("chatctl template --edge");
    assert!(body.status.success(), "{body:?}");
    let west = aws_at(&emulator.endpoint(), "eu-west-1")
        .await
        .cloudformation();
    let misplaced = west
        .create_stack()
        .stack_name("misplaced-edge")
        .template_body(String::from_utf8_lossy(&body.stdout))
        .send()
        .await;
    assert!(
        misplaced.is_err(),
        "a CloudFront web ACL was created in eu-west-1"
    );
    assert_eq!(emulator.refusals().web_acl, 2);

    // Off: the distribution lets go of the ACL, then its stack goes.
    let config = std::fs::read_to_string(&project.config).expect("config");
    std::fs::write(&project.config, config.replace(WAF, "")).expect("config");
    let off = launch();
    assert!(off["outputs"].get("WebAclArn").is_none(), "{off}");
    assert_eq!(web_acl_of_distribution().await, "");
    assert!(
        !edge_stack_exists(&east).await,
        "the edge stack outlived protection.waf"
    );

    // On again, then delete: both stacks go, the chat's first.
    std::fs::write(&project.config, config).expect("config");
    assert!(launch()["outputs"]["WebAclArn"].is_string(), "on again");
    let (deleted, _) = json_of(
        chatctl(&emulator, &project).args(["--region", "eu-west-1", "delete", "--yes"]),
        0,
    );
    assert_eq!(deleted["edge_stack_deleted"], true, "{deleted}");
    assert!(
        !edge_stack_exists(&east).await,
        "delete left the edge stack"
    );
}

/// Whether `e2e-dev-edge` exists (a deleted stack reads as
/// `DELETE_COMPLETE` or not at all).
async fn edge_stack_exists(cfn: &aws_sdk_cloudformation::Client) -> bool {
    match cfn
        .describe_stacks()
        .stack_name("e2e-dev-edge")
        .send()
        .await
    {
        Ok(found) => found.stacks().iter().any(|s| {
            s.stack_status()
                .is_some_and(|status| status.as_str() != "DELETE_COMPLETE")
        }),
        Err(_) => false,
    }
}
