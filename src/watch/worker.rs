//! The worker thread: everything that blocks. It adds and removes the inotify watches
//! (walking the trees with the `ignore` crate), and it reloads the manifest (`reload.rs`), so
//! none of that runs on procmux's event loop. It sleeps on its job queue when there is
//! nothing to do.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, MutexGuard};

use nix::errno::Errno;
use nix::sys::inotify::Inotify;
use tokio::sync::mpsc::UnboundedSender;

use super::globs::Globs;
use super::hub::HubInput;
use super::interest::{Interest, anchor};
use super::plan::Base;
use super::reload::ManifestState;
use super::routes::{Owner, Routes};
use super::rules::Rules;
use super::walk::walk;
use super::{WatchError, WatchEvent};
use crate::manifest::LoadOptions;

/// How many times watches are worked out again when the tree moved while they were being
/// added, before the next event is left to do it.
pub(super) const SETTLE_ROUNDS: usize = 8;

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
    /// A directory appeared in one of this process's directories.
    NewPath { key: String, path: PathBuf },
    /// Reply once every job before this one is done.
    Flush(tokio::sync::oneshot::Sender<()>),
    /// Stop: end the thread, and with it the reading thread.
    Stop,
}

pub(crate) struct Worker {
    /// The inotify instance (shared with the reading thread).
    pub inotify: Arc<Inotify>,
    pub routes: Arc<Mutex<Routes>>,
    pub hub: UnboundedSender<HubInput>,
    pub(super) manifest: Option<ManifestState>,
    /// Directories whose watch failed, reported once each.
    failed: BTreeSet<PathBuf>,
    /// Dropped with the worker, which ends the reading thread (see `inotify.rs`).
    _stop_reader: std::io::PipeWriter,
}

