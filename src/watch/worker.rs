//! The worker thread: everything that blocks. It owns the notify watcher and adds and
//! removes its watches (walking the trees with the `ignore` crate), and it reloads the
//! manifest, so none of that runs on procmux's event loop. It sleeps on its job queue when
//! there is nothing to do.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedSender;

use super::hub::HubInput;
use super::interest::{Interest, anchor, interest};
use super::routes::{Owner, Routes};
use super::rules::Rules;
use super::stable::{Decision, FileState, Snapshot, decide, snapshot};
use super::walk::walk;
use super::{MANIFEST_QUIET, WatchError, WatchEvent};
use crate::manifest::{self, LoadOptions};

/// What the worker is asked to do.
pub(crate) enum Job {
    /// Watch this manifest (replacing any other).
    SetManifest {
        options: LoadOptions,
        sources: Vec<PathBuf>,
    },
    /// The manifest's files have been quiet: reload them if they changed.
    CheckManifest,
    /// Watch for this process (replacing its earlier rules).
    SetProcess { key: String, rules: Box<Rules> },
    /// Stop watching for this process.
    RemoveProcess(String),
    /// Work this process's watches out again, reading its ignore files again.
    Resync(String),
    /// A path appeared in one of this process's directories.
    NewPath { key: String, path: PathBuf },
    /// Stop: drop the watcher and end the thread.
    Stop,
}

/// The manifest being watched.
struct ManifestState {
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

pub(crate) struct Worker {
    pub watcher: RecommendedWatcher,
    pub routes: Arc<Mutex<Routes>>,
    pub hub: UnboundedSender<HubInput>,
    manifest: Option<ManifestState>,
    /// Directories whose watch failed, reported once each.
    failed: BTreeSet<PathBuf>,
}

impl Worker {
    pub fn new(
        watcher: RecommendedWatcher,
        routes: Arc<Mutex<Routes>>,
        hub: UnboundedSender<HubInput>,
    ) -> Self {
        Self {
            watcher,
            routes,
            hub,
            manifest: None,
            failed: BTreeSet::new(),
        }
    }

    /// Runs jobs until told to stop or until no one can send any.
    pub fn run(mut self, jobs: Receiver<Job>) {
        while let Ok(job) = jobs.recv() {
            match job {
                Job::Stop => break,
                Job::SetManifest { options, sources } => self.set_manifest(options, sources),
                Job::CheckManifest => self.check_manifest(),
                Job::SetProcess { key, rules } => {
                    self.routes().processes.insert(key.clone(), *rules);
                    self.resync(&key, false);
                }
                Job::RemoveProcess(key) => {
                    self.routes().processes.remove(&key);
                    self.sync(&Owner::Process(key), Interest::default());
                }
                Job::Resync(key) => self.resync(&key, true),
                Job::NewPath { key, path } => self.new_path(key, path),
            }
        }
    }

    fn routes(&self) -> MutexGuard<'_, Routes> {
        // A panic while holding the lock leaves the table as it was between two updates:
        // still usable.
        self.routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes `owner`'s watches exactly `wanted`: routes first (so events from a new watch
    /// are routed from the start), then notify, without holding the routes lock.
    fn sync(&mut self, owner: &Owner, wanted: Interest) {
        self.apply(owner, wanted, true);
    }

    /// Adds `more` to `owner`'s watches.
    fn add(&mut self, owner: &Owner, more: Interest) {
        self.apply(owner, more, false);
    }

