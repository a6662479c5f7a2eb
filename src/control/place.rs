//! Where the socket of a manifest lives: a pure function of the manifest's canonical path and
//! three facts of the environment, so that the server and every client agree on it.
//!
//! The socket is `$XDG_RUNTIME_DIR/procmux/<id>.sock`, else
//! `${TMPDIR:-/tmp}/procmux-<uid>/<id>.sock`, where `<id>` is the 64-bit FNV-1a hash of the
//! canonical manifest path in 16 hex digits. A Unix socket path must fit in `sun_path`
//! (108 bytes with its final NUL), and the hash keeps it short whatever the manifest's path;
//! should a long `XDG_RUNTIME_DIR` or `TMPDIR` still make it too long, the next candidate is
//! used (`TMPDIR`, then `/tmp`). Beside the socket, `<id>.lock` is held (flock) by the server
//! for its whole life, so two servers never race for the socket (see `claim.rs`).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::error::PlaceError;

/// The longest socket path that fits in `sun_path` (108 bytes, one of them the NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// The facts of the environment the socket's place depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketEnv {
    /// `XDG_RUNTIME_DIR`, when set.
    pub runtime_dir: Option<PathBuf>,
    /// `TMPDIR`, when set.
    pub tmp_dir: Option<PathBuf>,
    /// The effective uid: the owner of the folder and of the socket.
    pub uid: u32,
}

impl SocketEnv {
    /// The facts of this process. An `XDG_RUNTIME_DIR` that is not an existing folder (a
    /// shell that kept it after `su`, a session that ended) counts as unset, so that server
    /// and clients fall back to the same `TMPDIR` place instead of failing.
    pub fn from_env() -> Self {
        SocketEnv {
            runtime_dir: std::env::var_os("XDG_RUNTIME_DIR")
                .map(PathBuf::from)
                .filter(|dir| dir.is_dir()),
            tmp_dir: std::env::var_os("TMPDIR").map(PathBuf::from),
            uid: nix::unistd::geteuid().as_raw(),
        }
    }

    /// An environment whose sockets live in `runtime_dir` (for tests).
    pub fn in_runtime_dir(runtime_dir: impl Into<PathBuf>) -> Self {
        SocketEnv {
            runtime_dir: Some(runtime_dir.into()),
            tmp_dir: None,
            uid: nix::unistd::geteuid().as_raw(),
        }
    }
}

/// The paths that belong to one manifest's server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The folder (created 0700, owned by the user).
    pub dir: PathBuf,
    /// The socket (0600).
    pub socket: PathBuf,
    /// The lock file the server holds while it lives.
    pub lock: PathBuf,
}

/// The place for the manifest at `canonical` (see [`canonical_manifest`]).
pub fn place(canonical: &Path, env: &SocketEnv) -> Result<Place, PlaceError> {
    let id = format!("{:016x}", fnv1a(canonical.as_os_str()));
    let usable = |dir: &Option<PathBuf>| dir.as_ref().filter(|dir| dir.is_absolute()).cloned();
    let tmp = usable(&env.tmp_dir).unwrap_or_else(|| PathBuf::from("/tmp"));
    let user_folder = format!("procmux-{}", env.uid);
    let mut candidates = Vec::new();
    if let Some(runtime) = usable(&env.runtime_dir) {
        candidates.push(runtime.join("procmux"));
    }
    candidates.push(tmp.join(&user_folder));
    candidates.push(Path::new("/tmp").join(&user_folder));
    let socket_of = |dir: &Path| dir.join(format!("{id}.sock"));
    candidates
        .iter()
        .find(|dir| socket_of(dir).as_os_str().len() <= MAX_SOCKET_PATH)
        .map(|dir| Place {
            dir: dir.clone(),
            socket: socket_of(dir),
            lock: dir.join(format!("{id}.lock")),
        })
        .ok_or_else(|| PlaceError {
            socket: socket_of(&candidates[0]),
        })
}

/// The path the socket is named after: the manifest's canonical path (symlinks resolved), or,
/// when it cannot be resolved (the file was deleted), its absolute path as given, so that a
/// client still finds a server whose manifest is gone.
pub fn canonical_manifest(manifest: &Path) -> PathBuf {
    std::fs::canonicalize(manifest).unwrap_or_else(|_| {
        std::path::absolute(manifest).unwrap_or_else(|_| manifest.to_path_buf())
    })
}

