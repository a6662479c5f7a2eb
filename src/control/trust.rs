//! Who may use the socket: the folder rules and the peer rule, as pure decisions, and the
//! folder's creation.
//!
//! The socket's folder is the first defence: created 0700, it keeps every other user from even
//! reaching the socket. A folder that someone else owns or can write to could hold a socket of
//! theirs (a client would talk to their server) or let them replace ours, so both the server
//! and the clients refuse it, as well as a symlink in its place. The second defence is the
//! peer's credentials on every connection: a server answers only its own uid, and a client
//! talks only to a server of its own uid.

use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::Path;

use super::error::FolderProblem;

/// What the rules look at in a folder (from `lstat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderFacts {
    /// It is a symbolic link (to anything).
    pub is_symlink: bool,
    /// It is a directory.
    pub is_dir: bool,
    /// Its owner's uid.
    pub owner: u32,
    /// Its permission bits.
    pub mode: u32,
}

impl FolderFacts {
    /// The facts of the folder at `path`, not following a symlink.
    pub fn of(path: &Path) -> io::Result<Self> {
        let meta = std::fs::symlink_metadata(path)?;
        Ok(FolderFacts {
            is_symlink: meta.file_type().is_symlink(),
            is_dir: meta.is_dir(),
            owner: meta.uid(),
            mode: meta.mode() & 0o7777,
        })
    }
}

/// Whether a folder with these facts may hold the socket of user `uid`.
pub fn check_folder(facts: FolderFacts, uid: u32) -> Result<(), FolderProblem> {
    if facts.is_symlink {
        Err(FolderProblem::Symlink)
    } else if !facts.is_dir {
        Err(FolderProblem::NotADirectory)
    } else if facts.owner != uid {
        Err(FolderProblem::OwnedBy(facts.owner))
    } else if facts.mode & 0o022 != 0 {
        Err(FolderProblem::Writable(facts.mode))
    } else {
        Ok(())
    }
}

/// Whether the server answers a peer with these credentials (`None`: unknown): only its own
/// user.
pub fn admits(peer_uid: Option<u32>, uid: u32) -> bool {
    peer_uid == Some(uid)
}

/// Creates `dir` 0700 unless it exists (its parent must), then checks it.
pub(crate) fn ensure_folder(dir: &Path, uid: u32) -> Result<(), FolderError> {
    match DirBuilder::new().mode(0o700).create(dir) {
        // Exactly 0700 whatever the umask (which can only have removed bits).
        Ok(()) => std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(FolderError::Io)?,
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(FolderError::Io(error)),
    }
    check_folder(FolderFacts::of(dir).map_err(FolderError::Io)?, uid).map_err(FolderError::Unsafe)
}

/// Why [`ensure_folder`] failed (turned into the caller's error type).
#[derive(Debug)]
pub(crate) enum FolderError {
    /// Creating or reading it failed.
    Io(io::Error),
    /// It exists and may not be used.
    Unsafe(FolderProblem),
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: u32 = 1000;

    fn dir(owner: u32, mode: u32) -> FolderFacts {
        FolderFacts {
            is_symlink: false,
            is_dir: true,
            owner,
            mode,
        }
    }

    #[test]
    fn folder_rules() {
        assert_eq!(check_folder(dir(ME, 0o700), ME), Ok(()));
        // Others may look and traverse; the socket itself is 0600 and checks the peer.
        assert_eq!(check_folder(dir(ME, 0o755), ME), Ok(()));
        assert_eq!(
            check_folder(dir(0, 0o700), ME),
            Err(FolderProblem::OwnedBy(0))
        );
        assert_eq!(
            check_folder(dir(ME, 0o770), ME),
            Err(FolderProblem::Writable(0o770))
        );
        assert_eq!(
            check_folder(dir(ME, 0o1777), ME),
            Err(FolderProblem::Writable(0o1777))
        );
        let link = FolderFacts {
            is_symlink: true,
            ..dir(ME, 0o777)
        };
        assert_eq!(check_folder(link, ME), Err(FolderProblem::Symlink));
        let file = FolderFacts {
            is_dir: false,
            ..dir(ME, 0o600)
        };
        assert_eq!(check_folder(file, ME), Err(FolderProblem::NotADirectory));
    }

    #[test]
    fn peer_rule() {
        assert!(admits(Some(ME), ME));
        assert!(!admits(Some(0), ME));
        assert!(!admits(Some(ME), 0));
        assert!(!admits(None, ME));
    }

    #[test]
    fn the_folder_is_created_0700_and_checked() {
        let uid = nix::unistd::geteuid().as_raw();
        let base = tempfile::tempdir().expect("tempdir");
        let folder = base.path().join("procmux");
        ensure_folder(&folder, uid).expect("created");
        let facts = FolderFacts::of(&folder).expect("exists");
        assert_eq!(facts.mode, 0o700);
        assert_eq!(facts.owner, uid);
        // Existing and fine: used as it is.
        ensure_folder(&folder, uid).expect("reused");
        // Opened up to others: refused.
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        assert!(matches!(
            ensure_folder(&folder, uid),
            Err(FolderError::Unsafe(FolderProblem::Writable(0o777)))
        ));
        // Someone else's: refused (checked as another uid, since the test cannot chown).
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        assert!(matches!(
            ensure_folder(&folder, uid + 1),
            Err(FolderError::Unsafe(FolderProblem::OwnedBy(owner))) if owner == uid
        ));
        // A symlink to a good folder: refused.
        let link = base.path().join("link");
        std::os::unix::fs::symlink(&folder, &link).expect("symlink");
        assert!(matches!(
            ensure_folder(&link, uid),
            Err(FolderError::Unsafe(FolderProblem::Symlink))
        ));
        // A missing parent is an I/O error, not a reason to create it.
        assert!(matches!(
            ensure_folder(&base.path().join("no/such"), uid),
            Err(FolderError::Io(_))
        ));
    }
}
