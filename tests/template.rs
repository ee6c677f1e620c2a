//! `chatctl template`: snapshots per example, cfn-lint and checkov clean, and
//! the generated stack deploys on the emulator with every output readable.

mod support;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::{Parameter, StackStatus};
use chatctl::config::Project;
use chatctl::handlers;
use chatctl::template::{self, Template};
use serde_json::{json, Value};
use support::Emulator;

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 2,
        "no example configurations in {}",
        dir.display()
    );
    files
}

fn generate(
    config: &Path,
    stage: Option<&str>,
) -> (Project, Vec<handlers::HandlerCrate>, Template) {
    let project = Project::load(config, stage).expect("example loads");
    let crates = handlers::discover(&project.handlers_dir()).expect("handler crates");
    let template = template::generate(&project, &crates).expect("template generates");
    (project, crates, template)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("config")
        .to_string()
}

#[test]
fn snapshots_of_the_template_for_every_example() {
    let mut edges = 0;
    for config in examples() {
        let (project, _, template) = generate(&config, None);
        let yaml = template.to_yaml_string().expect("yaml");
        insta::assert_snapshot!(format!("template-{}", stem(&config)), yaml);
        if let Some(edge) = edge_template(&project) {
            let yaml = edge.to_yaml_string().expect("yaml");
            insta::assert_snapshot!(format!("edge-template-{}", stem(&config)), yaml);
            edges += 1;
        }
    }
    assert!(edges > 0, "no example turns on protection.waf");
}

/// The edge stack's template, for an example with `protection.waf`.
fn edge_template(project: &Project) -> Option<Template> {
    project
        .config
        .protection
        .waf
        .then(|| template::edge::generate(project).expect("edge template generates"))
}

#[test]
fn yaml_and_json_forms_are_the_same_document() {
    for config in examples() {
        let (_, _, template) = generate(&config, None);
        let from_yaml: Value =
            serde_yaml::from_str(&template.to_yaml_string().expect("yaml")).expect("parse yaml");
        let from_json: Value =
            serde_json::from_str(&template.to_json_string()).expect("parse json");
        assert_eq!(from_yaml, from_json, "{}", config.display());
    }
}

