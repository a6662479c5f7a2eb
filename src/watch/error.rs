//! [`WatchError`]: what can go wrong when watching, typed; the CLI and the coordinator
//! render it.

use std::path::PathBuf;

/// A glob that does not compile, or a path that cannot be watched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatchError {
    /// A `watch` or `watch_ignore` glob is not a valid glob.
    #[error("invalid watch glob {glob:?}: {message}")]
    Glob {
        /// The glob as written.
        glob: String,
        /// What is wrong with it.
        message: String,
    },
    /// Globs are matched as text: a working directory that is not UTF-8 cannot be watched.
    #[error("{} is not valid UTF-8, so globs cannot be matched under it", path.display())]
    NotUtf8 {
        /// The directory.
        path: PathBuf,
    },
    /// inotify refused a watch, typically because the per-user limit
    /// (`fs.inotify.max_user_watches`) is reached.
    #[error("cannot watch {}: {message}", path.display())]
    Watch {
        /// The directory.
        path: PathBuf,
        /// The reason the kernel gave.
        message: String,
    },
}