    fn apply(&mut self, owner: &Owner, wanted: Interest, replace: bool) {
        let (gone, add, remove) = {
            let mut routes = self.routes();
            let gone = std::mem::take(&mut routes.gone);
            let mut add = Vec::new();
            let mut remove = Vec::new();
            if replace {
                routes.dirs.retain(|dir, owners| {
                    if !wanted.dirs.contains(dir) && owners.remove(owner) && owners.is_empty() {
                        remove.push(dir.clone());
                        return false;
                    }
                    true
                });
                routes.anchors.retain(|path, owners| {
                    if !wanted.paths.contains(path) {
                        owners.remove(owner);
                    }
                    !owners.is_empty()
                });
                if *owner == Owner::Manifest {
                    routes.manifest = wanted.paths.iter().cloned().collect();
                }
            } else if *owner == Owner::Manifest {
                routes.manifest.extend(wanted.paths.iter().cloned());
            }
            for dir in &wanted.dirs {
                let owners = routes.dirs.entry(dir.clone()).or_default();
                if owners.is_empty() {
                    add.push(dir.clone());
                }
                owners.insert(owner.clone());
            }
            if *owner != Owner::Manifest {
                for path in &wanted.paths {
                    routes
                        .anchors
                        .entry(path.clone())
                        .or_default()
                        .insert(owner.clone());
                }
            }
            (gone, add, remove)
        };
        for dir in gone.iter().chain(&remove) {
            // Already gone from notify's table when the kernel dropped it: not an error.
            let _ = self.watcher.unwatch(dir);
        }
        for dir in add {
            if let Err(error) = self.watcher.watch(&dir, RecursiveMode::NonRecursive) {
                self.routes().dirs.remove(&dir);
                let vanished = matches!(error.kind, notify::ErrorKind::PathNotFound)
                    || matches!(&error.kind, notify::ErrorKind::Io(e)
                        if e.kind() == std::io::ErrorKind::NotFound);
                if !vanished && self.failed.insert(dir.clone()) {
                    let key = match owner {
                        Owner::Manifest => None,
                        Owner::Process(key) => Some(key.clone()),
                    };
                    let error = WatchError::Watch {
                        path: dir,
                        message: error.to_string(),
                    };
                    let _ = self
                        .hub
                        .send(HubInput::Event(WatchEvent::Error { key, error }));
                }
            }
        }
    }

    /// Walks every base of `key` and watches what is not excluded; a missing base is waited
    /// for from its nearest existing ancestor.
    fn resync(&mut self, key: &str, reread_ignore_files: bool) {
        let (bases, globs) = {
            let mut routes = self.routes();
            let Some(rules) = routes.processes.get_mut(key) else {
                return;
            };
            if reread_ignore_files {
                rules.reload_ignore_files();
            }
            (rules.bases.clone(), Arc::clone(&rules.globs))
        };
        let mut wanted = Interest::default();
        for base in &bases {
            if base.dir.exists() {
                wanted
                    .dirs
                    .extend(walk(&base.dir, base.depth, &globs, false).dirs);
            } else {
                anchor(&base.dir, &mut wanted);
            }
        }
        self.sync(&Owner::Process(key.to_owned()), wanted);
    }

    /// Watches a directory that appeared (with what is under it), and reports the files
    /// found in it: they are new, and may have been written before the watch existed.
    fn new_path(&mut self, key: String, path: PathBuf) {
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if !is_dir {
            return;
        }
        let (base, globs) = {
            let mut routes = self.routes();
            if routes
                .dirs
                .get(&path)
                .is_some_and(|o| o.contains(&Owner::Process(key.clone())))
            {
                return;
            }
            let Some(rules) = routes.processes.get_mut(&key) else {
                return;
            };
            let Some(base) = rules.watches_dir(&path) else {
                return;
            };
            (base, Arc::clone(&rules.globs))
        };
        let found = walk(&base.dir, base.depth, &globs, true);
        let changes: Vec<PathBuf> = {
            let mut routes = self.routes();
            let Some(rules) = routes.processes.get_mut(&key) else {
                return;
            };
            found
                .files
                .iter()
                .filter(|file| rules.wants(file, false))
                .cloned()
                .collect::<Vec<_>>()
                .into_iter()
                .map(|file| rules.shown(&file))
                .collect()
        };
        self.add(
            &Owner::Process(key.clone()),
            Interest {
                paths: BTreeSet::new(),
                dirs: found.dirs.into_iter().collect(),
            },
        );
        for path in changes {
            let _ = self.hub.send(HubInput::Change {
                key: key.clone(),
                path,
            });
        }
    }

    fn set_manifest(&mut self, mut options: LoadOptions, sources: Vec<PathBuf>) {
        // A reload reads the file the first load found, never another one that discovery
        // would pick now (the Procfile beside a deleted procmux.toml).
        if let Some(first) = sources.first() {
            options.file = Some(first.clone());
        }
        let last = snapshot(&sources);
        self.sync(&Owner::Manifest, interest(&sources));
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
    fn check_manifest(&mut self) {
        let Some(sources) = self.manifest.as_ref().map(|m| m.sources.clone()) else {
            return;
        };
        self.sync(&Owner::Manifest, interest(&sources));
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
                    self.sync(&Owner::Manifest, interest(&sources));
                }
                HubInput::Event(WatchEvent::Manifest(Box::new(result)))
            }
        };
        let _ = self.hub.send(outcome);
    }
}
