//! The CloudFormation template: the sources in `stack-templates/`, one
//! function per handler crate, and the values from `chatctl.yaml`.
//!
//! The document is built as data (serde_yaml parses the sources, serde_json
//! holds the result) and serialized once, never assembled from strings.

pub mod auth;
pub mod edge;
mod intrinsics;
pub mod origin;

use serde_json::{json, Map, Value};

use crate::config::Project;
use crate::error::{Error, Result};
use crate::handlers::HandlerCrate;

/// The stack without functions.
const BASE: &str = include_str!("../../stack-templates/chat.yaml");
/// One function, role and log group; instantiated per handler crate.
const FUNCTION: &str = include_str!("../../stack-templates/function.yaml");
/// Each handler's permissions and event-source wiring, by crate name.
const FUNCTIONS: &[(&str, &str)] = &[
    (
        "connect",
        include_str!("../../stack-templates/functions/connect.yaml"),
    ),
    (
        "disconnect",
        include_str!("../../stack-templates/functions/disconnect.yaml"),
    ),
    (
        "fanout",
        include_str!("../../stack-templates/functions/fanout.yaml"),
    ),
    (
        "http",
        include_str!("../../stack-templates/functions/http.yaml"),
    ),
    (
        "ingest",
        include_str!("../../stack-templates/functions/ingest.yaml"),
    ),
    (
        "message",
        include_str!("../../stack-templates/functions/message.yaml"),
    ),
    (
        "notify",
        include_str!("../../stack-templates/functions/notify.yaml"),
    ),
];

/// Ends every stack description chatctl writes: how it recognises its own
/// stacks (and leaves another tool's stack of the same name alone).
pub const DESCRIPTION_MARK: &str = "deployed by chatctl";

/// Logical ids of the tables that hold chat data: kept by `delete` unless
/// purged, and reattached by the next launch.
pub const TABLES: &[&str] = &["MessagesTable", "ConnectionsTable", "SubscriptionsTable"];

/// The SSM parameter holding the stack's VAPID private key, as the
/// template names it (`deploy::vapid` writes it under the stack's name).
pub const VAPID_PARAMETER: &str = "/chatctl/${AWS::StackName}/vapid-private-key";

/// A generated template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template(Value);

impl Template {
    /// A template chatctl derived from its own (`deploy::indexes` steps).
    pub fn from_json(template: Value) -> Template {
        Template(template)
    }

    pub fn as_json(&self) -> &Value {
        &self.0
    }

    pub fn to_json_string(&self) -> String {
        // A `Value` always serializes: its map keys are strings.
        serde_json::to_string_pretty(&self.0).unwrap_or_default() + "\n"
    }

    pub fn to_yaml_string(&self) -> Result<String> {
        serde_yaml::to_string(&self.0)
            .map_err(|e| Error::failed(format!("cannot write the template as YAML: {e}")))
    }

    /// The parameter naming the S3 key of a handler's zip.
    pub fn code_key_parameter(handler: &HandlerCrate) -> String {
        format!("{}CodeKey", handler.logical_name())
    }
}

/// Builds the template for a project and its handler crates.
pub fn generate(project: &Project, handlers: &[HandlerCrate]) -> Result<Template> {
    check_handlers(handlers)?;
    let mut template = source("chat.yaml", BASE)?;
    for handler in handlers {
        add_function(&mut template, handler)?;
    }
    apply_configuration(&mut template, project)?;
    auth::sign_in(&mut template, project)?;
    edge::protect(&mut template, project);
    Ok(Template(template))
}

/// Every handler needs a known wiring, and the chat needs every handler.
fn check_handlers(handlers: &[HandlerCrate]) -> Result<()> {
    let known: Vec<&str> = FUNCTIONS.iter().map(|(name, _)| *name).collect();
    if let Some(unknown) = handlers.iter().find(|h| !known.contains(&h.name.as_str())) {
        return Err(Error::usage(format!(
            "handler crate `{}` ({}) has no stack template: chatctl knows how to wire {}",
            unknown.name,
            unknown.dir.display(),
            known.join(", ")
        )));
    }
    let missing: Vec<&str> = known
        .iter()
        .copied()
        .filter(|name| !handlers.iter().any(|h| h.name == *name))
        .collect();
    if !missing.is_empty() {
        return Err(Error::usage(format!(
            "the chat needs the handler crates {} under the handlers directory; missing: {}",
            known.join(", "),
            missing.join(", ")
        )));
    }
    Ok(())
}

