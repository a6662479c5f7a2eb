//! [`Routes`]: who needs which watched directory, and the routing of each notify event to
//! the processes and the manifest it concerns. This runs on notify's thread, for every event
//! inotify delivers, so it stays cheap: a few hash lookups for an event no one cares about
//! (a log written beside the manifest), and no allocation then. Only events that matter
//! leave this thread, so the rest never wake procmux's event loop.
//!
//! The routes are shared with the worker (which adds and removes watches) behind one mutex;
//! the worker never holds it while it calls notify, whose thread may be waiting for it here.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind, RenameMode};
use notify::{Event, EventKind};

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
    /// A path appeared in a process's watched directory: if it is a directory, watch it.
    NewPath {
        /// The process.
        key: String,
        /// The new path.
        path: PathBuf,
    },
}

/// The shared routing table.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    /// Each watched directory and who needs it.
    pub dirs: HashMap<PathBuf, BTreeSet<Owner>>,
    /// Paths that do not exist yet (a missing directory's name in its nearest existing
    /// ancestor): when one changes, its owners' watches are worked out again.
    pub anchors: HashMap<PathBuf, BTreeSet<Owner>>,
    /// The manifest's paths: its files (and their link targets), and its missing directories.
    pub manifest: HashSet<PathBuf>,
    /// Each process's rules, by key.
    pub processes: HashMap<String, Rules>,
    /// Watched directories that were removed or moved: notify may still hold a watch under
    /// that name, which the worker drops before watching the name again.
    pub gone: Vec<PathBuf>,
    /// How many notify events were passed on (routed somewhere): the others cost procmux
    /// nothing beyond notify's thread.
    pub forwarded: u64,
}

