//! `update-code`: new handler code straight into Lambda, without
//! CloudFormation, for the seconds-long inner loop.

use std::time::{Duration, Instant};

use aws_sdk_lambda::types::{Architecture as LambdaArchitecture, LastUpdateStatus};

use crate::aws::{aws_error, Aws};
use crate::build::{self, BuiltHandler};
use crate::config::{Architecture, Project};
use crate::deploy::{artifacts, deployed_outputs};
use crate::error::{Error, Result};
use crate::ui::Ui;

/// What happened to one function.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodeUpdate {
    pub handler: String,
    pub function: String,
    pub updated: bool,
    pub code_sha256: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CodeResult {
    pub functions: Vec<CodeUpdate>,
    /// Time spent in cargo and packaging.
    pub build_ms: u128,
    /// Time spent talking to AWS, waits included.
    pub deploy_ms: u128,
}

/// How long one function may take to finish updating.
const UPDATE_WAIT: Duration = Duration::from_secs(5 * 60);

pub async fn update_code(
    project: &Project,
    aws: &Aws,
    names: &[String],
    ui: &Ui,
) -> Result<CodeResult> {
    let identity = aws.identity().await?;
    let outputs = deployed_outputs(aws, project).await?;
    let architecture = project.config.architecture;
    let functions = crate::functions::deployed(project, &outputs, names)?;

    // Every function is read, and a wrong architecture refused, before the
    // build: a refusal takes a second, not a compile.
    let mut deployed = Vec::new();
    for function in functions {
        let code_sha256 =
            deployed_code(aws, &function.handler, &function.function, architecture).await?;
        deployed.push((function.handler, function.function, code_sha256));
    }

    let started = Instant::now();
    let built = tokio::task::block_in_place(|| build::build(project, names, architecture, ui))?;
    let build_ms = started.elapsed().as_millis();

    let started = Instant::now();
    let bucket = artifacts::bucket_name(&identity, &project.stack_name());
    let mut jobs = tokio::task::JoinSet::new();
    for (name, function, deployed_sha256) in deployed {
        let zip = built
            .manifest
            .handlers
            .get(&name)
            .cloned()
            .ok_or_else(|| Error::failed(format!("the build produced no zip for {name}")))?;
        let (aws, bucket, ui) = (aws.clone(), bucket.clone(), ui.clone());
        jobs.spawn(async move {
            let target = Target {
                handler: &name,
                function: &function,
                deployed_sha256: deployed_sha256.as_deref(),
            };
            update_one(&aws, &bucket, target, &zip, &ui).await
        });
    }
    let mut functions = Vec::new();
    let mut failures = Vec::new();
    while let Some(done) = jobs.join_next().await {
        match done.map_err(|e| Error::failed(format!("an update task failed: {e}")))? {
            Ok(update) => functions.push(update),
            Err(e) => failures.push(e.to_string()),
        }
    }
    if !failures.is_empty() {
        return Err(Error::failed(failures.join("\n")));
    }
    functions.sort_by(|a, b| a.handler.cmp(&b.handler));
    Ok(CodeResult {
        functions,
        build_ms,
        deploy_ms: started.elapsed().as_millis(),
    })
}

/// Reads a function's configuration, refuses another architecture than the
/// configured one, and returns the deployed code's SHA-256.
async fn deployed_code(
    aws: &Aws,
    handler: &str,
    function: &str,
    architecture: Architecture,
) -> Result<Option<String>> {
    let deployed = crate::functions::configuration(aws, function).await?;
    let deployed_arch = match deployed.architectures().first() {
        Some(LambdaArchitecture::Arm64) => Architecture::Arm64,
        _ => Architecture::X86_64,
    };
    if deployed_arch != architecture {
        return Err(Error::failed(format!(
            "function {function} ({handler}) runs on {deployed_arch}, but the build is for {architecture}: run `chatctl launch` to change the architecture"
        )));
    }
    Ok(deployed.code_sha256().map(str::to_string))
}

/// One function to update.
struct Target<'a> {
    handler: &'a str,
    function: &'a str,
    deployed_sha256: Option<&'a str>,
}

async fn update_one(
    aws: &Aws,
    bucket: &str,
    target: Target<'_>,
    zip: &BuiltHandler,
    ui: &Ui,
) -> Result<CodeUpdate> {
    let Target {
        handler,
        function,
        deployed_sha256,
    } = target;
    let lambda = aws.lambda();
    let unchanged = CodeUpdate {
        handler: handler.to_string(),
        function: function.to_string(),
        updated: false,
        code_sha256: zip.code_sha256.clone(),
    };
    if deployed_sha256 == Some(zip.code_sha256.as_str()) {
        return Ok(unchanged);
    }
    // The same content key launch uses: a later launch deploys this very zip
    // instead of rolling the function back.
    let key = zip.artifact_key(handler);
    let s3 = aws.s3();
    if !artifacts::object_exists(&s3, bucket, &key).await? {
        let body = std::fs::read(&zip.zip).map_err(|e| Error::read(&zip.zip, e))?;
        artifacts::upload(&s3, bucket, &key, body).await?;
    }
    lambda
        .update_function_code()
        .function_name(function)
        .s3_bucket(bucket)
        .s3_key(&key)
        .send()
        .await
        .map_err(|e| aws_error(&format!("updating the code of {function}"), e))?;

    let deadline = Instant::now() + UPDATE_WAIT;
    loop {
        let state = lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await;
        if let Ok(state) = state {
            match state.last_update_status() {
                Some(LastUpdateStatus::Successful) | None => break,
                Some(LastUpdateStatus::Failed) => {
                    return Err(Error::failed(format!(
                        "the code update of {function} ({handler}) failed: {}",
                        state
                            .last_update_status_reason()
                            .unwrap_or("Lambda gave no reason")
                    )))
                }
                _ => {}
            }
        } // a transient read error: try again until the deadline
        if Instant::now() > deadline {
            return Err(Error::failed(format!(
                "{function} was still updating after {} minutes",
                UPDATE_WAIT.as_secs() / 60
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ui.info(format!("updated {handler} ({function})"));
    Ok(CodeUpdate {
        updated: true,
        ..unchanged
    })
}
