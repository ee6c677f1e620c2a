//! What a batch of changed files asks `chatctl dev` to do. Pure: the rules
//! are unit-tested without a watcher, cargo or AWS.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The project as `dev` sees it: canonical paths, so that they compare
/// with what the watcher reports.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub config: PathBuf,
    pub site_dir: PathBuf,
    pub handlers_dir: PathBuf,
    /// Written by builds and tools, never edits: the handler workspace's
    /// target directory, `.chatctl/`.
    pub ignored: Vec<PathBuf>,
    /// Each handler and the files its last build read (cargo's dep-info:
    /// its crate, the crates it depends on, files it includes); `None`
    /// until it has been built with this stage's profile.
    pub inputs: BTreeMap<String, Option<BTreeSet<PathBuf>>>,
}

/// What to do about a batch of changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The configuration changed: the launch path, which also builds and
    /// syncs everything, so nothing else is needed.
    pub relaunch: bool,
    /// Handlers to rebuild and update.
    pub handlers: BTreeSet<String>,
    /// A site file changed (or was added or removed).
    pub site: bool,
    /// The changed files that caused the plan.
    pub causes: Vec<PathBuf>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        !self.relaunch && self.handlers.is_empty() && !self.site
    }
}

/// Files in the handler workspace that every handler's build reads
/// although no dep-info names them.
const WORKSPACE_FILES: [&str; 4] = [
    "Cargo.toml",
    "Cargo.lock",
    "rust-toolchain.toml",
    "rust-toolchain",
];

pub fn plan(layout: &Layout, changed: &[PathBuf]) -> Plan {
    let mut plan = Plan::default();
    let mut seen = BTreeSet::new();
    for path in changed {
        if !seen.insert(path)
            || is_noise(path)
            || layout.ignored.iter().any(|d| path.starts_with(d))
        {
            continue;
        }
        let mut caused = false;
        if *path == layout.config {
            plan.relaunch = true;
            caused = true;
        }
        if path.starts_with(&layout.site_dir) {
            plan.site = true;
            caused = true;
        }
        let manifest = path.starts_with(&layout.handlers_dir)
            && path
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| WORKSPACE_FILES.contains(&name));
        for (handler, inputs) in &layout.inputs {
            let affected = match inputs {
                // Never built with this profile: only a file of the workspace counts.
                None => path.starts_with(&layout.handlers_dir),
                Some(inputs) => manifest || inputs.contains(path),
            };
            if affected {
                plan.handlers.insert(handler.clone());
                caused = true;
            }
        }
        if caused {
            plan.causes.push(path.clone());
        }
    }
    if plan.relaunch {
        plan.handlers.clear();
        plan.site = false;
    }
    plan
}

/// Editors' swap, backup and probe files, and version control.
fn is_noise(path: &Path) -> bool {
    if path
        .components()
        .any(|c| matches!(c.as_os_str().to_str(), Some(".git" | ".chatctl")))
    {
        return true;
    }
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return true;
    };
    name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.starts_with(".#")
        || name == "4913" // vim's write probe
}

/// The files a cargo dep-info file (`target/TRIPLE/PROFILE/BIN.d`) lists,
/// Makefile syntax: `output: input input ...`, spaces in names escaped.
pub fn dep_info_inputs(text: &str) -> BTreeSet<PathBuf> {
    let mut inputs = BTreeSet::new();
    for line in text.lines() {
        let Some((_, deps)) = split_rule(line) else {
            continue;
        };
        let mut current = String::new();
        let mut chars = deps.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    current.push(' ');
                    chars.next();
                }
                // A line continuation.
                '\\' if chars.peek().is_none() => {}
                ' ' | '\t' => {
                    if !current.is_empty() {
                        inputs.insert(PathBuf::from(std::mem::take(&mut current)));
                    }
                }
                c => current.push(c),
            }
        }
        if !current.is_empty() {
            inputs.insert(PathBuf::from(current));
        }
    }
    inputs
}