impl Routes {
    /// Routes one notify event.
    pub fn route(&mut self, event: &Event) -> Vec<Routed> {
        let mut out = Vec::new();
        if event.need_rescan() {
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
        if !is_change(&event.kind) {
            return out;
        }
        for path in &event.paths {
            self.route_path(event.kind, path, &mut out);
        }
        if !out.is_empty() {
            self.forwarded += 1;
        }
        out
    }

    fn route_path(&mut self, kind: EventKind, path: &Path, out: &mut Vec<Routed>) {
        if is_gone(&kind) && self.dirs.contains_key(path) {
            self.forget_tree(path, out);
        }
        if let Some(owners) = self.anchors.get(path) {
            out.extend(owners.iter().map(|owner| match owner {
                Owner::Manifest => Routed::Manifest,
                Owner::Process(key) => Routed::Resync(key.clone()),
            }));
        }
        if self.manifest.contains(path)
            && !matches!(kind, EventKind::Modify(ModifyKind::Metadata(_)))
        {
            out.push(Routed::Manifest);
        }
        let Some(owners) = path.parent().and_then(|parent| self.dirs.get(parent)) else {
            return;
        };
        let keys: Vec<String> = owners
            .iter()
            .filter_map(|owner| match owner {
                Owner::Process(key) => Some(key.clone()),
                Owner::Manifest => None,
            })
            .collect();
        let is_dir = matches!(
            kind,
            EventKind::Create(CreateKind::Folder) | EventKind::Remove(RemoveKind::Folder)
        );
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
            if may_be_new_dir(&kind) {
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

    /// Drops `dir` and every watched directory under it; their owners look again.
    fn forget_tree(&mut self, dir: &Path, out: &mut Vec<Routed>) {
        let mut owners = BTreeSet::new();
        let gone = &mut self.gone;
        let processes = &self.processes;
        self.dirs.retain(|watched, who| {
            if !watched.starts_with(dir) {
                return true;
            }
            for owner in who.iter() {
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
            gone.push(watched.clone());
            false
        });
        out.extend(owners.into_iter().map(|owner| match owner {
            Owner::Manifest => Routed::Manifest,
            Owner::Process(key) => Routed::Resync(key),
        }));
    }
}

/// Whether an event may have changed a file. Opening and reading (procmux's own loads among
/// them) do not; a metadata change does for processes (`touch` is a way to ask for a
/// restart) but not for the manifest.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Whether the event says a path went away from where it was.
fn is_gone(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Remove(_)
            | EventKind::Modify(ModifyKind::Name(RenameMode::From | RenameMode::Any))
    )
}

/// Whether the event may be a directory appearing (created, or moved in).
fn may_be_new_dir(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(CreateKind::Folder | CreateKind::Any | CreateKind::Other)
            | EventKind::Modify(ModifyKind::Name(
                RenameMode::To | RenameMode::Both | RenameMode::Any
            ))
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use notify::event::DataChange;

    use super::*;
    use crate::watch::ProcessWatch;

    fn event(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    const WRITE: EventKind = EventKind::Modify(ModifyKind::Data(DataChange::Any));

    fn routes() -> Routes {
        let mut routes = Routes::default();
        let rules = Rules::new(&ProcessWatch {
            cwd: "/nonexistent-procmux-test/p".into(),
            watch: vec!["src/**/*.rs".into()],
            ignore: Vec::new(),
            debounce: Duration::from_millis(100),
        })
        .unwrap();
        routes.processes.insert("api".into(), rules);
        let owners = |o: &[Owner]| o.iter().cloned().collect::<BTreeSet<_>>();
        routes.dirs.insert(
            "/nonexistent-procmux-test/p".into(),
            owners(&[Owner::Manifest]),
        );
        routes.dirs.insert(
            "/nonexistent-procmux-test/p/src".into(),
            owners(&[Owner::Process("api".into())]),
        );
        routes.dirs.insert(
            "/nonexistent-procmux-test/p/src/a".into(),
            owners(&[Owner::Process("api".into())]),
        );
        routes
            .manifest
            .insert("/nonexistent-procmux-test/p/procmux.toml".into());
        routes
    }

    #[test]
    fn writes_no_one_cares_about_go_nowhere() {
        let mut r = routes();
        for path in [
            "/nonexistent-procmux-test/p/app.log",
            "/nonexistent-procmux-test/p/src/notes.txt",
        ] {
            assert_eq!(r.route(&event(WRITE, path)), [], "{path}");
        }
        let open = EventKind::Access(AccessKind::Open(AccessMode::Any));
        assert_eq!(
            r.route(&event(open, "/nonexistent-procmux-test/p/procmux.toml")),
            []
        );
        assert_eq!(r.forwarded, 0);
    }

    #[test]
    fn manifest_and_process_changes_are_routed() {
        let mut r = routes();
        assert_eq!(
            r.route(&event(WRITE, "/nonexistent-procmux-test/p/procmux.toml")),
            [Routed::Manifest]
        );
        assert_eq!(
            r.route(&event(WRITE, "/nonexistent-procmux-test/p/src/a/b.rs")),
            [Routed::Change {
                key: "api".into(),
                path: "/nonexistent-procmux-test/p/src/a/b.rs".into()
            }]
        );
        let created = EventKind::Create(CreateKind::Folder);
        assert_eq!(
            r.route(&event(created, "/nonexistent-procmux-test/p/src/new")),
            [Routed::NewPath {
                key: "api".into(),
                path: "/nonexistent-procmux-test/p/src/new".into()
            }]
        );
        assert_eq!(r.forwarded, 3);
    }

    #[test]
    fn a_removed_base_is_looked_for_again_and_an_inner_folder_is_not() {
        let mut r = routes();
        let removed = EventKind::Remove(RemoveKind::Folder);
        assert_eq!(
            r.route(&event(removed, "/nonexistent-procmux-test/p/src/a")),
            []
        );
        assert_eq!(r.gone, [PathBuf::from("/nonexistent-procmux-test/p/src/a")]);
        assert_eq!(
            r.route(&event(removed, "/nonexistent-procmux-test/p/src")),
            [Routed::Resync("api".into())]
        );
        assert!(
            !r.dirs
                .contains_key(Path::new("/nonexistent-procmux-test/p/src"))
        );
    }
}