/// Parses a template source and expands its short-form tags.
fn source(name: &str, text: &str) -> Result<Value> {
    let invalid = |e: String| Error::failed(format!("stack-templates/{name}: {e}"));
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let expanded = intrinsics::expand(yaml).map_err(invalid)?;
    serde_json::to_value(expanded).map_err(|e| invalid(e.to_string()))
}

fn add_function(template: &mut Value, handler: &HandlerCrate) -> Result<()> {
    let wiring_source = FUNCTIONS
        .iter()
        .find(|(name, _)| *name == handler.name)
        .map(|(_, text)| *text)
        .unwrap_or_default();
    let mut function = source("function.yaml", FUNCTION)?;
    let mut wiring = source(&format!("functions/{}.yaml", handler.name), wiring_source)?;
    instantiate(&mut function, handler);
    instantiate(&mut wiring, handler);

    let logical = handler.logical_name();
    let statements = wiring.get("Statements").cloned().unwrap_or(json!([]));
    let role = &mut function["Resources"][format!("{logical}Role")]["Properties"]["Policies"];
    if let Some(policies) = role.as_array_mut() {
        if statements.as_array().is_some_and(|s| s.is_empty()) {
            policies.truncate(1); // IAM refuses a policy without statements
        } else if let Some(own) = policies.get_mut(1) {
            own["PolicyDocument"]["Statement"] = statements;
        }
    }
    if let Some(Value::Object(extra)) = wiring.get("Function") {
        let properties = &mut function["Resources"][format!("{logical}Function")]["Properties"];
        for (key, value) in extra {
            properties[key] = value.clone();
        }
    }
    for section in ["Parameters", "Resources", "Outputs"] {
        merge_section(template, &function, section)?;
        merge_section(template, &wiring, section)?;
    }
    Ok(())
}

/// Adds `from[section]`'s entries to `into[section]`, refusing duplicate ids.
fn merge_section(into: &mut Value, from: &Value, section: &str) -> Result<()> {
    let Some(Value::Object(entries)) = from.get(section) else {
        return Ok(());
    };
    if into.get(section).is_none() {
        into[section] = Value::Object(Map::new());
    }
    let target = into[section]
        .as_object_mut()
        .ok_or_else(|| Error::failed(format!("template {section} is not a mapping")))?;
    for (id, value) in entries {
        if target.insert(id.clone(), value.clone()).is_some() {
            return Err(Error::failed(format!(
                "template {section}: `{id}` is defined twice"
            )));
        }
    }
    Ok(())
}

/// Replaces the placeholders of function.yaml and functions/*.yaml:
/// `HANDLER` (logical ids) and `{handler}` (text).
fn instantiate(value: &mut Value, handler: &HandlerCrate) {
    let logical = handler.logical_name();
    let replace = |text: &str| {
        text.replace("HANDLER", &logical)
            .replace("{handler}", &handler.name)
    };
    match value {
        Value::String(text) => *text = replace(text),
        Value::Array(items) => items.iter_mut().for_each(|v| instantiate(v, handler)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut child) in entries {
                instantiate(&mut child, handler);
                map.insert(replace(&key), child);
            }
        }
        _ => {}
    }
}

