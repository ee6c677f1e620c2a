//! `chatctl delete [--yes] [--purge-data]`: asks first (or requires
//! `--yes` without a terminal), then `deploy::teardown::delete`.

use std::io::{BufRead, Write};

use crate::aws::Aws;
use crate::cli::DeleteArgs;
use crate::config::Project;
use crate::deploy::checkpoint::Checkpoint;
use crate::deploy::{edge, teardown};
use crate::error::{Error, Result};
use crate::local::Browser;
use crate::output::Report;
use crate::ui::Ui;

pub async fn run(
    project: &Project,
    aws: &Aws,
    browser: &Browser,
    args: &DeleteArgs,
    yes: bool,
    checkpoint: &Checkpoint,
    ui: &Ui,
) -> Result<Report> {
    confirm(&project.stack_name(), args.purge_data, yes, ui)?;
    if let Browser::Local(local) = browser {
        crate::local::stop_site(&local.dir, &project.stack_name())?;
    }
    let done = teardown::delete(project, aws, args.purge_data, checkpoint, ui).await?;
    let name = &done.stack;
    let mut text = format!("deleted {name}\n");
    if done.edge_stack_deleted {
        text.push_str(&format!(
            "deleted its edge stack {} in {}\n",
            edge::stack_name(name),
            edge::REGION
        ));
    }
    if !done.tables_kept.is_empty() {
        text.push_str("kept the chat history tables (pass --purge-data to delete them too):\n");
        for table in &done.tables_kept {
            text.push_str(&format!(
                "  {table}    remove with: aws dynamodb delete-table --table-name {table}\n"
            ));
        }
    }
    for table in &done.tables_deleted {
        text.push_str(&format!("deleted table {table}\n"));
    }
    Ok(Report::new(
        text,
        serde_json::to_value(&done).unwrap_or_default(),
    ))
}

/// Asks at a terminal; without one, `--yes` is required.
fn confirm(stack: &str, purge: bool, yes: bool, ui: &Ui) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !ui.interactive() {
        return Err(Error::usage(format!(
            "refusing to delete stack {stack} without confirmation: no terminal to ask at; pass --yes"
        )));
    }
    let what = if purge { " and every chat message" } else { "" };
    eprint!("Delete stack {stack}{what}? Type the stack name to confirm: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::failed(format!("cannot read the answer: {e}")))?;
    if answer.trim() == stack {
        Ok(())
    } else {
        Err(Error::failed(
            "not confirmed: nothing was deleted".to_string(),
        ))
    }
}
