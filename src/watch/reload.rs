//! The manifest reload, on the worker thread: where the manifest and its env files are
//! watched, and when they are loaded again (the stability rule of `stable.rs`, then
//! `manifest::load`, then a second look that must see the files unchanged).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use super::hub::HubInput;
use super::interest::interest;
use super::routes::Owner;
use super::stable::{Decision, FileState, Snapshot, decide, snapshot};
use super::worker::{SETTLE_ROUNDS, Worker};
use super::{MANIFEST_QUIET, WatchEvent};
use crate::manifest::{self, LoadOptions};

/// The manifest being watched.
pub(crate) struct ManifestState {
    /// How to load it, with `file` set to the file found at the first load.
    options: LoadOptions,
    /// The manifest, then its env files.
    sources: Vec<PathBuf>,
    /// The files as they were at the last load (or when watching started).
    last: Snapshot,
    /// Whether its removal was reported (and not followed by a load yet).
    removed_reported: bool,
    /// When a file was first seen just emptied.
    empty_since: Option<Instant>,
}

impl Worker {
    /// Watches the manifest's `sources` where they are now; looks again once the watches are
    /// in place, in case a directory appeared in between. Then gives each file that exists
    /// its own watch (see `inotify.rs`): a file replaced since the last time (a save by
    /// rename) is a new inode, watched anew.
    pub(super) fn sync_manifest(&mut self, sources: &[PathBuf]) {
        let mut wanted = interest(sources);
        for _ in 0..SETTLE_ROUNDS {
            self.sync(&Owner::Manifest, wanted.clone());
            let now = interest(sources);
            if now == wanted {
                break;
            }
            wanted = now;
        }
        // Links are left out: their targets are among the paths, and a link is re-pointed
        // by replacing it, which its directory sees.
        let files: BTreeSet<PathBuf> = wanted
            .paths
            .into_iter()
            .filter(|path| std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()))
            .collect();
        self.routes().watch_manifest_files(&self.inotify, &files);
    }

    pub(super) fn set_manifest(&mut self, mut options: LoadOptions, sources: Vec<PathBuf>) {
        // A reload reads the file the first load found, never another one that discovery
        // would pick now (the Procfile beside a deleted procmux.toml).
        if let Some(first) = sources.first() {
            options.file = Some(first.clone());
        }
        let last = snapshot(&sources);
        self.sync_manifest(&sources);
        self.manifest = Some(ManifestState {
            options,
            sources,
            last,
            removed_reported: false,
            empty_since: None,
        });
    }

    /// The manifest's files have been quiet: watch them where they are now, then load them
    /// if the stability rule says so (see `stable.rs`).
    pub(super) fn check_manifest(&mut self) {
        let Some(sources) = self.manifest.as_ref().map(|m| m.sources.clone()) else {
            return;
        };
        self.sync_manifest(&sources);
        let Some(state) = self.manifest.as_mut() else {
            return;
        };
        let before = snapshot(&state.sources);
        let empty_for = state.empty_since.map(|t| t.elapsed());
        let decision = decide(&state.last, &before, state.removed_reported, empty_for);
        let outcome = match decision {
            Decision::Nothing => {
                state.empty_since = None;
                return;
            }
            Decision::Wait(wait) => {
                state.empty_since.get_or_insert_with(Instant::now);
                HubInput::ManifestWait(wait)
            }
            Decision::Removed => {
                state.empty_since = None;
                state.removed_reported = true;
                state.last = before;
                HubInput::Event(WatchEvent::ManifestRemoved(state.sources[0].clone()))
            }
            Decision::Load => {
                state.empty_since = None;
                let result = manifest::load(&state.options);
                if snapshot(&state.sources) != before {
                    // Written to while being read: what was read may be half of it.
                    let _ = self.hub.send(HubInput::ManifestWait(MANIFEST_QUIET));
                    return;
                }
                state.removed_reported = false;
                state.last = before;
                if let Ok(loaded) = &result
                    && loaded.sources != state.sources
                {
                    // Env files named for the first time: unseen, so that their next change
                    // reloads even if it happened between this load and this snapshot.
                    state.last = loaded
                        .sources
                        .iter()
                        .map(|path| {
                            let seen = state.last.iter().find(|(p, _)| p == path);
                            seen.cloned()
                                .unwrap_or_else(|| (path.clone(), FileState::Unseen))
                        })
                        .collect();
                    state.sources = loaded.sources.clone();
                    let sources = state.sources.clone();
                    self.sync_manifest(&sources);
                }
                HubInput::Event(WatchEvent::Manifest(Box::new(result)))
            }
        };
        let _ = self.hub.send(outcome);
    }
}
