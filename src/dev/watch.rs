//! File watching for `chatctl dev`, with notify (inotify, FSEvents,
//! ReadDirectoryChangesW): only writes, creations, removals and renames
//! count, never reads (a build reads every source file, and must not look
//! like an edit), and a change is reported once the files have been quiet
//! for a moment, so an editor's save burst or a `git checkout` is one change.

use std::path::PathBuf;
use std::time::Duration;

use notify::event::{EventKind, MetadataKind, ModifyKind};
use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::error::{Error, Result};

/// How long the files must be quiet before a change is reported.
const QUIET: Duration = Duration::from_millis(200);

/// What to watch: directories with everything under them, and directories
/// whose own entries only (a file there, renamed over by an editor, is
/// still seen).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watched {
    pub recursive: Vec<PathBuf>,
    pub shallow: Vec<PathBuf>,
}

pub struct Watcher {
    // Dropping the watcher stops the watching.
    _watcher: notify::RecommendedWatcher,
    events: mpsc::UnboundedReceiver<std::result::Result<Vec<PathBuf>, String>>,
}

/// Whether an event is an edit: reads and access-time updates are not.
fn is_edit(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::Access(_)
            | EventKind::Other
            | EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime))
    )
}

impl Watcher {
    pub fn start(watched: &Watched) -> Result<Watcher> {
        let (sender, events) = mpsc::unbounded_channel();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let paths = match event {
                    Ok(event) if is_edit(&event.kind) => Ok(event.paths),
                    Ok(_) => return,
                    Err(e) => Err(e.to_string()),
                };
                let _ = sender.send(paths);
            })
            .map_err(|e| Error::failed(format!("cannot watch files: {e}")))?;
        let modes = watched
            .recursive
            .iter()
            .map(|dir| (dir, RecursiveMode::Recursive))
            .chain(
                watched
                    .shallow
                    .iter()
                    .map(|dir| (dir, RecursiveMode::NonRecursive)),
            );
        for (dir, mode) in modes {
            watcher.watch(dir, mode).map_err(|e| {
                Error::failed(format!("cannot watch {}: {e}", dir.display())).with_hint(
                    "on Linux, raise fs.inotify.max_user_watches if the limit was reached",
                )
            })?;
        }
        Ok(Watcher {
            _watcher: watcher,
            events,
        })
    }

    /// The next change: waits for an edit, then until the files have been
    /// quiet for `QUIET`, and returns every path edited meanwhile.
    pub async fn next(&mut self) -> Result<Vec<PathBuf>> {
        let mut paths = self.receive().await?;
        while let Ok(more) = tokio::time::timeout(QUIET, self.receive()).await {
            paths.extend(more?);
        }
        paths.sort();
        paths.dedup();
        Ok(paths)
    }

    async fn receive(&mut self) -> Result<Vec<PathBuf>> {
        match self.events.recv().await {
            Some(Ok(paths)) => Ok(paths),
            Some(Err(e)) => Err(Error::failed(format!("file watching failed: {e}"))),
            None => Err(Error::failed("file watching stopped")),
        }
    }
}
