//! The control layer's errors: reading a message, claiming the socket, talking to a server.
//! They say what happened; the command line turns them into the user's words and exit codes.

use std::io;
use std::path::PathBuf;

/// A line that is not a message of this protocol version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, or not a message this version knows.
    #[error("not a valid message: {0}")]
    Malformed(String),
    /// No `"v"` field.
    #[error("the message has no protocol version (\"v\")")]
    MissingVersion,
    /// Another version (as written in the message).
    #[error("protocol version {0} is not supported (this procmux speaks version 1)")]
    UnsupportedVersion(String),
}

/// No socket path fits in the 108 bytes a Unix socket path may have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the socket path {} is too long for a Unix socket", socket.display())]
pub struct PlaceError {
    /// The preferred path.
    pub socket: PathBuf,
}

/// Why a folder may not hold the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FolderProblem {
    /// It is a symlink.
    #[error("is a symbolic link")]
    Symlink,
    /// It is not a directory.
    #[error("is not a directory")]
    NotADirectory,
    /// Another user owns it (their uid).
    #[error("is owned by another user (uid {0})")]
    OwnedBy(u32),
    /// Its group or others may write to it (its mode).
    #[error("is writable by other users (mode {0:o})")]
    Writable(u32),
}

/// Why the server could not take the socket.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Another procmux serves the same manifest.
    #[error("procmux is already running {} (pid {})", manifest.display(), pid.map_or_else(|| "unknown".to_owned(), |pid| pid.to_string()))]
    AlreadyRunning {
        /// Its pid, when it could be asked or read from the lock file.
        pid: Option<u32>,
        /// Its manifest (as it reports it, else the one given to bind).
        manifest: PathBuf,
    },
    /// The socket's folder is not safe to use.
    #[error("refusing the socket folder {}: it {problem}", dir.display())]
    UnsafeFolder {
        /// The folder.
        dir: PathBuf,
        /// What is wrong with it.
        problem: FolderProblem,
    },
    /// No socket path fits.
    #[error(transparent)]
    TooLong(#[from] PlaceError),
    /// A system call failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`create`, `bind`, `lock`...).
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// Why a client request did not get a reply.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No server listens for this manifest.
    #[error("no server listens on {}", socket.display())]
    NotRunning {
        /// The socket that was tried.
        socket: PathBuf,
    },
    /// The socket's folder is not safe to use.
    #[error("refusing the socket folder {}: it {problem}", dir.display())]
    UnsafeFolder {
        /// The folder.
        dir: PathBuf,
        /// What is wrong with it.
        problem: FolderProblem,
    },
    /// The server runs as another user (its uid, when known).
    #[error("the server on {} runs as another user", socket.display())]
    ForeignServer {
        /// The socket.
        socket: PathBuf,
        /// The server's uid.
        uid: Option<u32>,
    },
    /// The server closed the connection before replying.
    #[error("procmux closed the connection")]
    Closed,
    /// The server's reply cannot be read.
    #[error("unreadable reply from procmux: {0}")]
    BadReply(#[from] DecodeError),
    /// The server's reply is over the client's bound.
    #[error("the reply from procmux is over {limit} bytes")]
    TooLarge {
        /// The bound.
        limit: usize,
    },
    /// No socket path fits.
    #[error(transparent)]
    TooLong(#[from] PlaceError),
    /// Connecting, writing or reading failed.
    #[error("talking to procmux on {}: {source}", socket.display())]
    Io {
        /// The socket.
        socket: PathBuf,
        /// The error.
        source: io::Error,
    },
}
