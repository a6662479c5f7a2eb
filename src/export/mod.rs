//! Renderers from a resolved [`Manifest`](crate::manifest::Manifest) to other engines, so
//! that a stack that runs under procmux runs on a server without being described twice.
//!
//! Rendering is pure: a manifest and options in, a list of [`ExportFile`]s out, tested
//! without touching the disk. Writing them (`write.rs`) is a separate step that replaces the
//! files of the same app, removes the ones it no longer renders, and touches nothing else.
//!
//! - [`systemd`]: one `.service` unit per instance and a `.target` for the app;
//! - `write.rs`: the write plan (pure) and its atomic application; `error.rs`: the errors.

mod error;
pub mod systemd;
mod write;

pub use error::{ExportError, WriteError};
pub use write::{ForeignFile, WritePlan, apply, plan, read_candidates};

/// One file of an export: its name in the output folder and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    /// The file name (no folder).
    pub name: String,
    /// The contents.
    pub contents: String,
}
