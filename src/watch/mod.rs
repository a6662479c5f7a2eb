//! One file watcher for procmux: paths and globs in, debounced, filtered change sets out.
//! The manifest reload and the per-process `watch` restarts both use it.
//!
//! [`FileWatcher::start`] gives a cheap, clonable handle and the stream of [`WatchEvent`]s.
//! The coordinator tells it what to watch ([`FileWatcher::set_manifest`],
//! [`FileWatcher::set_process`], [`FileWatcher::remove_process`]) and receives reloaded
//! manifests and per-process change sets.
//!
//! # What is watched
//!
//! One inotify instance, used directly (no notify crate), and only non-recursive watches on
//! the directories that matter, each asking the kernel for the events its owners need and no
//! others: the kernel queues nothing for the rest, so they never wake procmux at all.
//!
//! - For a process, the directories its globs can match below their literal prefix
//!   (`crates/api/**/*.rs` watches `crates/api` and its subdirectories, `Cargo.toml` the
//!   cwd alone), walked with the `ignore` crate so that directories excluded by `.git`,
//!   `.gitignore`, `.ignore` or `watch_ignore` get no watch at all; directories created
//!   later are watched when they appear. Mask: `IN_CLOSE_WRITE`, `IN_CREATE`, `IN_DELETE`,
//!   `IN_MOVED_FROM`, `IN_MOVED_TO`, `IN_ATTRIB`, `IN_DELETE_SELF`, `IN_MOVE_SELF`. A write
//!   is seen when its writer closes the file, so a restart never starts on a half-written
//!   file; a file kept open and written to is seen at its close (no `IN_MODIFY`, see
//!   `inotify.rs` for the choice), and a write through `mmap` never (inotify reports none).
//! - For the manifest and its env files, the directory of each (and of each symbolic link's
//!   target), or, for a directory that does not exist, its nearest existing ancestor. Mask:
//!   the same without `IN_ATTRIB` (a reload reads contents). The directory is what sees an
//!   editor's save by rename, a deleted manifest coming back, an absent `.env` appearing.
//! - Each manifest and env file that exists also has a watch of its own, `IN_MODIFY`,
//!   `IN_CLOSE_WRITE`, `IN_DELETE_SELF`, `IN_MOVE_SELF`, added again when the file is
//!   replaced: a program that writes the manifest and keeps it open is seen too.
//!
//! A directory needed by both the manifest and a process gets both masks. Never asked for:
//! `IN_OPEN`, `IN_ACCESS`, `IN_CLOSE_NOWRITE` (a compiler reading the sources, procmux's own
//! loads), nor `IN_MODIFY` on a directory: a log or a SQLite database written beside the
//! manifest costs nothing while it is written (at most an event at its creation and at its
//! close; a writer that opens and closes the file for every line still costs one event per
//! line). A queue overflow (`IN_Q_OVERFLOW`) makes everything be looked at again.
//!
//! # Timing
//!
//! A process's changes are reported after its debounce (`settings.watch_debounce`) passes
//! with no further change, as one change set. The manifest is reloaded after
//! [`MANIFEST_QUIET`] (independent of the manifest's own setting, which a reload may
//! change), and only once its files are stable (see `stable.rs`). Timers exist only while a
//! burst is open; when nothing changes, no thread wakes.
//!
//! # Layout
//!
//! - `plan.rs`: which directories a set of globs needs (pure);
//! - `globs.rs`: the compiled `watch` / `watch_ignore` globs; `rules.rs`: a process's rules;
//! - `walk.rs`: tree walks and ignore-file matchers (the `ignore` crate);
//! - `interest.rs`: the manifest's paths and directories (links, missing directories);
//! - `stable.rs`: when a reload may read the files (pure);
//! - `debounce.rs`: bursts into change sets (pure);
//! - `inotify.rs`: the instance, the masks, and the thread that reads and routes events;
//! - `routes.rs`: who needs which directory, what each watch descriptor stands for, and
//!   the routing of each event;
//! - `worker.rs`: the thread that adds watches and walks trees; `reload.rs`: the manifest
//!   reload it also runs;
//! - `hub.rs`: the task that debounces and delivers events;
//! - `count.rs`: how many files globs match now (`procmux check`);
//! - `loop_guard.rs`: the rule that pauses a process restarting itself.

mod count;
mod debounce;
mod error;
mod globs;
mod hub;
mod inotify;
mod interest;
mod loop_guard;
mod plan;
mod reload;
mod routes;
mod rules;
mod stable;
mod walk;
mod worker;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

pub use count::count_matches;
pub use debounce::{ChangeSet, SHOWN_PATHS};
pub use error::WatchError;
pub use loop_guard::{LoopGuard, Verdict};
pub use stable::EMPTY_GRACE;

use crate::manifest::{InstanceSpec, LoadOptions, Loaded, ManifestError, Settings};
use hub::Command;
use routes::Routes;
use rules::Rules;
use worker::{Job, Worker};

/// How long the manifest's files must be quiet before they are loaded again.
pub const MANIFEST_QUIET: Duration = Duration::from_millis(50);

