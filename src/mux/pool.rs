//! The buffer pool: large read buffers (and their line tables) come back here when the last
//! sink drops their chunk, so a flood reuses a handful of buffers instead of allocating one per
//! read.
//!
//! Only large buffers are pooled: a quiet process reads into small ones, which cost less to
//! allocate than to hoard, and a fleet of idle processes must not pin a large buffer each.

use std::sync::{Mutex, MutexGuard};

/// The size of a large read buffer: a whole pipe's worth of reading plus one held partial line.
pub(crate) const LARGE_BUFFER: usize = super::pump::MAX_READ + super::MAX_LINE;

/// How many buffers the pool keeps at most: the terminal channel's worth plus a few being
/// filled. Past that, returned buffers are freed.
const POOL_MAX: usize = super::CHANNEL_BATCHES + 8;

/// A read buffer and its line table.
type Buffers = (Vec<u8>, Vec<(u32, u32)>);

/// Spare large read buffers and line tables.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    spare: Mutex<Vec<Buffers>>,
}

impl Pool {
    /// An empty buffer of [`LARGE_BUFFER`] bytes and an empty line table, from the pool when it
    /// has one.
    pub(crate) fn take_large(&self) -> Buffers {
        self.lock()
            .pop()
            .unwrap_or_else(|| (Vec::with_capacity(LARGE_BUFFER), Vec::new()))
    }

    /// Takes back the buffers of a chunk that is gone; small ones are freed.
    pub(crate) fn give(&self, mut bytes: Vec<u8>, mut lines: Vec<(u32, u32)>) {
        if bytes.capacity() < LARGE_BUFFER {
            return;
        }
        bytes.clear();
        lines.clear();
        let mut spare = self.lock();
        if spare.len() < POOL_MAX {
            spare.push((bytes, lines));
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Buffers>> {
        // Pushing and popping cannot leave a Vec of buffers inconsistent.
        self.spare
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
