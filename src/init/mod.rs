//! `chatctl init [DIR]`: a new chat project from files compiled into
//! chatctl, so that `cargo install` is all a new project needs. The files
//! are this repository's own, embedded when chatctl is built (a test checks
//! that none is missing or different): the handler workspace `handlers/`,
//! the site `static/`, `rust-toolchain.toml`, and the GitHub Actions
//! example as `.github/workflows/deploy.yml`. Only `chatctl.yaml` (its
//! `app` set to the project's name) and `.gitignore` are init's own.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use rust_embed::Embed;
use serde::Serialize;

use crate::config::Name;
use crate::error::{Error, Result};

#[derive(Embed)]
#[folder = "handlers/"]
#[exclude = "target/**"]
struct Handlers;

#[derive(Embed)]
#[folder = "static/"]
struct Site;

const CONFIG: &str = include_str!("chatctl.yaml");
const GITIGNORE: &str = include_str!("gitignore");
const TOOLCHAIN: &str = include_str!("../../rust-toolchain.toml");
const WORKFLOW: &str = include_str!("../../examples/ci/github-actions.yml");

/// What `init` made.
#[derive(Debug, Clone, Serialize)]
pub struct InitResult {
    pub dir: PathBuf,
    pub app: String,
    /// The files written, relative to `dir`.
    pub files: Vec<String>,
    /// The commands to run next.
    pub next: Vec<String>,
}

/// Every file of a new project, by its path in the project.
pub fn project_files(app: &Name) -> Vec<(String, Cow<'static, [u8]>)> {
    let mut files: Vec<(String, Cow<'static, [u8]>)> = vec![
        (
            "chatctl.yaml".to_string(),
            Cow::Owned(config_for(app).into_bytes()),
        ),
        (
            ".gitignore".to_string(),
            Cow::Borrowed(GITIGNORE.as_bytes()),
        ),
        (
            "rust-toolchain.toml".to_string(),
            Cow::Borrowed(TOOLCHAIN.as_bytes()),
        ),
        (
            ".github/workflows/deploy.yml".to_string(),
            Cow::Borrowed(WORKFLOW.as_bytes()),
        ),
    ];
    for path in Handlers::iter() {
        if let Some(file) = Handlers::get(&path) {
            files.push((format!("handlers/{path}"), file.data));
        }
    }
    for path in Site::iter() {
        if let Some(file) = Site::get(&path) {
            files.push((format!("static/{path}"), file.data));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// The configuration with the project's name as `app`.
fn config_for(app: &Name) -> String {
    CONFIG.replacen("\napp: chat\n", &format!("\napp: {app}\n"), 1)
}

/// Writes a new project into `dir` (made when missing), refusing a
/// directory with anything in it unless `force`.
pub fn init(dir: &Path, app: Option<&str>, force: bool) -> Result<InitResult> {
    let app = match app {
        Some(app) => Name::parse(app).map_err(|e| Error::usage(format!("--app: {e}")))?,
        None => app_name_for(dir)?,
    };
    if !force && has_entries(dir)? {
        return Err(Error::usage(format!(
            "{} is not empty: chatctl init writes a new project only into a new or empty directory",
            dir.display()
        ))
        .with_hint("pass another directory, or --force to write the project's files into this one (files of the same names are replaced, others are left alone)"));
    }
    let files = project_files(&app);
    for (path, bytes) in &files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, e))?;
        }
        std::fs::write(&target, bytes).map_err(|e| Error::write(&target, e))?;
    }
    let mut next = Vec::new();
    if dir != Path::new(".") && dir != Path::new("") {
        next.push(format!("cd {}", dir.display()));
    }
    next.extend(
        [
            "chatctl local up",
            "chatctl --local launch",
            "chatctl --local dev",
        ]
        .map(str::to_string),
    );
    Ok(InitResult {
        dir: dir.to_path_buf(),
        app: app.to_string(),
        files: files.into_iter().map(|(path, _)| path).collect(),
        next,
    })
}

fn has_entries(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::read(dir, e)),
    }
}

