//! [`Routes`]: who needs which watched directory, what each inotify watch descriptor stands
//! for, and the routing of each inotify event to the processes and the manifest it concerns.
//! Routing runs on the reading thread (`inotify.rs`) for every event the kernel queues. The
//! masks keep those few (a write that is not a close, an open or a read of a file queues
//! nothing), and routing one costs a few hash lookups. Only events that matter leave the
//! thread, so the rest never wake procmux's event loop.
//!
//! The routes are shared with the worker behind one mutex. The worker holds it while it adds
//! or removes a watch and records its descriptor (a system call that never waits for the
//! reading thread), so an event of a new watch is never read before the routes know it.
//!
//! inotify gives one descriptor per inode, whatever the path it was added by, and a watch
//! follows its inode when the directory is moved. So a descriptor is trusted for the path it
//! was last added by ([`Routes::watches`]); a watched directory that goes away from its path
//! (removed, moved) loses its watch at once, and its owners look for it again.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use nix::sys::inotify::{AddWatchFlags, Inotify, WatchDescriptor};

use super::inotify::{MANIFEST_DIR, MANIFEST_FILE, PROCESS_DIR};
use super::rules::Rules;

/// Who needs a watch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Owner {
    /// The manifest and its env files.
    Manifest,
    /// A process, by key.
    Process(String),
}

/// Where an event goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Routed {
    /// A file a process watches changed (the path as the process's cwd was given).
    Change {
        /// The process.
        key: String,
        /// The changed path.
        path: PathBuf,
    },
    /// A manifest file changed, or a directory on its way: look again after the quiet time.
    Manifest,
    /// A process's watches must be worked out again (a base appeared or vanished, or an
    /// ignore file changed).
    Resync(String),
    /// A directory appeared in a process's watched directory: watch it.
    NewPath {
        /// The process.
        key: String,
        /// The new path.
        path: PathBuf,
    },
}

/// One event as inotify reports it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Raw<'a> {
    /// The watch it comes from.
    pub wd: WatchDescriptor,
    /// What happened (one event bit, with `IN_ISDIR` for a directory).
    pub mask: AddWatchFlags,
    /// The name in the watched directory, or `None` for the watched object itself.
    pub name: Option<&'a OsStr>,
}

/// A directory someone needs watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dir {
    /// Who needs it.
    pub owners: BTreeSet<Owner>,
    /// Its watch, once added.
    pub wd: Option<WatchDescriptor>,
    /// The mask the watch was added with.
    pub mask: AddWatchFlags,
}

impl Dir {
    fn new() -> Self {
        Self {
            owners: BTreeSet::new(),
            wd: None,
            mask: AddWatchFlags::empty(),
        }
    }

    /// The mask its owners need together.
    fn wanted_mask(&self) -> AddWatchFlags {
        let mut mask = AddWatchFlags::empty();
        for owner in &self.owners {
            mask |= match owner {
                Owner::Manifest => MANIFEST_DIR,
                Owner::Process(_) => PROCESS_DIR,
            };
        }
        mask
    }
}

/// What a watch descriptor stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Watched {
    /// A watched directory, by the path it was added by.
    Dir(PathBuf),
    /// A manifest or env file's own watch.
    ManifestFile,
}

/// Events that say a name went away from a directory.
const NAME_GONE: AddWatchFlags = AddWatchFlags::IN_DELETE.union(AddWatchFlags::IN_MOVED_FROM);

/// Events that say a name appeared in a directory.
const NAME_NEW: AddWatchFlags = AddWatchFlags::IN_CREATE.union(AddWatchFlags::IN_MOVED_TO);

/// Events that say a watched object left its path, or its watch ended.
const SELF_GONE: AddWatchFlags = AddWatchFlags::IN_DELETE_SELF
    .union(AddWatchFlags::IN_MOVE_SELF)
    .union(AddWatchFlags::IN_UNMOUNT)
    .union(AddWatchFlags::IN_IGNORED);

