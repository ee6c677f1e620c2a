//! `chatctl template`: the exact template `launch` deploys (`--edge`: the
//! edge stack's).

use serde_json::json;

use crate::cli::{TemplateArgs, TemplateFormat};
use crate::config::Project;
use crate::error::{Error, Result};
use crate::handlers;
use crate::output::Report;
use crate::template;
use crate::ui::Ui;

pub fn run(project: &Project, args: &TemplateArgs, ui: &Ui) -> Result<Report> {
    let template = if args.edge {
        if !project.config.protection.waf {
            return Err(Error::usage(
                "there is no edge stack while `protection.waf` is off: set `protection: { waf: true }` in the configuration".to_string(),
            ));
        }
        template::edge::generate(project)?
    } else {
        template::generate(project, &handlers::discover(&project.handlers_dir())?)?
    };
    let text = match args.format {
        TemplateFormat::Yaml => template.to_yaml_string()?,
        TemplateFormat::Json => template.to_json_string(),
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text).map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
            ui.info(format!("wrote the template to {}", path.display()));
            Ok(Report::new(
                "",
                json!({ "written": path.display().to_string(), "stack": project.stack_name() }),
            ))
        }
        None => Ok(Report::new(text, template.as_json().clone())),
    }
}
