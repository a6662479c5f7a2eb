//! [`Watching`]: the coordinator's use of the one [`FileWatcher`]: the manifest and its env
//! files for hot reload, and the `watch` globs of every process, its events turned into fleet
//! events. Which processes are watched follows the manifest the fleet applies, so editing
//! `watch` takes effect at once (without restarting the process).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tokio::sync::mpsc::UnboundedSender;

use crate::manifest::{LoadOptions, Manifest};
use crate::mux::Mux;
use crate::watch::{FileWatcher, ProcessWatch, WatchEvent};

use super::event::{Event, Reloaded};

/// What to watch, from the command line.
#[derive(Debug, Clone)]
pub struct WatchInputs {
    /// How the manifest was loaded (a reload loads it again the same way, from the same file).
    pub options: LoadOptions,
    /// The manifest (first) and the env files it read or looked for.
    pub sources: Vec<PathBuf>,
    /// Reload the manifest when it changes (`--no-reload` turns it off).
    pub reload: bool,
    /// Restart processes when their `watch` files change (`--no-watch` turns it off).
    pub watch: bool,
}

/// The watcher and what it watches for processes now.
pub struct Watching {
    watcher: FileWatcher,
    watched: BTreeSet<String>,
    enabled: bool,
    mux: Mux,
}

impl Watching {
    /// Starts the watcher, watches what `inputs` asks for in `manifest`, and forwards its
    /// events to `events`; returns once the watches are in place, so an edit made after this
    /// is seen. `None` when nothing is to be watched, or when watching cannot start (said on
    /// a system line).
    pub async fn start(
        inputs: WatchInputs,
        manifest: &Manifest,
        events: UnboundedSender<Event>,
        mux: &Mux,
    ) -> Option<Watching> {
        if !inputs.reload && !inputs.watch {
            return None;
        }
        let (watcher, mut changes) = match FileWatcher::start() {
            Ok(started) => started,
            Err(error) => {
                mux.system(&format!(
                    "cannot watch files ({error}): reload and watch restarts are off"
                ));
                return None;
            }
        };
        if inputs.reload {
            watcher.set_manifest(inputs.options.clone(), inputs.sources);
        }
        let mut watching = Watching {
            watcher,
            watched: BTreeSet::new(),
            enabled: inputs.watch,
            mux: mux.clone(),
        };
        watching.follow(manifest);
        watching.watcher.flush().await;
        let cwd = inputs.options.cwd;
        let mux = mux.clone();
        tokio::spawn(async move {
            while let Some(change) = changes.recv().await {
                let event = match change {
                    WatchEvent::Manifest(result) => {
                        Event::ManifestChanged(Box::new(match *result {
                            Ok(loaded) => Ok(Reloaded {
                                manifest: loaded.manifest,
                                warnings: loaded.warnings.iter().map(ToString::to_string).collect(),
                            }),
                            Err(error) => Err(error.render()),
                        }))
                    }
                    WatchEvent::ManifestRemoved(path) => {
                        Event::ManifestRemoved(shown(&cwd, &path).into())
                    }
                    WatchEvent::Process { key, paths, more } => Event::FilesChanged {
                        process: key,
                        paths,
                        more,
                    },
                    WatchEvent::Error { key, error } => {
                        let whose = key.unwrap_or_else(|| "the manifest".to_owned());
                        mux.system(&format!("watching files for {whose}: {error}"));
                        continue;
                    }
                };
                if events.send(event).is_err() {
                    return;
                }
            }
        });
        Some(watching)
    }

    /// Whether changes to the processes' `watch` files are watched (not with `--no-watch`).
    pub fn restarts_processes(&self) -> bool {
        self.enabled
    }

    /// Watches the `watch` globs of every process of `manifest` (one key per process: its
    /// instances share cwd and globs), and stops watching for processes that no longer have
    /// any.
    pub fn follow(&mut self, manifest: &Manifest) {
        if !self.enabled {
            return;
        }
        let mut now = BTreeSet::new();
        for process in &manifest.processes {
            let Some(instance) = process.instances.first() else {
                continue;
            };
            if instance.watch.is_empty() {
                continue;
            }
            match self.watcher.set_process(
                &process.name,
                &ProcessWatch::of(instance, &manifest.settings),
            ) {
                Ok(()) => {
                    now.insert(process.name.clone());
                }
                Err(error) => self
                    .mux
                    .system(&format!("cannot watch files for {}: {error}", process.name)),
            }
        }
        for gone in self.watched.difference(&now) {
            self.watcher.remove_process(gone);
        }
        self.watched = now;
    }
}

/// `path` relative to `cwd` when inside it.
fn shown(cwd: &Path, path: &Path) -> String {
    path.strip_prefix(cwd).unwrap_or(path).display().to_string()
}