/// What the watcher reports.
#[derive(Debug)]
pub enum WatchEvent {
    /// The manifest or an env file changed and was loaded again (off the event loop, once
    /// the files were stable), or failed to load.
    Manifest(Box<Result<Loaded, ManifestError>>),
    /// The manifest file is gone (reported once; it is loaded again when it comes back).
    ManifestRemoved(PathBuf),
    /// Files a process watches changed.
    Process {
        /// The process's key, as given to [`FileWatcher::set_process`].
        key: String,
        /// The first few changed paths (see [`SHOWN_PATHS`]), sorted, without duplicates,
        /// under the process's cwd as it was given.
        paths: Vec<PathBuf>,
        /// How many other paths changed in the same burst.
        more: usize,
    },
    /// A directory could not be watched (the inotify watch limit, most likely): changes in
    /// it will be missed. Reported once per directory.
    Error {
        /// The process that needed it; `None` for the manifest.
        key: Option<String>,
        /// What failed.
        error: WatchError,
    },
}

/// What one process watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessWatch {
    /// The directory the globs are relative to (the process's cwd, absolute).
    pub cwd: PathBuf,
    /// Globs whose changes restart the process.
    pub watch: Vec<String>,
    /// Globs excluded on top of `.git/`, `.gitignore` and `.ignore`.
    pub ignore: Vec<String>,
    /// The quiet time after a change before it is reported.
    pub debounce: Duration,
}

impl ProcessWatch {
    /// What `instance` watches, with the manifest's debounce.
    pub fn of(instance: &InstanceSpec, settings: &Settings) -> Self {
        Self {
            cwd: instance.cwd.clone(),
            watch: instance.watch.clone(),
            ignore: instance.watch_ignore.clone(),
            debounce: settings.watch_debounce,
        }
    }
}

/// A handle on the watcher. Clones share it; dropping the last one stops watching (so does
/// dropping the events' receiver).
#[derive(Clone)]
pub struct FileWatcher {
    commands: mpsc::UnboundedSender<Command>,
    routes: Arc<Mutex<Routes>>,
}

impl std::fmt::Debug for FileWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileWatcher").finish_non_exhaustive()
    }
}

impl FileWatcher {
    /// Starts watching nothing yet: one inotify instance and the thread that reads it, a
    /// worker thread for the blocking work, and a task on the current tokio runtime (this
    /// must be called inside one). Fails when inotify cannot be had (the per-user limit of
    /// instances, `fs.inotify.max_user_instances`, most likely).
    pub fn start() -> std::io::Result<(FileWatcher, mpsc::UnboundedReceiver<WatchEvent>)> {
        let routes = Arc::new(Mutex::new(Routes::default()));
        let (inputs_tx, inputs) = mpsc::unbounded_channel();
        let (jobs_tx, jobs) = std::sync::mpsc::channel();
        let outputs = inotify::Outputs {
            hub: inputs_tx.clone(),
            jobs: jobs_tx.clone(),
        };
        let (instance, stop_reader) = inotify::start(Arc::clone(&routes), outputs)?;
        let worker = Worker::new(instance, stop_reader, Arc::clone(&routes), inputs_tx);
        std::thread::Builder::new()
            .name("procmux-watch".into())
            .spawn(move || worker.run(jobs))?;
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (events_tx, events) = mpsc::unbounded_channel();
        tokio::spawn(hub::run(commands_rx, inputs, events_tx, jobs_tx));
        Ok((FileWatcher { commands, routes }, events))
    }

    /// Watches the manifest and its env files (`sources`, as [`Loaded::sources`] lists them,
    /// manifest first), replacing any earlier manifest. Reloads use `options` with `file` set
    /// to `sources[0]`: a reload reads the same file again, never one that discovery would
    /// pick instead.
    pub fn set_manifest(&self, options: LoadOptions, sources: Vec<PathBuf>) {
        self.send(Command::Other(Job::SetManifest { options, sources }));
    }

    /// Watches for one process (replacing what was watched under `key`). The globs are
    /// compiled here, so a bad one is an error at once; the directories are walked and
    /// watched off the caller's thread, so changes made in the first moments after this may
    /// be missed.
    pub fn set_process(
        &self,
        key: impl Into<String>,
        spec: &ProcessWatch,
    ) -> Result<(), WatchError> {
        let rules = Box::new(Rules::new(spec)?);
        self.send(Command::SetProcess {
            key: key.into(),
            rules,
        });
        Ok(())
    }

    /// Stops watching for `key`, dropping any change set not yet reported.
    pub fn remove_process(&self, key: &str) {
        self.send(Command::RemoveProcess(key.to_owned()));
    }

    /// Waits until every request made before this call has been carried out: the
    /// directories are walked and watched, the manifest's first state is recorded.
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.send(Command::Other(Job::Flush(done)));
        let _ = wait.await;
    }

    /// How many inotify events were passed on from the reading thread so far (for
    /// diagnostics and tests): an event that no glob and no manifest cares about is not.
    pub fn forwarded_events(&self) -> u64 {
        self.routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .forwarded
    }

    /// How many inotify events the reading thread read from the kernel so far (for
    /// diagnostics and tests): each one woke it (or came in a batch with one that did). A
    /// write the masks do not ask for (see the module docs) is not among them.
    pub fn inotify_events(&self) -> u64 {
        self.routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .read
    }

    /// The directories watched now (for diagnostics and tests), sorted.
    pub fn watched_dirs(&self) -> Vec<PathBuf> {
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut dirs: Vec<PathBuf> = routes.dirs.keys().cloned().collect();
        dirs.sort();
        dirs
    }

    fn send(&self, command: Command) {
        // The hub is gone only when no one receives events any more: nothing to tell.
        let _ = self.commands.send(command);
    }
}