/// The shared routing table.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    /// Each watched directory: who needs it, and its watch.
    pub dirs: HashMap<PathBuf, Dir>,
    /// What each watch descriptor stands for.
    pub watches: HashMap<WatchDescriptor, Watched>,
    /// The manifest's files that have a watch of their own, and its descriptor.
    pub manifest_files: HashMap<PathBuf, WatchDescriptor>,
    /// Paths that do not exist yet (a missing directory's name in its nearest existing
    /// ancestor): when one changes, its owners' watches are worked out again.
    pub anchors: HashMap<PathBuf, BTreeSet<Owner>>,
    /// The manifest's paths: its files (and their link targets), and its missing directories.
    pub manifest: HashSet<PathBuf>,
    /// Each process's rules, by key.
    pub processes: HashMap<String, Rules>,
    /// Watches of directories that left their path: the reading thread removes them from
    /// the kernel right after routing, still under the lock.
    pub gone: Vec<WatchDescriptor>,
    /// How many inotify events were read from the kernel.
    pub read: u64,
    /// How many inotify events were passed on (routed somewhere).
    pub forwarded: u64,
}

impl Routes {
    /// Routes one inotify event.
    pub fn route(&mut self, event: Raw<'_>) -> Vec<Routed> {
        self.read += 1;
        let mut out = Vec::new();
        if event.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
            // The kernel's queue overflowed: events were lost, so everything is looked at
            // again, and each process is told that something under its cwd changed (what
            // changed is not known, and a burst that large is one a restart is for).
            out.push(Routed::Manifest);
            for (key, rules) in &self.processes {
                out.push(Routed::Resync(key.clone()));
                out.push(Routed::Change {
                    key: key.clone(),
                    path: rules.shown_cwd.clone(),
                });
            }
            self.forwarded += 1;
            return out;
        }
        match (self.watches.get(&event.wd), event.name) {
            // A watch already dropped: the last events it queued.
            (None, _) => {}
            (Some(Watched::ManifestFile), _) => {
                if event.mask.contains(AddWatchFlags::IN_IGNORED) {
                    self.watches.remove(&event.wd);
                } else {
                    out.push(Routed::Manifest);
                }
            }
            (Some(Watched::Dir(dir)), Some(name)) => {
                let path = dir.join(name);
                self.route_path(event.mask, &path, &mut out);
            }
            (Some(Watched::Dir(dir)), None) => {
                // The directory itself: removed, moved (its watch would follow it under a
                // stale name) or unmounted. Its parent, when watched, reports the name.
                if event.mask.intersects(SELF_GONE) {
                    let dir = dir.clone();
                    self.forget_tree(&dir, &mut out);
                }
            }
        }
        if !out.is_empty() {
            self.forwarded += 1;
        }
        out
    }

    fn route_path(&mut self, mask: AddWatchFlags, path: &Path, out: &mut Vec<Routed>) {
        if mask.intersects(NAME_GONE) && self.dirs.contains_key(path) {
            self.forget_tree(path, out);
        }
        if let Some(owners) = self.anchors.get(path) {
            out.extend(owners.iter().map(|owner| match owner {
                Owner::Manifest => Routed::Manifest,
                Owner::Process(key) => Routed::Resync(key.clone()),
            }));
        }
        // A metadata change is no reason to reload (a process's folder in common with the
        // manifest's asks for them).
        if self.manifest.contains(path) && !mask.contains(AddWatchFlags::IN_ATTRIB) {
            out.push(Routed::Manifest);
        }
        let Some(dir) = path.parent().and_then(|parent| self.dirs.get(parent)) else {
            return;
        };
        let keys: Vec<String> = dir
            .owners
            .iter()
            .filter_map(|owner| match owner {
                Owner::Process(key) => Some(key.clone()),
                Owner::Manifest => None,
            })
            .collect();
        let is_dir = mask.contains(AddWatchFlags::IN_ISDIR);
        let is_ignore_file = path
            .file_name()
            .is_some_and(|name| name == ".gitignore" || name == ".ignore");
        for key in keys {
            let Some(rules) = self.processes.get_mut(&key) else {
                continue;
            };
            if is_ignore_file {
                out.push(Routed::Resync(key.clone()));
            }
            if is_dir && mask.intersects(NAME_NEW) {
                out.push(Routed::NewPath {
                    key: key.clone(),
                    path: path.to_path_buf(),
                });
            }
            if rules.wants(path, is_dir) {
                let path = rules.shown(path);
                out.push(Routed::Change { key, path });
            }
        }
    }

    /// Drops `dir` and every watched directory under it, with their watches; their owners
    /// look again.
    fn forget_tree(&mut self, dir: &Path, out: &mut Vec<Routed>) {
        let mut owners = BTreeSet::new();
        let Routes {
            dirs,
            watches,
            gone,
            processes,
            ..
        } = self;
        dirs.retain(|watched, entry| {
            if !watched.starts_with(dir) {
                return true;
            }
            for owner in &entry.owners {
                // A directory strictly inside a base is found again when it comes back (its
                // parent sees it); a base, or the ancestor that waits for a missing one, must
                // be looked for again from above.
                let found_again = match owner {
                    Owner::Manifest => false,
                    Owner::Process(key) => processes.get(key).is_some_and(|rules| {
                        rules
                            .bases
                            .iter()
                            .any(|b| b.dir != *watched && b.covers_dir(watched))
                    }),
                };
                if !found_again {
                    owners.insert(owner.clone());
                }
            }
            if let Some(wd) = entry.wd
                && matches!(watches.get(&wd), Some(Watched::Dir(path)) if path == watched)
            {
                watches.remove(&wd);
                gone.push(wd);
            }
            false
        });
        out.extend(owners.into_iter().map(|owner| match owner {
            Owner::Manifest => Routed::Manifest,
            Owner::Process(key) => Routed::Resync(key),
        }));
    }

    /// Records that `owner` needs `dir` (without watching it yet: see [`Routes::watch_dir`]).
    pub fn need_dir(&mut self, dir: &Path, owner: &Owner) {
        self.dirs
            .entry(dir.to_path_buf())
            .or_insert_with(Dir::new)
            .owners
            .insert(owner.clone());
    }

    /// Makes the watch of `dir` (one of [`Routes::dirs`]) what its owners need: added, or
    /// added again with another mask. On failure (the directory vanished, the watch limit),
    /// `dir` is dropped.
    pub fn watch_dir(&mut self, inotify: &Inotify, dir: &Path) -> nix::Result<()> {
        let Some(entry) = self.dirs.get_mut(dir) else {
            return Ok(());
        };
        let mask = entry.wanted_mask();
        if entry.wd.is_some() && entry.mask == mask {
            return Ok(());
        }
        let old = entry.wd.take();
        let added = inotify.add_watch(dir, mask | AddWatchFlags::IN_ONLYDIR);
        if let Ok(wd) = added {
            entry.wd = Some(wd);
            entry.mask = mask;
        }
        // The path now names another inode (or none): the old watch is of no use.
        if let Some(old) = old
            && added != Ok(old)
        {
            self.release_dir(inotify, dir, old);
        }
        match added {
            Ok(wd) => {
                let previous = self.watches.insert(wd, Watched::Dir(dir.to_path_buf()));
                if let Some(Watched::Dir(other)) = previous
                    && other != dir
                    && let Some(other) = self.dirs.get_mut(&other)
                    && other.wd == Some(wd)
                {
                    // The inode moved here from `other`, which no longer has a watch (it is
                    // forgotten, or watched again, when its parent's event is read).
                    other.wd = None;
                }
                Ok(())
            }
            Err(error) => {
                self.dirs.remove(dir);
                Err(error)
            }
        }
    }

    /// Drops `dir` and its watch.
    pub fn unwatch_dir(&mut self, inotify: &Inotify, dir: &Path) {
        if let Some(entry) = self.dirs.remove(dir)
            && let Some(wd) = entry.wd
        {
            self.release_dir(inotify, dir, wd);
        }
    }

    /// Removes the watch `wd` that `dir` held, unless it now stands for another path.
    fn release_dir(&mut self, inotify: &Inotify, dir: &Path, wd: WatchDescriptor) {
        if matches!(self.watches.get(&wd), Some(Watched::Dir(path)) if path == dir) {
            self.watches.remove(&wd);
            // Fails harmlessly when the kernel already dropped it (the directory is gone).
            let _ = inotify.rm_watch(wd);
        }
    }

    /// Gives each of `files` (the manifest's files that exist now) a watch of its own, added
    /// again for a file that was replaced (a new inode), and takes it from any other file.
    pub fn watch_manifest_files(&mut self, inotify: &Inotify, files: &BTreeSet<PathBuf>) {
        let stale: Vec<PathBuf> = self
            .manifest_files
            .keys()
            .filter(|path| !files.contains(*path))
            .cloned()
            .collect();
        for path in stale {
            if let Some(wd) = self.manifest_files.remove(&path) {
                self.release_file(inotify, wd);
            }
        }
        for path in files {
            let added = inotify.add_watch(
                path.as_path(),
                MANIFEST_FILE | AddWatchFlags::IN_DONT_FOLLOW,
            );
            let old = match added {
                Ok(wd) => {
                    if let Some(Watched::Dir(dir)) = self.watches.get(&wd) {
                        // Replaced by a directory that is watched as one since it was looked
                        // at: give it its mask back.
                        let dir = dir.clone();
                        if let Some(entry) = self.dirs.get_mut(&dir) {
                            entry.mask = AddWatchFlags::empty();
                        }
                        let _ = self.watch_dir(inotify, &dir);
                        continue;
                    }
                    self.watches.insert(wd, Watched::ManifestFile);
                    self.manifest_files.insert(path.clone(), wd)
                }
                // Gone since it was looked at: its directory's watch sees it come back.
                Err(_) => self.manifest_files.remove(path),
            };
            if let Some(old) = old
                && added != Ok(old)
            {
                self.release_file(inotify, old);
            }
        }
    }

    /// Removes the file watch `wd`, unless another manifest file (a hard link) still has it.
    fn release_file(&mut self, inotify: &Inotify, wd: WatchDescriptor) {
        let shared = self.manifest_files.values().any(|w| *w == wd);
        if !shared && self.watches.get(&wd) == Some(&Watched::ManifestFile) {
            self.watches.remove(&wd);
            let _ = inotify.rm_watch(wd);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use nix::sys::inotify::InitFlags;

    use super::*;
    use crate::watch::ProcessWatch;

    const P: &str = "/nonexistent-procmux-test/p";

    /// Routes for a manifest in `P` and a process watching `src/**/*.rs` there, with watch
    /// descriptors from a real instance (on folders of its own: only the numbers are used).
    struct Fixture {
        routes: Routes,
        root: WatchDescriptor,
        src: WatchDescriptor,
        src_a: WatchDescriptor,
        manifest_file: WatchDescriptor,
        _inotify: Inotify,
        _temp: tempfile::TempDir,
    }

    fn fixture() -> Fixture {
        let temp = tempfile::tempdir().unwrap();
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC).unwrap();
        let mut wds = Vec::new();
        for name in ["root", "src", "src_a", "file"] {
            let dir = temp.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            wds.push(inotify.add_watch(&dir, AddWatchFlags::IN_CREATE).unwrap());
        }
        let mut routes = Routes::default();
        let rules = Rules::new(&ProcessWatch {
            cwd: P.into(),
            watch: vec!["src/**/*.rs".into()],
            ignore: Vec::new(),
            debounce: Duration::from_millis(100),
        })
        .unwrap();
        routes.processes.insert("api".into(), rules);
        let api = Owner::Process("api".into());
        for (dir, owner, wd) in [
            (P.to_owned(), Owner::Manifest, wds[0]),
            (format!("{P}/src"), api.clone(), wds[1]),
            (format!("{P}/src/a"), api.clone(), wds[2]),
        ] {
            routes.need_dir(Path::new(&dir), &owner);
            routes.dirs.get_mut(Path::new(&dir)).unwrap().wd = Some(wd);
            routes.watches.insert(wd, Watched::Dir(dir.into()));
        }
        routes.watches.insert(wds[3], Watched::ManifestFile);
        routes
            .manifest_files
            .insert(format!("{P}/procmux.toml").into(), wds[3]);
        routes.manifest.insert(format!("{P}/procmux.toml").into());
        Fixture {
            routes,
            root: wds[0],
            src: wds[1],
            src_a: wds[2],
            manifest_file: wds[3],
            _inotify: inotify,
            _temp: temp,
        }
    }

    fn event(wd: WatchDescriptor, mask: AddWatchFlags, name: Option<&str>) -> Raw<'_> {
        Raw {
            wd,
            mask,
            name: name.map(OsStr::new),
        }
    }

    const CLOSE_WRITE: AddWatchFlags = AddWatchFlags::IN_CLOSE_WRITE;
    const NEW_DIR: AddWatchFlags = AddWatchFlags::IN_CREATE.union(AddWatchFlags::IN_ISDIR);
    const GONE_DIR: AddWatchFlags = AddWatchFlags::IN_DELETE.union(AddWatchFlags::IN_ISDIR);

    fn change(path: &str) -> Routed {
        Routed::Change {
            key: "api".into(),
            path: format!("{P}/{path}").into(),
        }
    }

    #[test]
    fn writes_no_one_cares_about_go_nowhere() {
        let Fixture {
            routes: mut r,
            root,
            src,
            ..
        } = fixture();
        assert_eq!(r.route(event(root, CLOSE_WRITE, Some("app.log"))), []);
        assert_eq!(r.route(event(src, CLOSE_WRITE, Some("notes.txt"))), []);
        let attrib = AddWatchFlags::IN_ATTRIB;
        assert_eq!(r.route(event(root, attrib, Some("procmux.toml"))), []);
        assert_eq!((r.read, r.forwarded), (3, 0));
    }

    #[test]
    fn manifest_and_process_changes_are_routed() {
        let f = fixture();
        let mut r = f.routes;
        assert_eq!(
            r.route(event(f.root, CLOSE_WRITE, Some("procmux.toml"))),
            [Routed::Manifest]
        );
        let moved_in = AddWatchFlags::IN_MOVED_TO;
        assert_eq!(
            r.route(event(f.root, moved_in, Some("procmux.toml"))),
            [Routed::Manifest]
        );
        assert_eq!(
            r.route(event(f.manifest_file, AddWatchFlags::IN_MODIFY, None)),
            [Routed::Manifest]
        );
        assert_eq!(
            r.route(event(f.src_a, CLOSE_WRITE, Some("b.rs"))),
            [change("src/a/b.rs")]
        );
        let attrib = AddWatchFlags::IN_ATTRIB;
        assert_eq!(
            r.route(event(f.src_a, attrib, Some("b.rs"))),
            [change("src/a/b.rs")],
            "a metadata change restarts"
        );
        assert_eq!(
            r.route(event(f.src, NEW_DIR, Some("new"))),
            [Routed::NewPath {
                key: "api".into(),
                path: format!("{P}/src/new").into()
            }]
        );
        let new_file = AddWatchFlags::IN_CREATE;
        assert_eq!(
            r.route(event(f.src, new_file, Some("new.rs"))),
            [change("src/new.rs")],
            "a new file is a change, not a folder to watch"
        );
        assert_eq!(r.forwarded, 7);
    }

    #[test]
    fn a_removed_base_is_looked_for_again_and_an_inner_folder_is_not() {
        let f = fixture();
        let mut r = f.routes;
        assert_eq!(r.route(event(f.src, GONE_DIR, Some("a"))), []);
        assert_eq!(r.gone, [f.src_a]);
        assert!(!r.watches.contains_key(&f.src_a));
        // Its last events go nowhere.
        assert_eq!(r.route(event(f.src_a, CLOSE_WRITE, Some("b.rs"))), []);
        assert_eq!(
            r.route(event(f.root, GONE_DIR, Some("src"))),
            [Routed::Resync("api".into())]
        );
        assert!(!r.dirs.contains_key(Path::new(&format!("{P}/src"))));
        assert_eq!(r.gone, [f.src_a, f.src]);
    }

    #[test]
    fn a_watched_folder_that_leaves_its_path_loses_its_watch() {
        let f = fixture();
        let mut r = f.routes;
        // Moved away: its watch would follow it under a stale name.
        let moved = AddWatchFlags::IN_MOVE_SELF;
        assert_eq!(
            r.route(event(f.src, moved, None)),
            [Routed::Resync("api".into())]
        );
        let mut gone = r.gone.clone();
        gone.sort();
        assert_eq!(gone, [f.src, f.src_a], "the folder and the one inside it");
        assert!(r.dirs.keys().all(|d| d == Path::new(P)));
        // The manifest's own folder, removed: a look at the manifest.
        let ignored = AddWatchFlags::IN_IGNORED;
        assert_eq!(r.route(event(f.root, ignored, None)), [Routed::Manifest]);
        assert!(r.dirs.is_empty());
    }

    #[test]
    fn an_overflow_looks_at_everything_again() {
        let f = fixture();
        let mut r = f.routes;
        let overflow = event(f.root, AddWatchFlags::IN_Q_OVERFLOW, None);
        assert_eq!(
            r.route(overflow),
            [
                Routed::Manifest,
                Routed::Resync("api".into()),
                Routed::Change {
                    key: "api".into(),
                    path: P.into()
                }
            ]
        );
    }

    #[test]
    fn a_manifest_files_watch_ends_with_its_ignored_event() {
        let f = fixture();
        let mut r = f.routes;
        let ignored = AddWatchFlags::IN_IGNORED;
        assert_eq!(r.route(event(f.manifest_file, ignored, None)), []);
        assert!(!r.watches.contains_key(&f.manifest_file));
    }
}
