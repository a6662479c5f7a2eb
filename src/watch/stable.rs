//! When a reload may read the manifest: the stability rule, pure, on [`Snapshot`]s.
//!
//! A reload runs after the files have been quiet for the debounce. Then: a snapshot (size,
//! mtime, inode of each source), the load, and a second snapshot; if the two differ, the
//! files changed during the read and the load is thrown away and tried again. A file that
//! has *just become empty* is taken for the first half of a truncate-then-write save and
//! given [`EMPTY_GRACE`] to be filled before it is read (a manifest written by a slow
//! script, or an editor that pauses between the two). A deleted manifest is not a reload:
//! it is reported once, and the next load happens when it is back.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long a file that just became empty is waited on before it is read as it is.
pub const EMPTY_GRACE: Duration = Duration::from_secs(1);

/// What `stat` says of one file (following symbolic links).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileState {
    /// It does not exist (or a link points nowhere).
    Absent,
    /// It exists.
    Present {
        /// Size in bytes.
        len: u64,
        /// Last modification.
        modified: Option<SystemTime>,
        /// Device and inode: a save by rename gives a new inode.
        id: (u64, u64),
    },
    /// It cannot be read; the load will say why.
    Unreadable(io::ErrorKind),
    /// Not looked at yet (a file a reload named for the first time): differs from any state.
    Unseen,
}

impl FileState {
    /// The state of `path` now.
    pub fn of(path: &Path) -> Self {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(path) {
            Ok(meta) => Self::Present {
                len: meta.len(),
                modified: meta.modified().ok(),
                id: (meta.dev(), meta.ino()),
            },
            Err(error) if error.kind() == io::ErrorKind::NotFound => Self::Absent,
            Err(error) => Self::Unreadable(error.kind()),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Self::Present { len: 0, .. })
    }
}

/// The state of each source, manifest first.
pub(crate) type Snapshot = Vec<(PathBuf, FileState)>;

/// Takes a snapshot of `sources`.
pub(crate) fn snapshot(sources: &[PathBuf]) -> Snapshot {
    sources
        .iter()
        .map(|path| (path.clone(), FileState::of(path)))
        .collect()
}

/// What to do with the files as they are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Nothing changed since the last load (or the removal was already reported).
    Nothing,
    /// The manifest is gone: say so once, change nothing.
    Removed,
    /// A file just became empty: look again after this long.
    Wait(Duration),
    /// Load.
    Load,
}

/// Decides, from the snapshot of the last load (`last`) and the one now, whether to load.
/// `empty_for` is how long a file has been seen just-emptied (`None`: not seen before).
pub(crate) fn decide(
    last: &Snapshot,
    now: &Snapshot,
    removed_reported: bool,
    empty_for: Option<Duration>,
) -> Decision {
    if now.first().is_none_or(|(_, s)| *s == FileState::Absent) {
        return if removed_reported {
            Decision::Nothing
        } else {
            Decision::Removed
        };
    }
    if last == now {
        return Decision::Nothing;
    }
    let previous = |path: &Path| last.iter().find(|(p, _)| p == path).map(|(_, s)| s);
    let just_emptied = now
        .iter()
        .any(|(path, state)| state.is_empty() && previous(path) != Some(state));
    match (just_emptied, empty_for) {
        (true, None) => Decision::Wait(EMPTY_GRACE),
        (true, Some(waited)) if waited < EMPTY_GRACE => Decision::Wait(EMPTY_GRACE - waited),
        _ => Decision::Load,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn present(len: u64, inode: u64) -> FileState {
        FileState::Present {
            len,
            modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(inode)),
            id: (1, inode),
        }
    }

    fn snap(states: &[FileState]) -> Snapshot {
        states
            .iter()
            .enumerate()
            .map(|(i, s)| (PathBuf::from(format!("/p/{i}")), s.clone()))
            .collect()
    }

    #[test]
    fn unchanged_files_are_not_loaded_again() {
        let s = snap(&[present(10, 1), FileState::Absent]);
        assert_eq!(decide(&s, &s.clone(), false, None), Decision::Nothing);
    }

    #[test]
    fn a_changed_file_is_loaded() {
        let last = snap(&[present(10, 1)]);
        let now = snap(&[present(12, 2)]);
        assert_eq!(decide(&last, &now, false, None), Decision::Load);
    }

    #[test]
    fn a_removed_manifest_is_reported_once() {
        let last = snap(&[present(10, 1)]);
        let now = snap(&[FileState::Absent]);
        assert_eq!(decide(&last, &now, false, None), Decision::Removed);
        assert_eq!(decide(&now, &now, true, None), Decision::Nothing);
        assert_eq!(decide(&last, &now, true, None), Decision::Nothing);
        let back = snap(&[present(10, 3)]);
        assert_eq!(decide(&now, &back, true, None), Decision::Load);
    }

    #[test]
    fn a_file_that_just_became_empty_is_given_time_to_be_filled() {
        let last = snap(&[present(10, 1), present(5, 2)]);
        let truncated = snap(&[present(0, 3), present(5, 2)]);
        assert_eq!(
            decide(&last, &truncated, false, None),
            Decision::Wait(EMPTY_GRACE)
        );
        assert_eq!(
            decide(&last, &truncated, false, Some(Duration::from_millis(400))),
            Decision::Wait(EMPTY_GRACE - Duration::from_millis(400))
        );
        assert_eq!(
            decide(&last, &truncated, false, Some(EMPTY_GRACE)),
            Decision::Load,
            "a file left empty is read as it is"
        );
        let env_emptied = snap(&[present(10, 1), present(0, 4)]);
        assert_eq!(
            decide(&last, &env_emptied, false, None),
            Decision::Wait(EMPTY_GRACE)
        );
    }

    #[test]
    fn a_file_already_empty_at_the_last_load_is_not_waited_on() {
        let last = snap(&[present(10, 1), present(0, 2)]);
        let now = snap(&[present(11, 3), present(0, 2)]);
        assert_eq!(decide(&last, &now, false, None), Decision::Load);
    }
}
