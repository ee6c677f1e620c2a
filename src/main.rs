use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = chatctl::cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(chatctl::ExitStatus::Failed.code());
        }
    };
    let status = runtime.block_on(chatctl::app::run(cli));
    // Do not wait for work an interruption abandoned (a build in progress).
    runtime.shutdown_background();
    ExitCode::from(status.code())
}
