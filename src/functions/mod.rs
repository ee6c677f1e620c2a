//! The stack's deployed functions, for the commands that operate them:
//! which function serves each handler, their logs (`logs`), and invoking
//! one with an event (`invoke`, with the bundled `samples`).

pub mod invoke;
pub mod logs;
pub mod samples;

use std::collections::BTreeMap;

use crate::aws::{aws_error, Aws};
use crate::build;
use crate::config::Project;
use crate::error::{Error, Result};
use crate::handlers;

/// A handler and the Lambda function the stack runs it as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// The crate's directory name (`message`).
    pub handler: String,
    /// The function's name in Lambda.
    pub function: String,
}

/// The deployed functions of `names` (every handler crate when empty),
/// from the stack's outputs; an unknown name is a usage error, a handler
/// the stack lacks says to launch.
pub fn deployed(
    project: &Project,
    outputs: &BTreeMap<String, String>,
    names: &[String],
) -> Result<Vec<Deployed>> {
    let crates = build::select(handlers::discover(&project.handlers_dir())?, names)?;
    crates
        .into_iter()
        .map(|handler| {
            let key = format!("{}FunctionName", handler.logical_name());
            let function = outputs.get(&key).cloned().ok_or_else(|| {
                Error::failed(format!(
                    "the stack has no function for handler {} (output {key})",
                    handler.name
                ))
                .with_hint("run `chatctl launch` to deploy it")
            })?;
            Ok(Deployed {
                handler: handler.name,
                function,
            })
        })
        .collect()
}

/// Refuses a name that is not one of the project's handler crates.
pub fn known(project: &Project, handler: &str) -> Result<()> {
    build::select(
        handlers::discover(&project.handlers_dir())?,
        &[handler.to_string()],
    )
    .map(|_| ())
}

/// A deployed function's configuration (its code hash, architecture,
/// environment and logging).
pub async fn configuration(
    aws: &Aws,
    function: &str,
) -> Result<aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput> {
    aws.lambda()
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|e| aws_error(&format!("reading function {function}"), e))
}

/// Where a function writes its logs: its `LoggingConfig.LogGroup`, or
/// Lambda's default group for it.
pub async fn log_group(aws: &Aws, function: &str) -> Result<String> {
    Ok(configuration(aws, function)
        .await?
        .logging_config()
        .and_then(|logging| logging.log_group())
        .map(str::to_string)
        .unwrap_or_else(|| format!("/aws/lambda/{function}")))
}