/// Sets every value that comes from `chatctl.yaml` and the stage.
fn apply_configuration(template: &mut Value, project: &Project) -> Result<()> {
    let config = &project.config;
    template["Description"] = json!(format!(
        "Serverless chat {} ({}) {DESCRIPTION_MARK}",
        config.app, project.stage
    ));

    let data_policy = if config.data.retain {
        "Retain"
    } else {
        "Delete"
    };
    let resources = &mut template["Resources"];
    for table in TABLES {
        resources[*table]["DeletionPolicy"] = json!(data_policy);
        resources[*table]["UpdateReplacePolicy"] = json!(data_policy);
    }
    resources["WebSocketStage"]["Properties"]["StageName"] = json!(project.stage.0);
    // Lambda refuses a queue event source whose visibility timeout is under
    // the function's timeout; AWS advises six times it (at most 12 hours).
    for queue in ["DeliveryQueue", "NotifyQueue"] {
        resources[queue]["Properties"]["VisibilityTimeout"] =
            json!((6 * config.handlers.timeout_seconds.0).min(43_200));
    }
    if let Some(name) = &config.site_bucket_name {
        let name = name.for_stage(&project.stage).map_err(Error::usage)?;
        resources["SiteBucket"]["Properties"]["BucketName"] = json!(name);
    }

    let limits = config.chat.limits().to_env();
    if let Some(resources) = resources.as_object_mut() {
        for resource in resources.values_mut() {
            match resource["Type"].as_str() {
                Some("AWS::Lambda::Function") => {
                    let properties = &mut resource["Properties"];
                    properties["Architectures"] = json!([config.architecture.lambda_name()]);
                    properties["MemorySize"] = json!(config.handlers.memory_mb.0);
                    properties["Timeout"] = json!(config.handlers.timeout_seconds.0);
                    let variables = &mut properties["Environment"]["Variables"];
                    for (name, value) in &limits {
                        variables[*name] = json!(value);
                    }
                }
                Some("AWS::Logs::LogGroup") => {
                    resource["Properties"]["RetentionInDays"] =
                        json!(config.handlers.log_retention_days.0);
                }
                _ => {}
            }
        }
    }

    // The HTTP API refuses posts from other sites' pages; old browsers send
    // only an Origin, compared with the site's own.
    let mut origins = vec![json!({"Fn::Sub": "https://${Distribution.DomainName}"})];
    if let Some(domain) = &config.domain {
        origins.push(json!(format!("https://{}", domain.name.0)));
    }
    if let Some(http) = template["Resources"].get_mut("HttpFunction") {
        let variables = &mut http["Properties"]["Environment"]["Variables"];
        variables["SITE_ORIGINS"] = json!({"Fn::Join": [",", origins]});
        // The secret CloudFront adds as `X-Origin-Verify` (chat.yaml).
        variables[origin::ORIGIN_VERIFY_VARIABLE] = json!({
            "Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecret}:SecretString}}"
        });
    }
    // The two functions that read and write author tokens get the key they
    // are sealed under (handlers' `sealed`); no other function does.
    for function in ["ConnectFunction", "MessageFunction"] {
        if let Some(function) = template["Resources"].get_mut(function) {
            function["Properties"]["Environment"]["Variables"]["TOKEN_KEY"] = json!({
                "Fn::Sub": "{{resolve:secretsmanager:${TokenKeySecret}:SecretString}}"
            });
        }
    }

    // The notify function reads the VAPID key from the parameter chatctl
    // writes (deploy::vapid), and names the site to push services.
    if let Some(notify) = template["Resources"].get_mut("NotifyFunction") {
        let variables = &mut notify["Properties"]["Environment"]["Variables"];
        variables["VAPID_PARAMETER"] = json!({"Fn::Sub": VAPID_PARAMETER});
        variables["VAPID_SUBJECT"] = match &config.domain {
            Some(domain) => json!(format!("https://{}", domain.name.0)),
            None => json!({"Fn::Sub": "https://${Distribution.DomainName}"}),
        };
    }

    if let Some(domain) = &config.domain {
        let distribution =
            &mut template["Resources"]["Distribution"]["Properties"]["DistributionConfig"];
        distribution["Aliases"] = json!([domain.name.0]);
        distribution["ViewerCertificate"] = json!({
            "AcmCertificateArn": domain.certificate_arn.0,
            "SslSupportMethod": "sni-only",
            "MinimumProtocolVersion": "TLSv1.2_2021",
        });
        template["Outputs"]["SiteUrl"]["Value"] = json!(format!("https://{}", domain.name));
    }
    Ok(())
}