/// `output: inputs`, where the output's own spaces are escaped.
fn split_rule(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    (0..bytes.len())
        .find(|&i| {
            bytes[i] == b':' && bytes.get(i + 1) == Some(&b' ') && (i == 0 || bytes[i - 1] != b'\\')
        })
        .map(|i| (&line[..i], &line[i + 2..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        let inputs = |files: &[&str]| Some(files.iter().map(PathBuf::from).collect());
        Layout {
            config: "/p/chatctl.yaml".into(),
            site_dir: "/p/static".into(),
            handlers_dir: "/p/handlers".into(),
            ignored: vec!["/p/handlers/target".into(), "/p/.chatctl".into()],
            inputs: [
                (
                    "connect".to_string(),
                    inputs(&[
                        "/p/handlers/connect/src/main.rs",
                        "/p/handlers/chat-core/src/lib.rs",
                    ]),
                ),
                (
                    "http".to_string(),
                    inputs(&[
                        "/p/handlers/http/src/main.rs",
                        "/p/handlers/chat-core/src/lib.rs",
                        "/p/static/rooms/general.html",
                    ]),
                ),
            ]
            .into(),
        }
    }

    fn plan_of(paths: &[&str]) -> Plan {
        plan(
            &layout(),
            &paths.iter().map(PathBuf::from).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn a_handler_file_rebuilds_exactly_the_handlers_that_read_it() {
        let plan = plan_of(&["/p/handlers/connect/src/main.rs"]);
        assert_eq!(plan.handlers, ["connect".to_string()].into());
        assert!(!plan.site && !plan.relaunch);
        let shared = plan_of(&["/p/handlers/chat-core/src/lib.rs"]);
        assert_eq!(shared.handlers.len(), 2);
        assert!(plan_of(&["/p/handlers/chat-core/src/unused.rs"]).is_empty());
    }

    #[test]
    fn a_site_file_syncs_the_site_and_rebuilds_a_handler_that_includes_it() {
        let plan = plan_of(&["/p/static/app.js"]);
        assert!(plan.site);
        assert!(plan.handlers.is_empty());
        let seed = plan_of(&["/p/static/rooms/general.html"]);
        assert!(seed.site);
        assert_eq!(seed.handlers, ["http".to_string()].into());
    }

    #[test]
    fn the_configuration_relaunches_and_that_covers_everything_else() {
        let plan = plan_of(&[
            "/p/static/app.js",
            "/p/chatctl.yaml",
            "/p/handlers/connect/src/main.rs",
        ]);
        assert!(plan.relaunch);
        assert!(plan.handlers.is_empty() && !plan.site);
        assert_eq!(plan.causes.len(), 3);
    }

    #[test]
    fn workspace_manifests_rebuild_every_handler_and_unbuilt_handlers_take_any_workspace_file() {
        assert_eq!(plan_of(&["/p/handlers/Cargo.lock"]).handlers.len(), 2);
        let mut unbuilt = layout();
        unbuilt.inputs.insert("message".to_string(), None);
        let plan = plan(
            &unbuilt,
            &[PathBuf::from("/p/handlers/message/src/main.rs")],
        );
        assert_eq!(plan.handlers, ["message".to_string()].into());
    }

    #[test]
    fn build_output_editor_files_and_version_control_are_ignored() {
        for path in [
            "/p/handlers/target/lambda-dev/chat-connect",
            "/p/.chatctl/local/state.json",
            "/p/static/.index.html.swp",
            "/p/static/index.html~",
            "/p/static/4913",
            "/p/static/.git/HEAD",
            "/p/README.md",
        ] {
            assert!(plan_of(&[path]).is_empty(), "{path}");
        }
    }

    #[test]
    fn dep_info_lists_every_input_with_escaped_spaces() {
        let text = "/t/chat-connect: /p/a.rs /p/my\\ dir/b.rs \\\n\n/p/c.rs:\n";
        let inputs = dep_info_inputs(text);
        assert!(inputs.contains(Path::new("/p/a.rs")));
        assert!(inputs.contains(Path::new("/p/my dir/b.rs")));
        assert!(!inputs.iter().any(|p| p.to_str() == Some("\\")));
        assert!(!inputs.contains(Path::new("/t/chat-connect")));
    }
}
