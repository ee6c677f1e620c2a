//! `chatctl dev`: watches the handler crates, the site and the
//! configuration, and on each change does the least that makes it live: the
//! handlers that read a changed file are rebuilt and their functions
//! updated (`update-code`), changed site files are synced (`update-site`),
//! and a changed configuration goes through the launch path with its
//! change set and its replacement guard. A failure is reported and the
//! watching goes on.

pub mod changes;
mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::aws::Aws;
use crate::build::{cargo, toolchain};
use crate::config::Project;
use crate::deploy::checkpoint::{Checkpoint, Stage};
use crate::deploy::{self, artifacts, changeset, code, LaunchOptions};
use crate::error::{Error, Result};
use crate::handlers;
use crate::local::Browser;
use crate::ui::Ui;
use changes::{Layout, Plan};
pub use watch::Watched;
use watch::Watcher;

/// What `dev` did about one change, as printed (one JSON object per line
/// with `--output json`).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum DevEvent {
    /// Watching has started; `paths` are the directories and files watched.
    Watching { paths: Vec<String> },
    /// Handlers rebuilt; `updated` are the functions given new code.
    Code {
        changed: Vec<String>,
        updated: Vec<String>,
        unchanged: Vec<String>,
        build_ms: u128,
        deploy_ms: u128,
    },
    /// Site files synced.
    Site {
        changed: Vec<String>,
        uploaded: Vec<String>,
        deleted: Vec<String>,
        invalidated: Vec<String>,
        ms: u128,
    },
    /// The configuration changed and the stack was launched.
    Launch {
        changed: Vec<String>,
        changes: Vec<changeset::Change>,
        stack_updated: bool,
        ms: u128,
    },
    /// Something failed; the watching goes on.
    Failed {
        changed: Vec<String>,
        during: &'static str,
        message: String,
        hint: Option<String>,
    },
}

pub struct DevOptions {
    /// The configuration file, reloaded when it changes.
    pub config: PathBuf,
    /// `--stage`, applied again to a reloaded configuration.
    pub stage: Option<String>,
    pub browser: Browser,
    pub checkpoint: Checkpoint,
}

/// Watches until interrupted; returns only when watching itself fails.
pub async fn dev(
    mut project: Project,
    aws: &Aws,
    options: &DevOptions,
    ui: &Ui,
    emit: &mut (dyn FnMut(&DevEvent) + Send),
) -> Result<()> {
    // Nothing to update before a first launch.
    deploy::deployed_outputs(aws, &project).await?;
    let (mut layout, mut dep_info) = layout(&project, &options.config)?;
    let mut watched = watched(&project, &layout)?;
    let mut watcher = Watcher::start(&watched)?;
    emit(&DevEvent::Watching {
        paths: watched
            .recursive
            .iter()
            .map(|dir| dir.display().to_string())
            .chain(std::iter::once(layout.config.display().to_string()))
            .collect(),
    });
    loop {
        options.checkpoint.set(Stage::Watching);
        // A directory's own events (its entries changed, it was touched)
        // say nothing its files' events do not.
        let paths: Vec<PathBuf> = watcher
            .next()
            .await?
            .into_iter()
            .filter(|path| !path.is_dir())
            .collect();
        read_inputs(&dep_info, &mut layout);
        let plan = changes::plan(&layout, &paths);
        if plan.is_empty() {
            continue;
        }
        let changed = relative(&plan, &layout);
        if plan.relaunch {
            match Project::load(&options.config, options.stage.as_deref()) {
                Ok(reloaded) => project = reloaded,
                Err(error) => {
                    emit(&failed(changed, "configuration", &error));
                    continue;
                }
            }
            emit(&relaunch(&project, aws, options, ui, changed).await);
            // The directories may have moved.
            if let Ok((new_layout, new_dep_info)) = self::layout(&project, &options.config) {
                (layout, dep_info) = (new_layout, new_dep_info);
            }
            let now_watched = self::watched(&project, &layout)?;
            if now_watched != watched {
                watcher = Watcher::start(&now_watched)?;
                watched = now_watched;
            }
            continue;
        }
        if !plan.handlers.is_empty() {
            options.checkpoint.set(Stage::UpdatingCode);
            let names: Vec<String> = plan.handlers.iter().cloned().collect();
            emit(&match code::update_code(&project, aws, &names, ui).await {
                Ok(result) => {
                    let (updated, unchanged): (Vec<_>, Vec<_>) =
                        result.functions.iter().partition(|f| f.updated);
                    DevEvent::Code {
                        changed: changed.clone(),
                        updated: updated.iter().map(|f| f.handler.clone()).collect(),
                        unchanged: unchanged.iter().map(|f| f.handler.clone()).collect(),
                        build_ms: result.build_ms,
                        deploy_ms: result.deploy_ms,
                    }
                }
                Err(error) => failed(changed.clone(), "code", &error),
            });
        }
        if plan.site {
            emit(&sync_site(&project, aws, options, ui, changed).await);
        }
    }
}

