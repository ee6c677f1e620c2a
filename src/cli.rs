//! The command line, parsed with clap. Nothing here does work: `app::run`
//! takes the parsed `Cli` and dispatches to the command modules.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Architecture;

#[derive(Debug, Parser)]
#[command(
    name = "chatctl",
    version,
    about = "Ship a complete serverless chat application to AWS with one command",
    long_about = "chatctl generates the CloudFormation template, builds and zips the Rust Lambda \
handlers, uploads the static web site, creates or updates the stack, wires the event sources \
and invalidates CloudFront.\n\nAWS credentials come from the standard chain: environment \
variables, profiles, SSO, and web identity (OIDC) in CI.",
    after_help = "Exit codes: 0 success, 1 operation failed, 2 usage or configuration error, \
3 deployment failed and was rolled back, 130 interrupted (Ctrl-C, SIGTERM)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts, listed after each command's own.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Configuration file; relative paths inside it are resolved from its directory
    #[arg(
        long,
        global = true,
        env = "CHATCTL_CONFIG",
        default_value = "chatctl.yaml",
        value_name = "FILE"
    )]
    pub config: PathBuf,

    /// Stage to deploy (overrides `stage` in the configuration); stacks are named APP-STAGE
    #[arg(long, global = true, env = "CHATCTL_STAGE", value_name = "NAME")]
    pub stage: Option<String>,

    /// AWS region (overrides `region` in the configuration)
    #[arg(long, global = true, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,

    /// Named AWS profile from ~/.aws/config
    #[arg(long, global = true, env = "AWS_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,

    /// Send every AWS request to this endpoint (a local emulator, a VPC endpoint)
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Target the emulator started by `chatctl local up` (no AWS account needed)
    #[arg(
        long,
        global = true,
        env = "CHATCTL_LOCAL",
        conflicts_with = "endpoint_url"
    )]
    pub local: bool,

    /// Output format of the result on stdout; logs and progress always go to stderr
    #[arg(
        long,
        global = true,
        env = "CHATCTL_OUTPUT",
        value_enum,
        default_value_t = OutputFormat::Text,
        value_name = "FORMAT"
    )]
    pub output: OutputFormat,

    /// More detail on stderr (-vv for AWS request details)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Answer yes to confirmations (required for destructive commands without a terminal)
    #[arg(long, global = true)]
    pub yes: bool,

    /// Plain progress lines instead of progress bars (automatic in CI and without a terminal)
    #[arg(long, global = true, env = "CHATCTL_NO_PROGRESS")]
    pub no_progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text
    Text,
    /// Exactly one JSON document
    Json,
}

impl From<OutputFormat> for crate::output::Format {
    fn from(format: OutputFormat) -> Self {
        match format {
            OutputFormat::Text => crate::output::Format::Text,
            OutputFormat::Json => crate::output::Format::Json,
        }
    }
}

/// `--arch`, in the spelling of `chatctl.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArchArg {
    #[value(name = "x86_64")]
    X86_64,
    Arm64,
}

