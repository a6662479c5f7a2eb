//! The export's errors: a manifest setting that has no faithful rendering, and the file
//! writes.

use std::path::PathBuf;

use super::systemd::EscapeError;

/// Why a manifest cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// A value that the target format cannot carry exactly.
    #[error("{instance}: {setting} cannot be exported: {source}")]
    Value {
        /// The instance (`web.1`).
        instance: String,
        /// The setting (`Environment= DB_URL`, `cwd`).
        setting: String,
        /// What is wrong with the value.
        source: EscapeError,
    },
    /// A program name that `PATH` does not resolve, at export time.
    #[error("{instance}: program {program:?} not found in PATH")]
    ProgramNotFound {
        /// The instance.
        instance: String,
        /// The program as written.
        program: String,
    },
    /// A path that is not UTF-8 (unit files are text).
    #[error("{instance}: path {path:?} is not UTF-8")]
    NotUtf8 {
        /// The instance, or `procmux` for the path of procmux itself.
        instance: String,
        /// The path.
        path: PathBuf,
    },
    /// Two instances whose unit names are the same (`web` with two instances and a process
    /// called `web-1`).
    #[error("{first} and {second} would both be {unit}")]
    NameClash {
        /// The unit name.
        unit: String,
        /// The first instance.
        first: String,
        /// The second instance.
        second: String,
    },
}

/// Why the export could not write its files.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A file of the same name that the export did not write for this app.
    #[error("{} exists and was not written by procmux for this app: not replacing it", path.display())]
    Foreign {
        /// The file.
        path: PathBuf,
    },
    /// A file system operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`write`, `remove`, `read`).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}
