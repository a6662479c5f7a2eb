//! Which paths and directories the manifest and its env files need watched, worked out from
//! the file system as it is now (so it is worked out again after every change).
//!
//! - A file is watched through its directory (a save by rename replaces the file's inode),
//!   and only events naming the file count; one that exists has a watch of its own too
//!   (`reload.rs`), for writes that are not followed by a close.
//! - A symbolic link counts twice: the link (re-pointing it is a change) and, hop by hop,
//!   what it points to (editing the target is a change).
//! - A directory that does not exist is replaced by its nearest existing ancestor, with the
//!   missing child as the path that counts: when it appears, the paths are worked out again.
//! - Directories are named with their symbolic links resolved, because that is how inotify
//!   reports the paths in them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::plan::normalize;

/// How many symbolic links are followed from one source (as the kernel's `ELOOP` limit).
const MAX_HOPS: usize = 40;

/// The paths whose changes matter and the directories to watch for them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Interest {
    /// Full paths (resolved directory, file name) whose events count.
    pub paths: BTreeSet<PathBuf>,
    /// Directories to watch, non-recursively.
    pub dirs: BTreeSet<PathBuf>,
}

/// The interest of `sources` (absolute paths).
pub(crate) fn interest(sources: &[PathBuf]) -> Interest {
    let mut interest = Interest::default();
    for source in sources {
        for hop in hops(source) {
            anchor(&hop, &mut interest);
        }
    }
    interest
}

/// `source`, then each path its symbolic links lead to.
fn hops(source: &Path) -> Vec<PathBuf> {
    let mut hops = vec![normalize(source)];
    while hops.len() <= MAX_HOPS {
        let last = &hops[hops.len() - 1];
        let Ok(target) = std::fs::read_link(last) else {
            break;
        };
        let next = match last.parent() {
            Some(parent) => normalize(&parent.join(target)),
            None => normalize(&target),
        };
        if hops.contains(&next) {
            break;
        }
        hops.push(next);
    }
    hops
}

/// Adds `path` by its nearest existing ancestor directory.
pub(crate) fn anchor(path: &Path, interest: &mut Interest) {
    let mut child = path;
    while let Some(parent) = child.parent() {
        if let Ok(dir) = std::fs::canonicalize(parent)
            && dir.is_dir()
            && let Some(name) = child.file_name()
        {
            interest.paths.insert(dir.join(name));
            interest.dirs.insert(dir);
            return;
        }
        child = parent;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_missing_directory_is_replaced_by_its_nearest_ancestor() {
        let temp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(temp.path()).unwrap();
        let found = interest(&[root.join("cfg/deep/procmux.toml")]);
        assert_eq!(found.dirs, BTreeSet::from([root.clone()]));
        assert_eq!(found.paths, BTreeSet::from([root.join("cfg")]));
    }

    #[test]
    fn a_link_counts_with_its_target() {
        let temp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(temp.path()).unwrap();
        std::fs::create_dir(root.join("real")).unwrap();
        std::fs::write(root.join("real/x.toml"), "").unwrap();
        std::os::unix::fs::symlink("real/x.toml", root.join("procmux.toml")).unwrap();
        let found = interest(&[root.join("procmux.toml")]);
        assert_eq!(
            found.paths,
            BTreeSet::from([root.join("procmux.toml"), root.join("real/x.toml")])
        );
        assert_eq!(
            found.dirs,
            BTreeSet::from([root.clone(), root.join("real")])
        );
    }

    #[test]
    fn a_link_loop_ends() {
        let temp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(temp.path()).unwrap();
        std::os::unix::fs::symlink("b", root.join("a")).unwrap();
        std::os::unix::fs::symlink("a", root.join("b")).unwrap();
        let found = interest(&[root.join("a")]);
        assert_eq!(found.paths.len(), 2);
    }
}
