//! Watching the manifest and its env files, and loading them again when they change.
//!
//! The folders that hold the files are watched, not the files: editors that save by writing
//! a new file and renaming it over the old one replace the inode, and a file that is deleted
//! and comes back must still be noticed. Events for other files in those folders (an editor's
//! swap and backup files) are ignored.
//!
//! Debounce: after the first relevant event, the watcher waits until [`QUIET`] has passed
//! with no further event, then loads once, so a burst of saves gives one reload. The timer
//! exists only while events are arriving. (`notify-debouncer-full` was not used: its thread
//! wakes up every tick even when nothing happens, and procmux must cost nothing when idle.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::manifest::{self, LoadOptions};

use super::runner::ManifestUpdates;

/// How long the files must stay quiet before they are loaded again.
pub const QUIET: Duration = Duration::from_millis(50);

/// Starts watching `sources` (the manifest and its env files, as [`manifest::Loaded`] lists
/// them) and returns the stream of reloaded manifests: each item is a new manifest, or the
/// rendered error of a load that failed.
///
/// Must be called inside a tokio runtime. Watching stops when the returned receiver is
/// dropped.
pub fn watch(options: LoadOptions, sources: Vec<PathBuf>) -> notify::Result<ManifestUpdates> {
    let watched = Arc::new(Mutex::new(WatchedFiles::default()));
    let (changes_tx, mut changes) = mpsc::unbounded_channel::<()>();
    let filter = watched.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if !is_content_change(&event.kind) {
            return;
        }
        let relevant = filter
            .lock()
            .map(|files| event.paths.iter().any(|path| files.contains(path)))
            .unwrap_or(true);
        if relevant {
            let _ = changes_tx.send(());
        }
    })?;
    watch_more(&mut watcher, &watched, &sources);

    let (updates_tx, updates) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while changes.recv().await.is_some() {
            // Wait for the burst to end: every further event restarts the quiet time.
            loop {
                match tokio::time::timeout(QUIET, changes.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_quiet) => break,
                }
            }
            let update = match manifest::load(&options) {
                Ok(loaded) => {
                    // A reload may name env files the first load did not.
                    watch_more(&mut watcher, &watched, &loaded.sources);
                    Ok(super::event::Reloaded {
                        manifest: loaded.manifest,
                        warnings: loaded.warnings.iter().map(ToString::to_string).collect(),
                    })
                }
                Err(error) => Err(error.render()),
            };
            if updates_tx.send(update).is_err() {
                return;
            }
        }
    });
    Ok(updates)
}

/// The files that matter, by folder and name (exactly how inotify reports them).
#[derive(Debug, Default)]
struct WatchedFiles {
    files: BTreeSet<PathBuf>,
    folders: BTreeSet<PathBuf>,
}

impl WatchedFiles {
    fn contains(&self, path: &Path) -> bool {
        self.files.contains(path)
    }
}

/// Adds files to the watched set, and starts watching folders not watched yet. A folder that
/// cannot be watched (it does not exist) is skipped: a file in it cannot change either.
fn watch_more(
    watcher: &mut notify::RecommendedWatcher,
    watched: &Mutex<WatchedFiles>,
    sources: &[PathBuf],
) {
    let Ok(mut watched) = watched.lock() else {
        return;
    };
    for source in sources {
        watched.files.insert(source.clone());
        if let Some(folder) = source.parent()
            && !watched.folders.contains(folder)
            && watcher.watch(folder, RecursiveMode::NonRecursive).is_ok()
        {
            watched.folders.insert(folder.to_owned());
        }
    }
}

/// Whether an event may have changed what a file holds. Opening and reading (procmux's own
/// loads among them) and metadata changes do not.
fn is_content_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
        EventKind::Any | EventKind::Other => true,
    }
}

#[cfg(test)]
mod tests {
    use notify::event::{AccessKind, CreateKind, DataChange, MetadataKind, RenameMode};

    use super::*;

    #[test]
    fn only_content_changes_count() {
        let counts = [
            (EventKind::Access(AccessKind::Open(AccessMode::Any)), false),
            (
                EventKind::Access(AccessKind::Close(AccessMode::Read)),
                false,
            ),
            (
                EventKind::Access(AccessKind::Close(AccessMode::Write)),
                true,
            ),
            (
                EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
                false,
            ),
            (EventKind::Modify(ModifyKind::Data(DataChange::Any)), true),
            (EventKind::Modify(ModifyKind::Name(RenameMode::To)), true),
            (EventKind::Create(CreateKind::File), true),
            (EventKind::Remove(notify::event::RemoveKind::File), true),
        ];
        for (kind, expected) in counts {
            assert_eq!(is_content_change(&kind), expected, "{kind:?}");
        }
    }
}
