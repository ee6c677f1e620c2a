//! The configuration together with the command line's choices.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::{Config, Name};

/// The configuration together with the command line's choices.
#[derive(Debug, Clone)]
pub struct Project {
    pub config: Config,
    /// The directory relative paths in the configuration are resolved against.
    pub root: PathBuf,
    pub stage: Name,
}

impl Project {
    /// Loads the configuration and applies the stage chosen on the command line.
    pub fn load(path: &Path, stage: Option<&str>) -> Result<Project> {
        let config = Config::load(path)?;
        let stage = match stage {
            Some(s) => Name::parse(s).map_err(|e| Error::usage(format!("--stage: {e}")))?,
            None => config.stage.clone(),
        };
        config.check_stage(&stage).map_err(|e| {
            Error::usage(format!(
                "{e}; add it to `stages` in {} or pass another --stage",
                path.display()
            ))
        })?;
        if let Some(pattern) = &config.site_bucket_name {
            pattern.for_stage(&stage).map_err(|e| {
                Error::usage(format!(
                    "{e}; shorten it in {} or deploy a shorter stage",
                    path.display()
                ))
            })?;
        }
        let root = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        Ok(Project {
            config,
            root,
            stage,
        })
    }

    /// `{app}-{stage}`: unique per application and stage, so stages deploy side by side.
    pub fn stack_name(&self) -> String {
        format!("{}-{}", self.config.app, self.stage)
    }

    pub fn site_dir(&self) -> PathBuf {
        self.root.join(&self.config.site_dir)
    }

    /// The Cargo profile this stage's handlers are built with.
    pub fn build_profile(&self) -> &str {
        self.config.build.profile_for(&self.stage)
    }

    pub fn handlers_dir(&self) -> PathBuf {
        self.root.join(&self.config.handlers_dir)
    }
}