impl From<ArchArg> for Architecture {
    fn from(arch: ArchArg) -> Self {
        match arch {
            ArchArg::X86_64 => Architecture::X86_64,
            ArchArg::Arm64 => Architecture::Arm64,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new chat project: configuration, handler crates, site and CI workflow
    Init(InitArgs),
    /// Print the CloudFormation template `launch` would deploy
    Template(TemplateArgs),
    /// Build every handler crate (or the named ones) into a Lambda-ready zip
    Build(BuildArgs),
    /// Build, upload and deploy the whole stack, then sync the site
    Launch(LaunchArgs),
    /// Update only the Lambda code of changed handlers, without CloudFormation
    UpdateCode(UpdateCodeArgs),
    /// Sync only the static site and invalidate the changed paths
    UpdateSite(UpdateSiteArgs),
    /// Watch the handlers, the site and the configuration; make each change live
    #[command(
        long_about = "Watch the handler crates, the site directory and the configuration, and make \
each change live until Ctrl-C: a handler whose sources (or a crate or file it reads) changed is \
rebuilt and its function updated, as `update-code` does; changed site files are synced, as \
`update-site` does; a changed configuration runs `launch`, with its change set and its refusal to \
replace a table. Changes within a moment of each other are one update. A failed build prints \
cargo's messages and the watching goes on.\n\nThe stack must have been launched first. Each \
update prints one line on stdout; with `--output json`, one JSON object per line (JSON Lines)."
    )]
    Dev(DevArgs),
    /// Print the stack's outputs (site URL, WebSocket URL, ...)
    Output(OutputArgs),
    /// Show the stack's status, newest events, and whether deployed code matches the build
    Status,
    /// Delete the stack; chat tables are kept unless --purge-data
    Delete(DeleteArgs),
    /// Print the functions' log lines, merged in time order, or follow them
    Logs(LogsArgs),
    /// Invoke a deployed function with an event; print its response and its log's tail
    Invoke(InvokeArgs),
    /// Estimate the stack's monthly cost for a usage profile, per service and driver
    Cost(CostArgs),
    /// Run the local AWS emulator for development without an AWS account
    Local(LocalArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// Document format
    #[arg(long, value_enum, default_value_t = TemplateFormat::Yaml)]
    pub format: TemplateFormat,
    /// Write to FILE instead of stdout
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The edge stack's template instead (the AWS WAF web ACL that
    /// `protection.waf` deploys in us-east-1)
    #[arg(long)]
    pub edge: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplateFormat {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Handlers to build (directory names under the handlers directory); all when none
    #[arg(value_name = "HANDLER")]
    pub handlers: Vec<String>,
    /// Target architecture (overrides `architecture` in the configuration)
    #[arg(long, value_enum)]
    pub arch: Option<ArchArg>,
}

#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// Show the change set summary and stop without deploying
    #[arg(long)]
    pub preview: bool,
    /// Allow a change that replaces or removes a table or the site bucket
    #[arg(long)]
    pub allow_replace: bool,
    /// Wait for the CloudFront invalidation to complete
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct UpdateCodeArgs {
    /// Handlers to update; all when none
    #[arg(value_name = "HANDLER")]
    pub handlers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateSiteArgs {
    /// Wait for the CloudFront invalidation to complete
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct DevArgs {}

/// Usage overrides; each defaults to `cost:` in the configuration.
#[derive(Debug, Args)]
pub struct CostArgs {
    /// Price the configuration, not the deployed stack (nothing needs to be deployed)
    #[arg(long)]
    pub plan: bool,
    /// A price table of the same shape as `--output json`'s `prices` (another region, other rates)
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Also show what the account's always-free tier would take off (shared with everything else in the account)
    #[arg(long)]
    pub free_tier: bool,
    /// Also price what CloudWatch counted over the last 7 days, as a month
    #[arg(long, conflicts_with = "plan")]
    pub observed: bool,
    /// Messages sent per day, all rooms together
    #[arg(long, value_name = "N")]
    pub messages_per_day: Option<f64>,
    /// Connections in the room of an average message
    #[arg(long, value_name = "N")]
    pub room_size: Option<f64>,
    /// People who open the chat on a day
    #[arg(long, value_name = "N")]
    pub people_per_day: Option<f64>,
    /// Hours each person stays connected per day
    #[arg(long, value_name = "HOURS")]
    pub connected_hours_per_person: Option<f64>,
    /// Times each person joins a room per day
    #[arg(long, value_name = "N")]
    pub joins_per_person: Option<f64>,
    /// Page loads per day
    #[arg(long, value_name = "N")]
    pub page_views_per_day: Option<f64>,
    /// The average message's text, in bytes
    #[arg(long, value_name = "BYTES")]
    pub message_bytes: Option<f64>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to create the project in (made when missing)
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// The app's name (stacks are named APP-STAGE); the directory's name by default
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    /// Write into a directory that is not empty, replacing files of the same names
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print only this output's value
    #[arg(value_name = "KEY")]
    pub key: Option<String>,
    /// `env` prints KEY=value lines, for `>> $GITHUB_OUTPUT`
    #[arg(long, value_enum)]
    pub format: Option<OutputsFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputsFormat {
    /// KEY=value lines
    Env,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Also delete the chat tables and every message in them
    #[arg(long)]
    pub purge_data: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Handlers whose logs to read; all when none
    #[arg(value_name = "HANDLER")]
    pub handlers: Vec<String>,
    /// How far back to start: 30s, 10m, 2h, 1d
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = duration)]
    pub since: std::time::Duration,
    /// Keep printing new lines until Ctrl-C; with `--output json`, one JSON
    /// object per line (JSON Lines) instead of one array
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only the lines matching this CloudWatch Logs filter pattern
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
}

fn duration(value: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(value)
        .map_err(|e| format!("{e}: write a duration such as 30s, 10m, 2h or 1d"))
}

#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// The handler whose function to invoke (the sample's when --sample names one)
    #[arg(value_name = "HANDLER")]
    pub handler: Option<String>,
    /// The event: a JSON file, or `-` for stdin
    #[arg(long, value_name = "FILE", conflicts_with = "sample")]
    pub event: Option<PathBuf>,
    /// A bundled sample event; `--sample` alone lists them. Without --event
    /// or --sample, the handler's first sample is sent
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    pub sample: Option<String>,
}

impl InvokeArgs {
    /// `--sample` with no name: list the samples, invoke nothing.
    pub fn lists_samples(&self) -> bool {
        self.sample.as_deref() == Some("")
    }
}

#[derive(Debug, Args)]
pub struct LocalArgs {
    #[command(subcommand)]
    pub action: LocalAction,
}

#[derive(Debug, Subcommand)]
pub enum LocalAction {
    /// Install (first time) and start the emulator on 127.0.0.1
    Up {
        /// Port to listen on
        #[arg(long, default_value_t = 4566)]
        port: u16,
    },
    /// Stop the emulator started by `local up`
    Down,
    /// Tell whether the emulator is running, and where
    Status,
    /// Serve a deployed stack's site to a browser on this machine (started by `launch --local`)
    #[command(hide = true)]
    ServeSite {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        emulator_port: u16,
        #[arg(long)]
        site_bucket: String,
        #[arg(long)]
        http_api_id: String,
    },
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate the script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
