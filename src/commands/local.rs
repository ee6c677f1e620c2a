//! `chatctl local up|down|status`: the emulator for development without an
//! AWS account (see `crate::local`).

use serde_json::json;

use crate::cli::{GlobalArgs, LocalAction, LocalArgs};
use crate::error::Result;
use crate::local::{self, proxy, LocalDir};
use crate::output::Report;
use crate::ui::Ui;

pub async fn run(global: &GlobalArgs, args: &LocalArgs, ui: &Ui) -> Result<Report> {
    let dir = LocalDir::for_config(&global.config);
    match &args.action {
        LocalAction::Up { port } => up(&dir, *port, ui),
        LocalAction::Down => down(&dir),
        LocalAction::Status => status(&dir),
        LocalAction::ServeSite {
            port,
            emulator_port,
            site_bucket,
            http_api_id,
        } => {
            let routes = proxy::Routes {
                emulator_port: *emulator_port,
                site_bucket: site_bucket.clone(),
                http_api_id: http_api_id.clone(),
                // From the environment, never the command line (`ps` shows that).
                origin_verify: std::env::var(ORIGIN_VERIFY_ENV)
                    .ok()
                    .filter(|v| !v.is_empty()),
            };
            proxy::serve(*port, routes).await?;
            Ok(Report::new(String::new(), json!({})))
        }
    }
}

/// How `launch --local` hands the site proxy the origin secret.
pub const ORIGIN_VERIFY_ENV: &str = "CHATCTL_ORIGIN_VERIFY";

fn up(dir: &LocalDir, port: u16, ui: &Ui) -> Result<Report> {
    if let Some(state) = dir.running()? {
        return Ok(running_report(
            &state,
            "the local emulator is already running",
            false,
        ));
    }
    local::install(dir, &|line| ui.info(line))?;
    ui.info(format!("starting the emulator on 127.0.0.1:{port}"));
    let state = local::start(dir, port)?;
    Ok(running_report(
        &state,
        "the local emulator is running",
        true,
    ))
}

fn running_report(state: &local::LocalState, headline: &str, started: bool) -> Report {
    let endpoint = state.endpoint();
    Report::new(
        format!(
            "{headline} at {endpoint} (pid {})\nnext: chatctl --local launch\n",
            state.pid
        ),
        json!({
            "running": true,
            "started": started,
            "pid": state.pid,
            "port": state.port,
            "endpoint": endpoint,
        }),
    )
}

fn down(dir: &LocalDir) -> Result<Report> {
    let Some(state) = dir.running()? else {
        return Ok(Report::new(
            "the local emulator is not running: nothing to stop\n".to_string(),
            json!({ "running": false, "stopped": false }),
        ));
    };
    local::stop(dir, &state)?;
    Ok(Report::new(
        format!(
            "stopped the local emulator (pid {}); its data is gone\n",
            state.pid
        ),
        json!({ "running": false, "stopped": true, "pid": state.pid }),
    ))
}

fn status(dir: &LocalDir) -> Result<Report> {
    match dir.running()? {
        Some(state) => {
            let healthy = local::healthy(state.port);
            let sites: serde_json::Map<String, serde_json::Value> = state
                .sites
                .iter()
                .map(|(stack, site)| {
                    (
                        stack.clone(),
                        json!(format!("http://127.0.0.1:{}/", site.port)),
                    )
                })
                .collect();
            let mut text = format!(
                "the local emulator is running at {} (pid {}){}\n",
                state.endpoint(),
                state.pid,
                if healthy {
                    ""
                } else {
                    ", but not answering its health check"
                }
            );
            for (stack, url) in &sites {
                text.push_str(&format!(
                    "  {stack}: {}\n",
                    url.as_str().unwrap_or_default()
                ));
            }
            Ok(Report::new(
                text,
                json!({
                    "running": true,
                    "healthy": healthy,
                    "pid": state.pid,
                    "port": state.port,
                    "endpoint": state.endpoint(),
                    "sites": sites,
                }),
            ))
        }
        None => Ok(Report::new(
            "the local emulator is not running: start it with `chatctl local up`\n".to_string(),
            json!({ "running": false }),
        )),
    }
}
