//! Dispatch: runs the parsed command and turns its result into stdout, stderr
//! and an exit status.

use std::io::Write;

use crate::aws::{Aws, AwsOptions};
use crate::cli::{Cli, Command};
use crate::commands;
use crate::config::Project;
use crate::deploy::checkpoint::{Checkpoint, Stage};
use crate::error::{Error, ExitStatus, Result};
use crate::local::Browser;
use crate::output::{error_document, Report};
use crate::ui::Ui;

/// Runs one chatctl invocation and returns the process exit status.
pub async fn run(cli: Cli) -> ExitStatus {
    let global = &cli.global;
    let ui = Ui::new(global.verbose, global.quiet, global.no_progress);
    let format = crate::output::Format::from(global.output);
    let checkpoint = Checkpoint::default();
    // The command runs as a task of its own, so an interruption is noticed
    // even while the command waits on AWS or a build.
    let work = tokio::spawn({
        let (ui, checkpoint) = (ui.clone(), checkpoint.clone());
        async move { execute(&cli, &ui, &checkpoint).await }
    });
    let stop = work.abort_handle();
    let outcome = tokio::select! {
        joined = work => joined.unwrap_or_else(|e| {
            Err(Error::failed(format!("chatctl stopped unexpectedly: {e}")))
        }),
        signal = interruption() => {
            stop.abort();
            if matches!(checkpoint.get(), Stage::Following | Stage::Watching) {
                // What was followed or done is on stdout already.
                return ExitStatus::Success;
            }
            ui.error(format!("{signal}: stopping"));
            Err(Error::Interrupted(checkpoint.interrupted(&ui).await))
        }
    };
    match outcome {
        Ok(report) => {
            if let Err(e) = write_stdout(&report.render(format)) {
                ui.error(format!("cannot write to stdout: {e}"));
                return ExitStatus::Failed;
            }
            ExitStatus::Success
        }
        Err(error) => {
            ui.error(error.report());
            if format == crate::output::Format::Json {
                // A broken stdout cannot be reported anywhere better than stderr, done above.
                let _ = write_stdout(&error_document(&error));
            }
            error.exit_status()
        }
    }
}

/// Waits for Ctrl-C or SIGTERM (a cancelled CI job); never, if neither can be watched.
async fn interruption() -> &'static str {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        Ok(()) = tokio::signal::ctrl_c() => "interrupted (Ctrl-C)",
        () = terminate => "terminated (SIGTERM)",
    }
}

async fn execute(cli: &Cli, ui: &Ui, checkpoint: &Checkpoint) -> Result<Report> {
    // Commands that work on a project report a bad configuration (exit 2)
    // before doing anything else, including those not built yet.
    let project = || Project::load(&cli.global.config, cli.global.stage.as_deref());
    match &cli.command {
        Command::Completions(args) => commands::completions::run(args),
        Command::Init(args) => commands::init::run(args),
        Command::Local(args) => commands::local::run(&cli.global, args, ui).await,
        Command::Template(args) => commands::template::run(&project()?, args, ui),
        Command::Build(args) => commands::build::run(&project()?, args, ui),
        Command::Launch(args) => {
            let project = project()?;
            let (aws, browser) = connect(cli, &project).await?;
            checkpoint.connected(&aws);
            commands::launch::run(&project, &aws, browser, args, checkpoint, ui).await
        }
        Command::Output(args) => {
            let project = project()?;
            let (aws, browser) = connect(cli, &project).await?;
            commands::output::run(&project, &aws, &browser, args).await
        }
        Command::Status => {
            let project = project()?;
            commands::status::run(&project, &connect(cli, &project).await?.0).await
        }
        Command::Delete(args) => {
            let project = project()?;
            let (aws, browser) = connect(cli, &project).await?;
            checkpoint.connected(&aws);
            commands::delete::run(
                &project,
                &aws,
                &browser,
                args,
                cli.global.yes,
                checkpoint,
                ui,
            )
            .await
        }
        Command::Logs(args) => {
            let project = project()?;
            let (aws, _) = connect(cli, &project).await?;
            let format = crate::output::Format::from(cli.global.output);
            commands::logs::run(&project, &aws, args, format, checkpoint).await
        }
        Command::Cost(args) if args.plan => {
            let project = project()?;
            // No AWS call: the region is the one a launch would use, as far
            // as it is known without loading the AWS profile.
            let region = cli
                .global
                .region
                .clone()
                .or_else(|| project.config.region.clone())
                .or_else(|| std::env::var("AWS_REGION").ok())
                .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok());
            commands::cost::run(&project, None, region.as_deref(), args).await
        }
        Command::Cost(args) => {
            let project = project()?;
            let (aws, _) = connect(cli, &project).await?;
            let region = aws.region().map(str::to_string);
            commands::cost::run(&project, Some(&aws), region.as_deref(), args).await
        }
        Command::Invoke(args) if args.lists_samples() => Ok(commands::invoke::samples()),
        Command::Invoke(args) => {
            let project = project()?;
            let (aws, _) = connect(cli, &project).await?;
            commands::invoke::run(&project, &aws, args, ui).await
        }
        Command::UpdateCode(args) => {
            let project = project()?;
            let (aws, _) = connect(cli, &project).await?;
            checkpoint.set(Stage::UpdatingCode);
            commands::update::code(&project, &aws, args, ui).await
        }
        Command::Dev(_) => {
            let project = project()?;
            let (aws, browser) = connect(cli, &project).await?;
            checkpoint.connected(&aws);
            let options = crate::dev::DevOptions {
                config: cli.global.config.clone(),
                stage: cli.global.stage.clone(),
                browser,
                checkpoint: checkpoint.clone(),
            };
            let format = crate::output::Format::from(cli.global.output);
            commands::dev::run(project, &aws, &options, format, ui).await
        }
        Command::UpdateSite(args) => {
            let project = project()?;
            let (aws, browser) = connect(cli, &project).await?;
            checkpoint.connected(&aws);
            commands::update::site(&project, &aws, &browser, args, checkpoint, ui).await
        }
    }
}

/// AWS clients for a project: `--region`/`AWS_REGION` win over the
/// configuration's region, which wins over the profile's. Under `--local`,
/// the emulator from `chatctl local up`, with its fixed region and credentials.
async fn connect(cli: &Cli, project: &Project) -> Result<(Aws, Browser)> {
    if cli.global.local {
        let dir = crate::local::LocalDir::for_config(&cli.global.config);
        let state = dir.require()?;
        let aws = Aws::load(&AwsOptions {
            profile: None,
            region: Some(crate::local::REGION.to_string()),
            endpoint_url: Some(state.endpoint()),
            credentials: Some(aws_credential_types::Credentials::new(
                "test",
                "test",
                None,
                None,
                "chatctl-local",
            )),
        })
        .await;
        let local = crate::local::target(&dir, &state, &project.stack_name())?;
        return Ok((aws, Browser::Local(local)));
    }
    let aws = Aws::load(&AwsOptions {
        profile: cli.global.profile.clone(),
        region: cli
            .global
            .region
            .clone()
            .or_else(|| project.config.region.clone()),
        endpoint_url: cli.global.endpoint_url.clone(),
        credentials: None,
    })
    .await;
    aws.check_region()?;
    Ok((aws, Browser::Aws))
}

fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}
