//! A temporary project, a watcher on it, and waits with deadlines.

use std::path::{Path, PathBuf};
use std::time::Duration;

use procmux::manifest::{self, LoadOptions};
use procmux::watch::{FileWatcher, ProcessWatch, WatchEvent};
use tokio::sync::mpsc::UnboundedReceiver;

/// How long any expected event may take, however loaded the machine.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A temporary folder with its path resolved (as inotify reports paths).
pub struct Project {
    _temp: tempfile::TempDir,
    pub root: PathBuf,
}

impl Project {
    pub fn new() -> Self {
        Self::at(tempfile::tempdir().unwrap())
    }

    /// In memory when the machine has a tmpfs at `/dev/shm` (a tree of 10,000 files is
    /// written and removed in a fraction of the time).
    pub fn in_memory() -> Self {
        match tempfile::tempdir_in("/dev/shm") {
            Ok(temp) => Self::at(temp),
            Err(_) => Self::new(),
        }
    }

    fn at(temp: tempfile::TempDir) -> Self {
        let root = std::fs::canonicalize(temp.path()).unwrap();
        Self { _temp: temp, root }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Writes a file in place, creating its folders.
    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Writes a file the way editors that save atomically do: a new file renamed over it.
    pub fn write_by_rename(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path(relative);
        let temp = path.with_extension("procmux-test-swp");
        std::fs::write(&temp, text).unwrap();
        std::fs::rename(&temp, &path).unwrap();
        path
    }

    pub fn mkdir(&self, relative: &str) -> PathBuf {
        let path = self.path(relative);
        std::fs::create_dir_all(&path).unwrap();
        path
    }
}

pub fn spec(cwd: &Path, watch: &[&str], ignore: &[&str], debounce_ms: u64) -> ProcessWatch {
    ProcessWatch {
        cwd: cwd.to_path_buf(),
        watch: watch.iter().map(|g| (*g).to_owned()).collect(),
        ignore: ignore.iter().map(|g| (*g).to_owned()).collect(),
        debounce: Duration::from_millis(debounce_ms),
    }
}

/// A watcher watching `spec` under `key`, with its watches in place.
pub async fn watching(key: &str, spec: &ProcessWatch) -> (FileWatcher, Events) {
    let (watcher, events) = FileWatcher::start().unwrap();
    watcher.set_process(key, spec).unwrap();
    watcher.flush().await;
    (watcher, Events(events))
}

/// A watcher on the manifest `options` designate (loaded once first, as `procmux run`
/// does), with its first state recorded.
pub async fn watching_manifest(options: LoadOptions) -> (FileWatcher, Events) {
    let loaded = manifest::load(&options).unwrap();
    let (watcher, events) = FileWatcher::start().unwrap();
    watcher.set_manifest(options, loaded.sources);
    watcher.flush().await;
    (watcher, Events(events))
}

pub struct Events(pub UnboundedReceiver<WatchEvent>);

impl Events {
    /// The next event; fails the test after [`DEADLINE`].
    pub async fn next(&mut self) -> WatchEvent {
        match tokio::time::timeout(DEADLINE, self.0.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => panic!("the watcher stopped"),
            Err(_) => panic!("no event within {DEADLINE:?}"),
        }
    }

    /// The next event, which must be a process's change set: `(key, paths, more)`.
    pub async fn next_change(&mut self) -> (String, Vec<PathBuf>, usize) {
        match self.next().await {
            WatchEvent::Process { key, paths, more } => (key, paths, more),
            other => panic!("expected a change set, got {other:?}"),
        }
    }

    /// The next event, which must be a successful manifest reload: the process names.
    pub async fn next_reload(&mut self) -> Vec<String> {
        match self.next().await {
            WatchEvent::Manifest(result) => match *result {
                Ok(loaded) => loaded
                    .manifest
                    .processes
                    .iter()
                    .map(|p| p.name.clone())
                    .collect(),
                Err(error) => panic!("the reload failed: {}", error.render()),
            },
            other => panic!("expected a reload, got {other:?}"),
        }
    }

    /// Asserts that nothing arrives for `quiet` (used only after the thing under test
    /// has been given every chance: a later, expected event is the better check).
    pub async fn assert_none_for(&mut self, quiet: Duration) {
        if let Ok(event) = tokio::time::timeout(quiet, self.0.recv()).await {
            panic!("unexpected event: {event:?}");
        }
    }
}

/// Options that load `procmux.toml` (or `-f file`) in `root`.
pub fn options(root: &Path, file: Option<&str>) -> LoadOptions {
    LoadOptions {
        file: file.map(PathBuf::from),
        cwd: root.to_path_buf(),
        ..LoadOptions::default()
    }
}

/// A manifest with these processes.
pub fn toml(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("[processes.{n}]\ncommand = \"sleep 1000\"\n\n"))
        .collect()
}