async fn relaunch(
    project: &Project,
    aws: &Aws,
    options: &DevOptions,
    ui: &Ui,
    changed: Vec<String>,
) -> DevEvent {
    let started = Instant::now();
    let launch = LaunchOptions {
        preview: false,
        // The guard stays: dev never replaces a table or the site bucket.
        allow_replace: false,
        wait: false,
        browser: options.browser.clone(),
        checkpoint: options.checkpoint.clone(),
    };
    match deploy::launch(project, aws, ui, &launch).await {
        Ok(result) => DevEvent::Launch {
            changed,
            changes: result.changes,
            stack_updated: result.stack_updated,
            ms: started.elapsed().as_millis(),
        },
        Err(error) => failed(changed, "launch", &error),
    }
}

async fn sync_site(
    project: &Project,
    aws: &Aws,
    options: &DevOptions,
    ui: &Ui,
    changed: Vec<String>,
) -> DevEvent {
    let started = Instant::now();
    let synced = async {
        let identity = aws.identity().await?;
        let outputs = options
            .browser
            .outputs(deploy::deployed_outputs(aws, project).await?);
        let bucket = artifacts::bucket_name(&identity, &project.stack_name());
        deploy::publish_site(
            project,
            aws,
            &outputs,
            &bucket,
            false,
            &options.checkpoint,
            ui,
        )
        .await
    };
    match synced.await {
        Ok((report, invalidated)) => DevEvent::Site {
            changed,
            uploaded: report.uploaded,
            deleted: report.deleted,
            invalidated,
            ms: started.elapsed().as_millis(),
        },
        Err(error) => failed(changed, "site", &error),
    }
}

fn failed(changed: Vec<String>, during: &'static str, error: &Error) -> DevEvent {
    DevEvent::Failed {
        changed,
        during,
        message: error.to_string(),
        hint: error.hint().map(str::to_string),
    }
}

/// The changed files, relative to the configuration's directory when under it.
fn relative(plan: &Plan, layout: &Layout) -> Vec<String> {
    let root = layout.config.parent().unwrap_or(Path::new("/"));
    plan.causes
        .iter()
        .map(|path| {
            path.strip_prefix(root)
                .unwrap_or(path)
                .display()
                .to_string()
        })
        .collect()
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// Where cargo writes each handler's dep-info for this stage's profile.
type DepInfo = BTreeMap<String, Option<PathBuf>>;

fn layout(project: &Project, config: &Path) -> Result<(Layout, DepInfo)> {
    let crates = handlers::discover(&project.handlers_dir())?;
    let workspace = cargo::metadata(&crates[0].dir)?;
    let (triple, _) = toolchain::target(project.config.architecture);
    let dir = workspace
        .target_dir
        .join(triple)
        .join(project.build_profile());
    let dep_info = crates
        .iter()
        .map(|handler| {
            let package = workspace.packages.get(&canonical(&handler.dir));
            let path = package.map(|p| dir.join(format!("{}.d", p.bin)));
            (handler.name.clone(), path)
        })
        .collect();
    let layout = Layout {
        config: canonical(config),
        site_dir: canonical(&project.site_dir()),
        handlers_dir: canonical(&project.handlers_dir()),
        ignored: vec![
            canonical(&workspace.target_dir),
            canonical(&project.root).join(".chatctl"),
        ],
        inputs: crates.into_iter().map(|c| (c.name, None)).collect(),
    };
    Ok((layout, dep_info))
}

/// The site, each handler crate (not the workspace's target directory,
/// whose thousands of build directories are output, not edits), and the
/// workspace's and the configuration's own directories, shallowly.
fn watched(project: &Project, layout: &Layout) -> Result<Watched> {
    let mut recursive = vec![layout.site_dir.clone()];
    let entries = std::fs::read_dir(&layout.handlers_dir)
        .map_err(|e| Error::read(&layout.handlers_dir, e))?;
    let mut crates: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|dir| dir.join("Cargo.toml").is_file())
        .map(|dir| canonical(&dir))
        .collect();
    crates.sort();
    recursive.extend(crates);
    let mut shallow: BTreeSet<PathBuf> = [layout.handlers_dir.clone()].into();
    shallow.insert(canonical(&project.root));
    Ok(Watched {
        recursive,
        shallow: shallow.into_iter().collect(),
    })
}

/// Each handler's inputs, from the dep-info cargo wrote at its last build
/// with this stage's profile (read again for every change: builds rewrite it).
fn read_inputs(dep_info: &DepInfo, layout: &mut Layout) {
    layout.inputs = dep_info
        .iter()
        .map(|(handler, path)| {
            let inputs = path
                .as_ref()
                .and_then(|path| std::fs::read_to_string(path).ok())
                .map(|text| {
                    changes::dep_info_inputs(&text)
                        .iter()
                        .map(|path| canonical(path))
                        .collect()
                });
            (handler.clone(), inputs)
        })
        .collect();
}
