//! `chatctl dev`: watch and make each change live (`dev::dev`).

use crate::aws::Aws;
use crate::config::Project;
use crate::dev::{self, DevEvent, DevOptions};
use crate::error::{Error, Result};
use crate::output::{Format, Report};
use crate::ui::Ui;

pub async fn run(
    project: Project,
    aws: &Aws,
    options: &DevOptions,
    format: Format,
    ui: &Ui,
) -> Result<Report> {
    dev::dev(project, aws, options, ui, &mut |event| {
        let line = match format {
            Format::Json => serde_json::to_string(event).unwrap_or_default(),
            Format::Text => text_line(event),
        };
        crate::output::stream_line(&line);
    })
    .await?;
    Err(Error::failed("the watching ended"))
}

fn text_line(event: &DevEvent) -> String {
    let seconds = |ms: u128| format!("{:.1} s", ms as f64 / 1000.0);
    let list = |names: &[String]| {
        if names.is_empty() {
            "nothing".to_string()
        } else {
            names.join(", ")
        }
    };
    match event {
        DevEvent::Watching { paths } => format!("watching {} (Ctrl-C stops)", paths.join(", ")),
        DevEvent::Code {
            changed,
            updated,
            build_ms,
            deploy_ms,
            ..
        } => format!(
            "{}: updated {} (build {}, update {})",
            list(changed),
            list(updated),
            seconds(*build_ms),
            seconds(*deploy_ms)
        ),
        DevEvent::Site {
            changed,
            uploaded,
            deleted,
            ms,
            ..
        } => {
            let deleted = if deleted.is_empty() {
                String::new()
            } else {
                format!(", deleted {}", deleted.join(", "))
            };
            format!(
                "{}: uploaded {}{deleted} ({})",
                list(changed),
                list(uploaded),
                seconds(*ms)
            )
        }
        DevEvent::Launch {
            changed,
            changes,
            stack_updated,
            ms,
        } => format!(
            "{}: launched, {} ({})",
            list(changed),
            if *stack_updated {
                format!("{} stack changes applied", changes.len())
            } else {
                "the stack was up to date".to_string()
            },
            seconds(*ms)
        ),
        DevEvent::Failed {
            changed,
            during,
            message,
            hint,
        } => {
            let hint = hint
                .as_deref()
                .map(|hint| format!("\n  hint: {hint}"))
                .unwrap_or_default();
            format!(
                "{}: {during} failed, still watching: {message}{hint}",
                list(changed)
            )
        }
    }
}
