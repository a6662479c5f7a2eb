//! [`Chunk`]: the line record every sink shares. One chunk is the complete lines of one read
//! of one child pipe, kept in the very buffer the pipe was read into, with the position of each
//! line; sinks hold it by `Arc`, so a line reaches the terminal, the per-instance ring, the
//! followers and the taps without being copied for any of them.

use std::sync::Arc;
use std::time::SystemTime;

use super::pool::Pool;

/// Which pipe of a child a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The child's standard output.
    Stdout,
    /// The child's standard error.
    Stderr,
}

impl Stream {
    /// `stdout` or `stderr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// What a chunk says of its source: the part of a [`Source`](super::Source) that the terminal
/// needs to render a line. Chunks hold this, not the source itself, so that a source's ring
/// (which holds chunks) does not keep its own source alive.
#[derive(Debug)]
pub(crate) struct Label {
    /// Unique per registered source, for followers' filters and the writer's prefix cache.
    pub(crate) id: u64,
    /// The display name, as shown in the prefix.
    pub(crate) name: Arc<str>,
    /// The colour escape of the prefix, `None` when colour is off.
    pub(crate) style: Option<&'static [u8]>,
}

/// The complete lines of one read of one pipe.
///
/// `bytes` is the read buffer itself; `lines` holds the byte range of each line in it, without
/// its `\n`. Bytes outside every range (the newlines, and at the end a partial line that was
/// copied into the next buffer) are never shown.
#[derive(Debug)]
pub struct Chunk {
    pub(crate) label: Arc<Label>,
    pub(crate) stream: Stream,
    /// When the read returned: the timestamp of every line in the chunk.
    pub(crate) at: SystemTime,
    pub(crate) bytes: Vec<u8>,
    pub(crate) lines: Vec<(u32, u32)>,
    /// Where the buffers go back when the last holder drops the chunk.
    pub(crate) pool: Option<Arc<Pool>>,
}

impl Chunk {
    /// The display name of the source.
    pub fn name(&self) -> &str {
        &self.label.name
    }

    /// The pipe the lines came from.
    pub fn stream(&self) -> Stream {
        self.stream
    }

    /// When the lines were read.
    pub fn at(&self) -> SystemTime {
        self.at
    }

    /// How many lines the chunk holds.
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// Line `index`, without its newline.
    pub fn line(&self, index: usize) -> &[u8] {
        let (start, end) = self.lines[index];
        &self.bytes[start as usize..end as usize]
    }

    /// Every line, in order, without newlines.
    pub fn lines(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.lines
            .iter()
            .map(|&(start, end)| &self.bytes[start as usize..end as usize])
    }

    /// The bytes this chunk keeps allocated: what a ring counts against its bound.
    pub(crate) fn footprint(&self) -> usize {
        self.bytes.capacity() + self.lines.capacity() * std::mem::size_of::<(u32, u32)>()
    }

    /// The bytes its lines use.
    fn used(&self) -> usize {
        self.lines
            .iter()
            .map(|&(start, end)| (end - start) as usize + 1)
            .sum()
    }

    /// Whether holding this chunk for long would waste much more memory than its lines use:
    /// a short line read into a large buffer. A ring keeps a compact copy of such a chunk.
    pub(crate) fn is_sparse(&self) -> bool {
        self.footprint() > 2 * self.used() + 1024
    }

    /// A copy holding only the lines, in buffers of their exact size, outside any pool.
    pub(crate) fn compacted(&self) -> Chunk {
        let mut bytes = Vec::with_capacity(self.used());
        let mut lines = Vec::with_capacity(self.lines.len());
        for line in self.lines() {
            let start = bytes.len();
            bytes.extend_from_slice(line);
            lines.push((as_offset(start), as_offset(bytes.len())));
            bytes.push(b'\n');
        }
        Chunk {
            label: Arc::clone(&self.label),
            stream: self.stream,
            at: self.at,
            bytes,
            lines,
            pool: None,
        }
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give(
                std::mem::take(&mut self.bytes),
                std::mem::take(&mut self.lines),
            );
        }
    }
}

/// A byte offset in a chunk as stored: chunks are far below 4 GiB (a read is at most
/// [`MAX_READ`](super::pump) plus one held line).
pub(crate) fn as_offset(offset: usize) -> u32 {
    u32::try_from(offset).expect("a chunk is far smaller than 4 GiB")
}
