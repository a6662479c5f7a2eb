//! An in-memory output that can be read while the writer thread owns a clone of it.
//!
//! The writer takes a `Box<dyn Write + Send>` and keeps it on its own thread, so tests (and the
//! doc example) need a sink whose contents stay reachable from outside: a shared `Vec<u8>`.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

/// A cloneable `Write` into one shared byte buffer.
#[derive(Debug, Clone, Default)]
pub struct SharedBuffer {
    /// The bytes written so far, by any clone.
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl SharedBuffer {
    /// A copy of everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        // Appending bytes cannot leave the Vec inconsistent, so a poisoned lock is still fine.
        self.bytes
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
