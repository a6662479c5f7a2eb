//! Taking the socket of a manifest for one server, and giving it back.
//!
//! The order of steps is what makes two `procmux run` on one manifest safe:
//!
//! 1. The folder is created 0700, or checked when it exists (`trust.rs`).
//! 2. `<id>.lock` is locked with `flock`, without waiting. The kernel releases the lock when
//!    its holder dies, even by SIGKILL, so a held lock means a live server (or one starting):
//!    [`BindError::AlreadyRunning`], with the pid from its `hello` or from the lock file.
//!    Without the lock, two servers could both find a stale socket, and the second would
//!    remove the socket the first had just bound.
//! 3. With the lock, a socket left at the path is connected to: a live server answering
//!    there (one that holds no lock: it cannot be ours) also means `AlreadyRunning`;
//!    connection refused means its server died: the file is removed.
//! 4. The socket is bound and made 0600; the pid is written into the lock file.
//!
//! [`SocketGuard`] gives it all back when dropped: the socket (only if the path still names
//! the socket it bound), then the lock file, then the lock.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use super::error::BindError;
use super::place::{Place, SocketEnv, place};
use super::protocol::{MAX_REQUEST, Reply, Request, decode_reply, encode};
use super::trust::{FolderError, ensure_folder};

/// How long a starting server waits for the `hello` of the one already running (which may be
/// busy or stopped with SIGSTOP): a bound, not a pause.
const HELLO_TIMEOUT: Duration = Duration::from_secs(2);

/// The bound socket with what it takes to give it back.
#[derive(Debug)]
pub(crate) struct Claim {
    /// Listening, non-blocking.
    pub listener: UnixListener,
    /// Removes the socket and the lock file when dropped.
    pub guard: SocketGuard,
}

/// Owns the socket path and the lock while the server lives.
#[derive(Debug)]
pub(crate) struct SocketGuard {
    /// The paths.
    place: Place,
    /// Device and inode of the socket this server bound: a path that names another file by
    /// the time of the drop is not ours to remove.
    socket_id: (u64, u64),
    /// Held until after the files are removed (fields drop after `drop` runs).
    _lock: Flock<File>,
}

impl SocketGuard {
    /// The socket's path.
    pub fn socket(&self) -> &Path {
        &self.place.socket
    }
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        if file_id(&self.place.socket).ok() == Some(self.socket_id) {
            let _ = std::fs::remove_file(&self.place.socket);
        }
        // Removed while the lock is held: a server that opened this file before the removal
        // gets the lock after us, sees the path no longer names it, and starts over.
        let _ = std::fs::remove_file(&self.place.lock);
    }
}

/// Claims the socket for the manifest at `canonical`.
pub(crate) fn claim(canonical: &Path, env: &SocketEnv) -> Result<Claim, BindError> {
    let place = place(canonical, env)?;
    ensure_folder(&place.dir, env.uid).map_err(|error| match error {
        FolderError::Io(source) => BindError::Io {
            action: "create the folder",
            path: place.dir.clone(),
            source,
        },
        FolderError::Unsafe(problem) => BindError::UnsafeFolder {
            dir: place.dir.clone(),
            problem,
        },
    })?;
    let Some(mut lock) = take_lock(&place.lock)? else {
        return Err(already_running(&place, canonical));
    };
    let io_error = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| BindError::Io {
            action,
            path,
            source,
        }
    };
    match UnixStream::connect(&place.socket) {
        Ok(_) => return Err(already_running(&place, canonical)),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound
            ) =>
        {
            match std::fs::remove_file(&place.socket) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(io_error("remove the stale socket", &place.socket)(error));
                }
            }
        }
        Err(error) => return Err(io_error("connect to", &place.socket)(error)),
    }
    let listener = UnixListener::bind(&place.socket).map_err(io_error("bind", &place.socket))?;
    std::fs::set_permissions(&place.socket, std::fs::Permissions::from_mode(0o600))
        .map_err(io_error("set the mode of", &place.socket))?;
    listener
        .set_nonblocking(true)
        .map_err(io_error("configure", &place.socket))?;
    let socket_id = file_id(&place.socket).map_err(io_error("inspect", &place.socket))?;
    // Only for the "already running" message of a later procmux: failing to write it is not
    // worth refusing to serve.
    let _ = lock
        .set_len(0)
        .and_then(|()| writeln!(lock, "{}", std::process::id()));
    Ok(Claim {
        listener,
        guard: SocketGuard {
            place,
            socket_id,
            _lock: lock,
        },
    })
}

/// The lock, or `None` when another process holds it.
fn take_lock(path: &Path) -> Result<Option<Flock<File>>, BindError> {
    let io_error = |source| BindError::Io {
        action: "lock",
        path: path.to_path_buf(),
        source,
    };
    // A few rounds: each one lost means a server removed the file as we opened it.
    for _ in 0..8 {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io_error)?;
        let lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((_, Errno::EWOULDBLOCK)) => return Ok(None),
            Err((_, errno)) => return Err(io_error(io::Error::from(errno))),
        };
        let held = lock.metadata().map_err(io_error)?;
        if file_id(path).ok() == Some((held.dev(), held.ino())) {
            return Ok(Some(lock));
        }
    }
    Err(io_error(io::Error::other(
        "the lock file keeps being replaced",
    )))
}

/// The error for a live server: its pid and manifest from `hello`, else the pid it wrote in
/// the lock file (none while it is still starting).
fn already_running(place: &Place, canonical: &Path) -> BindError {
    match ask_hello(&place.socket) {
        Some((pid, manifest)) => BindError::AlreadyRunning {
            pid: Some(pid),
            manifest: PathBuf::from(manifest),
        },
        None => BindError::AlreadyRunning {
            pid: std::fs::read_to_string(&place.lock)
                .ok()
                .and_then(|text| text.trim().parse().ok()),
            manifest: canonical.to_path_buf(),
        },
    }
}

/// A blocking `hello` with a deadline: the server is being set up, no runtime needed yet.
fn ask_hello(socket: &Path) -> Option<(u32, String)> {
    let mut stream = UnixStream::connect(socket).ok()?;
    stream.set_read_timeout(Some(HELLO_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(HELLO_TIMEOUT)).ok()?;
    stream.write_all(&encode(&Request::Hello)).ok()?;
    let mut line = Vec::new();
    io::BufReader::new(stream.take(MAX_REQUEST as u64))
        .read_until(b'\n', &mut line)
        .ok()?;
    match decode_reply(&line).ok()? {
        Reply::Hello { pid, manifest } => Some((pid, manifest)),
        _ => None,
    }
}

fn file_id(path: &Path) -> io::Result<(u64, u64)> {
    let meta = std::fs::symlink_metadata(path)?;
    Ok((meta.dev(), meta.ino()))
}
