//! Errors the job task hands to its error handler.
//!
//! The handler may be called from the task while other parts of the program still hold the
//! error, so it travels as a cheap, shareable, `Sync` handle rather than a bare
//! [`std::io::Error`] (which is neither `Clone` nor guaranteed `Sync`-friendly to move around).

use std::io;
use std::sync::{Arc, OnceLock};

/// A shareable I/O error: spawning, signalling, killing or waiting on a child failed.
///
/// The same shape as `watchexec-supervisor`'s, so handlers port unchanged: read it with
/// `err.get()`.
pub type SyncIoError = Arc<OnceLock<io::Error>>;

/// Wraps an [`io::Error`] into a [`SyncIoError`].
pub fn sync_io_error(err: io::Error) -> SyncIoError {
    let cell = OnceLock::new();
    // A fresh cell is empty, so this set cannot fail; the result is ignored for that reason.
    let _ = cell.set(err);
    Arc::new(cell)
}