#[test]
fn the_template_describes_the_whole_chat() {
    let (_, crates, template) = generate(&examples()[0], None);
    let doc = template.as_json();
    let resources = doc["Resources"].as_object().expect("resources");
    let of_type = |kind: &str| -> BTreeSet<&str> {
        resources
            .iter()
            .filter(|(_, r)| r["Type"] == kind)
            .map(|(id, _)| id.as_str())
            .collect()
    };
    // The chat topic's key lets CloudWatch alarms and EventBridge publish:
    // the AWS managed alias/aws/sns cannot grant them, and their messages
    // would never arrive.
    let topic_key = &resources["ChatTopic"]["Properties"]["KmsMasterKeyId"]["Ref"];
    let key = &resources[topic_key.as_str().expect("the topic's key is a resource")];
    assert_eq!(key["Type"], "AWS::KMS::Key");
    assert_eq!(key["Properties"]["EnableKeyRotation"], true);
    let granted = key["Properties"]["KeyPolicy"]["Statement"].to_string();
    for service in ["cloudwatch.amazonaws.com", "events.amazonaws.com"] {
        assert!(
            granted.contains(service),
            "{service} cannot use the topic's key"
        );
    }
    assert_eq!(of_type("AWS::SNS::TopicPolicy").len(), 1);

    // One function, role and log group per crate, each role its own.
    assert_eq!(of_type("AWS::Lambda::Function").len(), crates.len());
    assert_eq!(of_type("AWS::IAM::Role").len(), crates.len());
    for handler in &crates {
        let name = handler.logical_name();
        let function = &resources[&format!("{name}Function")]["Properties"];
        assert_eq!(function["Runtime"], "provided.al2023");
        assert_eq!(function["Handler"], "bootstrap");
        assert_eq!(function["Role"]["Fn::GetAtt"][0], format!("{name}Role"));
        assert_eq!(
            function["Code"]["S3Key"]["Ref"],
            Template::code_key_parameter(handler)
        );
        assert_eq!(
            function["LoggingConfig"]["LogGroup"]["Ref"],
            format!("{name}LogGroup")
        );
        // Least privilege: no statement grants every action or every resource.
        let policies = resources[&format!("{name}Role")]["Properties"]["Policies"].to_string();
        assert!(
            !policies.contains("\"*\""),
            "{name}'s role has a wildcard: {policies}"
        );
    }
    // Every routing piece is wired.
    let route_keys: BTreeSet<String> = of_type("AWS::ApiGatewayV2::Route")
        .iter()
        .map(|id| {
            resources[*id]["Properties"]["RouteKey"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    for key in [
        "$connect",
        "$disconnect",
        "send",
        "edit",
        "delete",
        "history",
        "$default",
        "GET /api/rooms/{room}/messages",
        "POST /api/rooms/{room}/messages",
    ] {
        assert!(route_keys.contains(key), "no route {key}: {route_keys:?}");
    }
    let mapping = &resources["FanoutStreamMapping"]["Properties"];
    assert_eq!(
        mapping["EventSourceArn"]["Fn::GetAtt"],
        serde_json::json!(["MessagesTable", "StreamArn"])
    );
    assert_eq!(mapping["BisectBatchOnFunctionError"], true);
    assert_eq!(
        mapping["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    // The stage throttles the routes that write or read the tables below
    // the default, so a flood of messages leaves `$connect` room.
    let stage = &resources["WebSocketStage"]["Properties"];
    let rate =
        |settings: &serde_json::Value| settings["ThrottlingRateLimit"].as_f64().expect("rate");
    let burst =
        |settings: &serde_json::Value| settings["ThrottlingBurstLimit"].as_f64().expect("burst");
    let default = &stage["DefaultRouteSettings"];
    for route in ["send", "edit", "delete", "history"] {
        let settings = &stage["RouteSettings"][route];
        assert!(
            rate(settings) < rate(default) && burst(settings) < burst(default),
            "{route} is not throttled below $connect: {settings}"
        );
        assert!(
            route_keys.contains(route),
            "throttle for a route that does not exist: {route}"
        );
    }
    assert!(stage["RouteSettings"].get("$connect").is_none());
    // The per-client counters: their own table, gone with the stack.
    assert_eq!(resources["LimitsTable"]["DeletionPolicy"], "Delete");
    assert_eq!(
        resources["LimitsTable"]["Properties"]["TimeToLiveSpecification"]["AttributeName"],
        "expires_at"
    );
    // Deliveries: a FIFO queue (order per connection), one an invocation.
    let deliveries = &resources["FanoutDeliveryMapping"]["Properties"];
    assert_eq!(
        deliveries["EventSourceArn"]["Fn::GetAtt"],
        serde_json::json!(["DeliveryQueue", "Arn"])
    );
    assert_eq!(deliveries["BatchSize"], 1);
    assert_eq!(resources["DeliveryQueue"]["Properties"]["FifoQueue"], true);
    assert!(
        resources["DeliveryQueue"]["Properties"]["VisibilityTimeout"].as_i64()
            >= resources["FanoutFunction"]["Properties"]["Timeout"].as_i64()
    );
    assert_eq!(of_type("AWS::SNS::Subscription").len(), 1);
    assert_eq!(
        of_type("AWS::Lambda::Permission").len(),
        5,
        "one per invoker"
    );
    // Chat data is retained by default.
    for table in template::TABLES {
        assert_eq!(resources[*table]["DeletionPolicy"], "Retain");
        assert_eq!(resources[*table]["UpdateReplacePolicy"], "Retain");
    }
    // No physical names that would clash between stages.
    for (id, resource) in resources {
        for key in [
            "BucketName",
            "TableName",
            "FunctionName",
            "RoleName",
            "LogGroupName",
            "QueueName",
            "TopicName",
        ] {
            let named = resource["Properties"][key].is_string();
            let is_reference = resource["Type"] == "AWS::Lambda::Permission"
                || resource["Type"] == "AWS::Lambda::EventSourceMapping";
            assert!(
                !named || is_reference,
                "{id} fixes its physical name with {key}"
            );
        }
    }
}

/// What CloudFront forwards to the HTTP API decides whom the limits count:
/// through CloudFront, API Gateway's source address is CloudFront's own.
#[test]
fn cloudfront_tells_the_http_api_the_viewer_and_proves_it_forwarded() {
    use chatctl::template::origin::{
        CLOUDFRONT_ONLY_VARIABLE, ORIGIN_VERIFY_HEADER, ORIGIN_VERIFY_VARIABLE,
        VIEWER_ADDRESS_HEADER,
    };
    for example in examples() {
        let (project, _, template) = generate(&example, None);
        let doc = template.as_json();
        let config = &doc["Resources"]["Distribution"]["Properties"]["DistributionConfig"];
        let api_origin = config["Origins"]
            .as_array()
            .expect("origins")
            .iter()
            .find(|o| o["Id"] == "api")
            .expect("the api origin");
        let header = &api_origin["OriginCustomHeaders"][0];
        assert_eq!(header["HeaderName"], ORIGIN_VERIFY_HEADER);
        let secret =
            json!({"Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecret}:SecretString}}"});
        assert_eq!(
            header["HeaderValue"], secret,
            "resolved at deploy time, never literal"
        );
        let variables = &doc["Resources"]["HttpFunction"]["Properties"]["Environment"]["Variables"];
        assert_eq!(variables[ORIGIN_VERIFY_VARIABLE], secret);
        let waf = project.config.protection.waf;
        assert_eq!(
            variables.get(CLOUDFRONT_ONLY_VARIABLE).is_some(),
            waf,
            "{}: only with protection.waf is a request without the secret refused",
            stem(&example)
        );

        let api = config["CacheBehaviors"]
            .as_array()
            .expect("behaviors")
            .iter()
            .find(|b| b["PathPattern"] == "/api/*")
            .expect("the /api/* behavior");
        assert_eq!(
            api["OriginRequestPolicyId"],
            json!({"Ref": "ApiOriginRequestPolicy"})
        );
        let policy = &doc["Resources"]["ApiOriginRequestPolicy"]["Properties"]
            ["OriginRequestPolicyConfig"]["HeadersConfig"];
        assert_eq!(policy["HeaderBehavior"], "whitelist");
        let forwarded: Vec<String> = policy["Headers"]
            .as_array()
            .expect("headers")
            .iter()
            .filter_map(|h| h.as_str().map(str::to_ascii_lowercase))
            .collect();
        for needed in [
            VIEWER_ADDRESS_HEADER,
            "Content-Type",
            "Origin",
            "Sec-Fetch-Site",
        ] {
            assert!(forwarded.contains(&needed.to_ascii_lowercase()), "{needed}");
        }
        // API Gateway answers 403 to a request for another host's name.
        assert!(!forwarded.contains(&"host".to_string()));
    }
}

#[test]
fn configuration_reaches_the_template() {
    let production = examples()
        .into_iter()
        .find(|p| stem(p) == "production")
        .expect("production example");
    let (project, _, template) = generate(&production, Some("prod"));
    let doc = template.as_json();
    let function = &doc["Resources"]["FanoutFunction"]["Properties"];
    assert_eq!(function["Architectures"][0], "arm64");
    assert_eq!(function["MemorySize"], 512);
    assert_eq!(function["Timeout"], 15);
    let variables = &function["Environment"]["Variables"];
    assert_eq!(variables["MAX_MESSAGE_BYTES"], "4000");
    // Lambda refuses a queue whose visibility timeout is under the
    // function's timeout: six times it.
    assert_eq!(
        doc["Resources"]["DeliveryQueue"]["Properties"]["VisibilityTimeout"],
        90
    );
    assert_eq!(variables["RATE_LIMIT_MESSAGES"], "10");
    assert_eq!(variables["CONNECTIONS_PER_ADDRESS"], "10");
    assert_eq!(variables["CONNECTIONS_PER_ROOM"], "5000");
    assert_eq!(
        doc["Resources"]["FanoutLogGroup"]["Properties"]["RetentionInDays"],
        90
    );
    assert_eq!(
        doc["Resources"]["WebSocketStage"]["Properties"]["StageName"],
        "prod"
    );
    let distribution = &doc["Resources"]["Distribution"]["Properties"]["DistributionConfig"];
    assert_eq!(distribution["Aliases"][0], "chat.example.com");
    assert_eq!(
        distribution["ViewerCertificate"]["MinimumProtocolVersion"],
        "TLSv1.2_2021"
    );
    assert_eq!(
        doc["Outputs"]["SiteUrl"]["Value"],
        "https://chat.example.com"
    );
    assert_eq!(project.stack_name(), "team-chat-prod");

    // auth: the callbacks are the site's (the custom domain's too), the
    // functions that verify tokens (and the fan-out, for the room page)
    // know the pool, and only the message role may close connections.
    let resources = &doc["Resources"];
    let callbacks = resources["UserPoolClient"]["Properties"]["CallbackURLs"].to_string();
    assert!(
        callbacks.contains("https://chat.example.com/api/auth/callback"),
        "{callbacks}"
    );
    assert!(
        callbacks.contains("${Distribution.DomainName}/api/auth/callback"),
        "{callbacks}"
    );
    for function in ["ConnectFunction", "HttpFunction", "FanoutFunction"] {
        let variables = &resources[function]["Properties"]["Environment"]["Variables"];
        assert_eq!(
            variables["AUTH_CLIENT_ID"],
            json!({"Ref": "UserPoolClient"}),
            "{function}"
        );
    }
    let closes = |role: &str| {
        resources[role]["Properties"]["Policies"]
            .to_string()
            .contains("DELETE/@connections")
    };
    assert!(closes("MessageRole"));
    assert!(!closes("ConnectRole") && !closes("FanoutRole") && !closes("HttpRole"));
    assert_eq!(
        resources["GoogleIdentityProvider"]["Properties"]["ProviderDetails"]["client_secret"],
        "{{resolve:secretsmanager:team-chat/google-client-secret:SecretString}}"
    );
    assert_eq!(resources["UserPool"]["DeletionPolicy"], "Retain");

    // data.retain: false is the only way to let the tables go.
    let text = std::fs::read_to_string(&production)
        .expect("read")
        .replace("retain: true", "retain: false");
    let dir = tempfile::tempdir().expect("tmp");
    let copy = dir.path().join("chatctl.yaml");
    std::fs::write(
        &copy,
        text.replace("../static", &project.site_dir().display().to_string())
            .replace("../handlers", &project.handlers_dir().display().to_string()),
    )
    .expect("write");
    let (_, _, template) = generate(&copy, Some("prod"));
    assert_eq!(
        template.as_json()["Resources"]["MessagesTable"]["DeletionPolicy"],
        "Delete"
    );
}

fn lint_tool(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".chatctl/tools/lint/bin")
        .join(name);
    assert!(
        path.exists(),
        "{} is not installed: run scripts/setup.sh",
        path.display()
    );
    path
}

/// Writes every example's template (YAML and JSON) into `dir`.
fn write_templates(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for config in examples() {
        let (project, _, template) = generate(&config, None);
        let mut templates = vec![(stem(&config), template)];
        if let Some(edge) = edge_template(&project) {
            templates.push((format!("{}-edge", stem(&config)), edge));
        }
        for (name, template) in templates {
            for (extension, text) in [
                ("yaml", template.to_yaml_string().expect("yaml")),
                ("json", template.to_json_string()),
            ] {
                let path = dir.join(format!("{name}.{extension}"));
                std::fs::File::create(&path)
                    .and_then(|mut f| f.write_all(text.as_bytes()))
                    .expect("write template");
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn cfn_lint_finds_no_errors_and_no_warnings() {
    let dir = tempfile::tempdir().expect("tmp");
    let files = write_templates(dir.path());
    let output = Command::new(lint_tool("cfn-lint"))
        .args(["--format", "parseable"])
        .args(&files)
        .output()
        .expect("run cfn-lint");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && report.trim().is_empty(),
        "cfn-lint ({}):\n{report}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn checkov_finds_no_failed_check() {
    let dir = tempfile::tempdir().expect("tmp");
    let files: Vec<PathBuf> = write_templates(dir.path())
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml"))
        .collect();
    let mut command = Command::new(lint_tool("checkov"));
    command.args([
        "--framework",
        "cloudformation",
        "--output",
        "json",
        "--skip-download",
    ]);
    for file in &files {
        command.arg("-f").arg(file);
    }
    let output = command.output().expect("run checkov");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let summary = &report["summary"];
    assert_eq!(
        summary["failed"], 0,
        "checkov failed checks:\n{:#}",
        report["results"]["failed_checks"]
    );
    assert!(
        summary["passed"].as_u64().is_some_and(|n| n > 50),
        "checkov checked too little: {summary}"
    );
    assert_eq!(summary["parsing_errors"], 0);
    // Every skip carries a reason.
    for skipped in report["results"]["skipped_checks"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let reason = skipped["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or("");
        assert!(reason.len() > 20, "skip without a reason: {skipped}");
    }
}

/// A zip with a `bootstrap` the emulator accepts as function code; the real
/// handler zips arrive with the build issue.
fn placeholder_zip() -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        writer.start_file("bootstrap", options).expect("zip entry");
        writer.write_all(b"#!/bin/sh\nexit 1\n").expect("zip write");
        writer.finish().expect("zip finish");
    }
    buffer.into_inner()
}

#[tokio::test]
async fn the_generated_stack_deploys_on_the_emulator_and_every_output_reads_back() {
    let emulator = Emulator::start();
    let aws = support::project::aws(&emulator).await;
    let (project, crates, template) = generate(&examples()[0], None);

    let s3 = aws.s3();
    let bucket = "chatctl-artifacts-000000000000-us-east-1";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create artifact bucket");
    let zip = placeholder_zip();
    let mut parameters = vec![Parameter::builder()
        .parameter_key("ArtifactBucket")
        .parameter_value(bucket)
        .build()];
    for handler in &crates {
        let key = format!("{}/placeholder.zip", handler.name);
        s3.put_object()
            .bucket(bucket)
            .key(&key)
            .body(zip.clone().into())
            .send()
            .await
            .expect("upload zip");
        parameters.push(
            Parameter::builder()
                .parameter_key(Template::code_key_parameter(handler))
                .parameter_value(key)
                .build(),
        );
    }

    let cfn = aws.cloudformation();
    let stack = project.stack_name();
    cfn.create_stack()
        .stack_name(&stack)
        .template_body(serde_json::to_string(template.as_json()).expect("json"))
        .set_parameters(Some(parameters))
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
        .send()
        .await
        .expect("create_stack");

    let deadline = Instant::now() + Duration::from_secs(120);
    let described = loop {
        let out = cfn
            .describe_stacks()
            .stack_name(&stack)
            .send()
            .await
            .expect("describe_stacks");
        let described = out.stacks()[0].clone();
        if described.stack_status() != Some(&StackStatus::CreateInProgress) {
            break described;
        }
        assert!(Instant::now() < deadline, "stack still creating");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if described.stack_status() != Some(&StackStatus::CreateComplete) {
        let events = cfn
            .describe_stack_events()
            .stack_name(&stack)
            .send()
            .await
            .expect("events");
        let failed: Vec<String> = events
            .stack_events()
            .iter()
            .filter(|e| e.resource_status_reason().is_some())
            .map(|e| {
                format!(
                    "{:?} {:?}: {:?}",
                    e.logical_resource_id(),
                    e.resource_status(),
                    e.resource_status_reason()
                )
            })
            .collect();
        panic!(
            "stack ended in {:?}:\n{}",
            described.stack_status(),
            failed.join("\n")
        );
    }

    let outputs: std::collections::BTreeMap<String, String> = described
        .outputs()
        .iter()
        .map(|o| {
            (
                o.output_key().unwrap_or_default().to_string(),
                o.output_value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let declared: BTreeSet<String> = template.as_json()["Outputs"]
        .as_object()
        .expect("outputs")
        .keys()
        .cloned()
        .collect();
    assert_eq!(outputs.keys().cloned().collect::<BTreeSet<_>>(), declared);
    for (key, value) in &outputs {
        assert!(!value.is_empty(), "output {key} is empty");
    }
    assert!(outputs["SiteUrl"].starts_with("https://"), "{outputs:?}");
    assert!(
        outputs["WebSocketUrl"].starts_with("wss://") && outputs["WebSocketUrl"].ends_with("/dev"),
        "{outputs:?}"
    );
    for handler in &crates {
        let name = &outputs[&format!("{}FunctionName", handler.logical_name())];
        aws.lambda()
            .get_function()
            .function_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("function {name}: {e:?}"));
    }
    assert_ne!(
        outputs["MessagesTableName"],
        outputs["ConnectionsTableName"]
    );
}