/// 64-bit FNV-1a: tiny, stable across runs and machines (std's hasher is randomly seeded).
fn fnv1a(text: &OsStr) -> u64 {
    text.as_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(runtime: Option<&str>, tmp: Option<&str>) -> SocketEnv {
        SocketEnv {
            runtime_dir: runtime.map(PathBuf::from),
            tmp_dir: tmp.map(PathBuf::from),
            uid: 1000,
        }
    }

    const MANIFEST: &str = "/home/me/app/procmux.toml";

    fn socket(env: &SocketEnv) -> PathBuf {
        place(Path::new(MANIFEST), env).expect("fits").socket
    }

    #[test]
    fn the_hash_is_fixed() {
        // A change here moves every socket, so clients of an older server lose it: deliberate only.
        assert_eq!(fnv1a(OsStr::new("")), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(OsStr::new("a")), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(
            fnv1a(OsStr::new("/a/procmux.toml")),
            fnv1a(OsStr::new("/b/procmux.toml"))
        );
    }

    #[test]
    fn xdg_runtime_dir_first() {
        let id = format!("{:016x}", fnv1a(OsStr::new(MANIFEST)));
        let place = place(
            Path::new(MANIFEST),
            &env(Some("/run/user/1000"), Some("/var/tmp")),
        )
        .expect("fits");
        assert_eq!(place.dir, Path::new("/run/user/1000/procmux"));
        assert_eq!(
            place.socket,
            PathBuf::from(format!("/run/user/1000/procmux/{id}.sock"))
        );
        assert_eq!(
            place.lock,
            PathBuf::from(format!("/run/user/1000/procmux/{id}.lock"))
        );
    }

    #[test]
    fn else_tmpdir_else_tmp_with_the_uid() {
        let in_tmpdir = socket(&env(None, Some("/var/tmp")));
        assert_eq!(in_tmpdir.parent(), Some(Path::new("/var/tmp/procmux-1000")));
        let in_tmp = socket(&env(None, None));
        assert_eq!(in_tmp.parent(), Some(Path::new("/tmp/procmux-1000")));
        // Empty or relative values are as good as unset.
        assert_eq!(socket(&env(Some(""), Some(""))), in_tmp);
        assert_eq!(socket(&env(Some("run"), Some("tmp"))), in_tmp);
        assert_eq!(in_tmp.file_name(), in_tmpdir.file_name());
    }

    #[test]
    fn the_path_always_fits_in_sun_path() {
        let deep = format!("/{}", "d".repeat(200));
        let long_manifest = format!("{deep}/{deep}/procmux.toml");
        for env in [
            env(Some(&deep), Some(&deep)),
            env(Some("/run/user/1000"), None),
            env(None, Some(&deep)),
        ] {
            let socket = place(Path::new(&long_manifest), &env).expect("fits").socket;
            assert!(socket.as_os_str().len() <= MAX_SOCKET_PATH, "{socket:?}");
        }
        // Too deep a runtime dir falls back to TMPDIR, then to /tmp.
        let socket = socket(&env(Some(&deep), Some("/var/tmp")));
        assert!(socket.starts_with("/var/tmp/procmux-1000"), "{socket:?}");
        let socket = place(Path::new(MANIFEST), &env(Some(&deep), Some(&deep)))
            .expect("fits")
            .socket;
        assert!(socket.starts_with("/tmp/procmux-1000"), "{socket:?}");
    }

    #[test]
    fn a_manifest_has_one_socket_and_two_have_two() {
        let env = env(Some("/run/user/1000"), None);
        let a = place(Path::new("/a/procmux.toml"), &env).expect("fits");
        let b = place(Path::new("/b/procmux.toml"), &env).expect("fits");
        assert_ne!(a.socket, b.socket);
        assert_eq!(a, place(Path::new("/a/procmux.toml"), &env).expect("fits"));
    }

    #[test]
    fn canonical_resolves_symlinks_and_survives_a_missing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("procmux.toml");
        std::fs::write(&real, "").expect("write");
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let canonical_real = std::fs::canonicalize(&real).expect("exists");
        assert_eq!(canonical_manifest(&link), canonical_real);
        let gone = dir.path().join("gone.toml");
        assert_eq!(canonical_manifest(&gone), gone);
    }
}