/// The directory's name made into an app name (`My Chat` -> `my-chat`).
fn app_name_for(dir: &Path) -> Result<Name> {
    let absolute = std::path::absolute(dir).map_err(|e| Error::read(dir, e))?;
    let base = absolute
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let mut name = String::new();
    for c in base.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && (name.is_empty() || name.ends_with('-'))) {
            name.push(c);
        }
    }
    let name: String = name
        .trim_start_matches(|c: char| !c.is_ascii_lowercase())
        .chars()
        .take(24)
        .collect();
    Name::parse(name.trim_end_matches('-')).map_err(|_| {
        Error::usage(format!(
            "cannot make an app name from the directory name `{base}`"
        ))
        .with_hint(
            "pass --app NAME: 1 to 24 characters of a-z, 0-9 and '-', starting with a letter",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's files under `dir`, skipping build output.
    fn repo_files(dir: &str) -> Vec<(String, Vec<u8>)> {
        fn walk(root: &Path, at: &Path, out: &mut Vec<(String, Vec<u8>)>) {
            for entry in std::fs::read_dir(at).expect("read dir") {
                let path = entry.expect("entry").path();
                if path.file_name().is_some_and(|n| n == "target") {
                    continue;
                }
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    let relative = path.strip_prefix(root).expect("under root");
                    out.push((
                        relative.to_string_lossy().replace('\\', "/"),
                        std::fs::read(&path).expect("read"),
                    ));
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut out = Vec::new();
        walk(&root, &root, &mut out);
        out.sort();
        out
    }

    #[test]
    fn the_embedded_handlers_and_site_are_the_repositorys_files_all_of_them() {
        let app = Name::parse("mychat").expect("name");
        let embedded: Vec<(String, Vec<u8>)> = project_files(&app)
            .into_iter()
            .map(|(path, bytes)| (path, bytes.into_owned()))
            .collect();
        for dir in ["handlers", "static"] {
            let prefix = format!("{dir}/");
            let ours: Vec<(String, Vec<u8>)> = embedded
                .iter()
                .filter_map(|(path, bytes)| {
                    path.strip_prefix(&prefix)
                        .map(|p| (p.to_string(), bytes.clone()))
                })
                .collect();
            let names = |files: &[(String, Vec<u8>)]| {
                files.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>()
            };
            let repo = repo_files(dir);
            assert_eq!(
                names(&ours),
                names(&repo),
                "{dir}/: rebuild chatctl (`cargo clean -p chatctl`) after adding or removing a file"
            );
            assert!(
                ours == repo,
                "{dir}/: an embedded file differs from the repository's"
            );
        }
        assert!(embedded.iter().any(|(p, _)| p == "handlers/Cargo.lock"));
        assert!(embedded
            .iter()
            .any(|(p, _)| p == ".github/workflows/deploy.yml"));
    }

    #[test]
    fn the_configuration_names_the_app_and_loads() {
        let app = Name::parse("team-chat").expect("name");
        let text = config_for(&app);
        let config = crate::config::Config::parse(&text, Path::new("chatctl.yaml")).expect("loads");
        assert_eq!(config.app.0, "team-chat");
        assert_eq!(
            config.build.profile_for(&Name::parse("dev").expect("dev")),
            "lambda-dev"
        );
        assert_eq!(
            config
                .build
                .profile_for(&Name::parse("prod").expect("prod")),
            "lambda"
        );
    }

    #[test]
    fn directory_names_become_app_names() {
        for (dir, app) in [
            ("/tmp/mychat", "mychat"),
            ("/tmp/My Chat", "my-chat"),
            ("/tmp/2024_team--chat!", "team-chat"),
            (
                "/tmp/a-very-long-directory-name-for-a-chat",
                "a-very-long-directory-na",
            ),
        ] {
            assert_eq!(app_name_for(Path::new(dir)).expect(dir).0, app, "{dir}");
        }
        let refused = app_name_for(Path::new("/tmp/123")).expect_err("no letter");
        assert!(refused.hint().is_some_and(|h| h.contains("--app")));
    }
}