/// Locks the routes. A panic while holding the lock leaves the table as it was between two
/// updates: still usable.
fn lock(routes: &Mutex<Routes>) -> MutexGuard<'_, Routes> {
    routes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Worker {
    pub fn new(
        inotify: Arc<Inotify>,
        stop_reader: std::io::PipeWriter,
        routes: Arc<Mutex<Routes>>,
        hub: UnboundedSender<HubInput>,
    ) -> Self {
        Self {
            inotify,
            routes,
            hub,
            manifest: None,
            failed: BTreeSet::new(),
            _stop_reader: stop_reader,
        }
    }

    /// Runs jobs until told to stop or until no one can send any.
    pub fn run(mut self, jobs: Receiver<Job>) {
        while let Ok(job) = jobs.recv() {
            match job {
                Job::Stop => break,
                Job::Flush(done) => {
                    let _ = done.send(());
                }
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
                Job::NewPath { key, path } => self.new_path(&key, path),
            }
        }
    }

    pub(super) fn routes(&self) -> MutexGuard<'_, Routes> {
        lock(&self.routes)
    }

    /// Makes `owner`'s watches exactly `wanted`.
    pub(super) fn sync(&mut self, owner: &Owner, wanted: Interest) {
        self.apply(owner, wanted, true);
    }

    /// Adds `more` to `owner`'s watches.
    fn add(&mut self, owner: &Owner, more: Interest) {
        self.apply(owner, more, false);
    }

    /// Updates the routes and the kernel's watches together, under the routes lock: a watch
    /// is known to the routes before the reading thread can read its first event.
    fn apply(&mut self, owner: &Owner, wanted: Interest, replace: bool) {
        let mut failures = Vec::new();
        {
            let mut routes = lock(&self.routes);
            if replace {
                let mut unneeded = Vec::new();
                let mut fewer_owners = Vec::new();
                for (dir, entry) in &mut routes.dirs {
                    if !wanted.dirs.contains(dir) && entry.owners.remove(owner) {
                        if entry.owners.is_empty() {
                            unneeded.push(dir.clone());
                        } else {
                            fewer_owners.push(dir.clone());
                        }
                    }
                }
                for dir in unneeded {
                    routes.unwatch_dir(&self.inotify, &dir);
                }
                for dir in fewer_owners {
                    // Its mask may be smaller now.
                    if let Err(error) = routes.watch_dir(&self.inotify, &dir) {
                        failures.push((dir, error));
                    }
                }
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
                routes.need_dir(dir, owner);
                if let Err(error) = routes.watch_dir(&self.inotify, dir) {
                    failures.push((dir.clone(), error));
                }
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
        }
        for (dir, error) in failures {
            // A directory that vanished (or became a file) since it was looked at is not an
            // error: the event that says so makes its owners look again.
            let vanished = matches!(error, Errno::ENOENT | Errno::ENOTDIR);
            if !vanished && self.failed.insert(dir.clone()) {
                let key = match owner {
                    Owner::Manifest => None,
                    Owner::Process(key) => Some(key.clone()),
                };
                let message = match error {
                    Errno::ENOSPC => "the inotify watch limit is reached \
                                     (sysctl fs.inotify.max_user_watches)"
                        .to_owned(),
                    other => std::io::Error::from(other).to_string(),
                };
                let error = WatchError::Watch { path: dir, message };
                let _ = self
                    .hub
                    .send(HubInput::Event(WatchEvent::Error { key, error }));
            }
        }
    }

    /// Walks every base of `key` and watches what is not excluded; a missing base is waited
    /// for from its nearest existing ancestor. The files of a base that was missing at the
    /// last walk are reported: they are new, and were written before any watch saw them.
    ///
    /// A directory may appear between the look and the watch that would have seen it
    /// appear, so after the watches are in place the missing bases are looked at again,
    /// until nothing moved.
    fn resync(&mut self, key: &str, reread_ignore_files: bool) {
        let (bases, globs, mut was_missing) = {
            let mut routes = self.routes();
            let Some(rules) = routes.processes.get_mut(key) else {
                return;
            };
            if reread_ignore_files {
                rules.reload_ignore_files();
            }
            (
                rules.bases.clone(),
                Arc::clone(&rules.globs),
                rules.missing.clone(),
            )
        };
        for _ in 0..SETTLE_ROUNDS {
            let mut wanted = Interest::default();
            let mut missing = Vec::new();
            let mut appeared = Vec::new();
            for base in &bases {
                if base.dir.exists() {
                    wanted
                        .dirs
                        .extend(walk(&base.dir, base.depth, &globs, false).dirs);
                    if was_missing.contains(&base.dir) {
                        appeared.push(base.clone());
                    }
                } else {
                    missing.push(base.clone());
                    anchor(&base.dir, &mut wanted);
                }
            }
            if let Some(rules) = self.routes().processes.get_mut(key) {
                rules.missing = missing.iter().map(|b| b.dir.clone()).collect();
            }
            let anchors = wanted.paths.clone();
            self.sync(&Owner::Process(key.to_owned()), wanted);
            for base in appeared {
                self.watch_new_tree(key, &base, &globs);
            }
            let mut now = Interest::default();
            for base in &missing {
                anchor(&base.dir, &mut now);
            }
            if now.paths == anchors && missing.iter().all(|b| !b.dir.exists()) {
                return;
            }
            was_missing = missing.into_iter().map(|b| b.dir).collect();
        }
    }

    /// Watches a directory that appeared (with what is under it), and reports the files
    /// found in it: they are new, and may have been written before the watch existed.
    fn new_path(&mut self, key: &str, path: PathBuf) {
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if !is_dir {
            return;
        }
        let (base, globs) = {
            let mut routes = self.routes();
            let Some(rules) = routes.processes.get_mut(key) else {
                return;
            };
            let Some(base) = rules.watches_dir(&path) else {
                return;
            };
            (base, Arc::clone(&rules.globs))
        };
        // Walked even when a resync already watches it: its files are new either way.
        self.watch_new_tree(key, &base, &globs);
    }

    /// Watches the new tree `base` and reports its files. Each walk comes after the watches
    /// of the one before are in place, and the walks go on until one finds no new
    /// directory: a file written at any moment is then either seen by a watch or found by
    /// the last walk.
    fn watch_new_tree(&mut self, key: &str, base: &Base, globs: &Arc<Globs>) {
        let owner = Owner::Process(key.to_owned());
        let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
        loop {
            let found = walk(&base.dir, base.depth, globs, true);
            let new_dirs: BTreeSet<PathBuf> = found
                .dirs
                .into_iter()
                .filter(|d| !watched.contains(d))
                .collect();
            let changes = {
                let mut routes = self.routes();
                let Some(rules) = routes.processes.get_mut(key) else {
                    return;
                };
                wanted_changes(rules, &found.files)
            };
            self.report(key, changes);
            if new_dirs.is_empty() {
                return;
            }
            watched.extend(new_dirs.iter().cloned());
            self.add(
                &owner,
                Interest {
                    paths: BTreeSet::new(),
                    dirs: new_dirs,
                },
            );
        }
    }

    /// Sends `changes` to the hub as changes of `key`.
    fn report(&self, key: &str, changes: Vec<PathBuf>) {
        for path in changes {
            let _ = self.hub.send(HubInput::Change {
                key: key.to_owned(),
                path,
            });
        }
    }
}

/// The files of `files` that `rules` watch, as the process should see them.
fn wanted_changes(rules: &mut Rules, files: &[PathBuf]) -> Vec<PathBuf> {
    let wanted: Vec<&PathBuf> = files.iter().filter(|f| rules.wants(f, false)).collect();
    wanted.into_iter().map(|f| rules.shown(f)).collect()
}
