//! [`Ring`]: the recent output of one source, for `procmux logs`: the last [`RING_LINES`] lines
//! or [`RING_BYTES`] of memory, whichever is less.
//!
//! It holds the same chunks the terminal writes, by `Arc`, so keeping history copies nothing on
//! the hot path. A chunk that would waste memory while held (a short line read into a large
//! buffer, typical of a quiet process) is kept as a compact copy instead; those are the cheap
//! cases. Memory is counted by what the held chunks keep allocated, not by the bytes of their
//! lines, so the bound holds whatever the reads looked like.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use super::chunk::{Chunk, Stream};

/// How many lines a ring keeps at most.
pub const RING_LINES: usize = 1000;

/// How much memory a ring keeps at most (one chunk may exceed it on its own; it is then the
/// only one kept).
pub const RING_BYTES: usize = 1024 * 1024;

/// One line of recent output, copied out of the ring for a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentLine {
    /// When it was read.
    pub at: SystemTime,
    /// Which pipe it came from.
    pub stream: Stream,
    /// The line, without its newline.
    pub bytes: Vec<u8>,
}

/// The recent chunks of one source, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    /// Each chunk with the index of its first line still kept.
    chunks: VecDeque<(Arc<Chunk>, usize)>,
    lines: usize,
    footprint: usize,
}

impl Ring {
    /// Adds a chunk's lines, dropping the oldest past the bounds.
    pub(crate) fn push(&mut self, chunk: &Arc<Chunk>) {
        if chunk.line_count() == 0 {
            return;
        }
        let kept = if chunk.is_sparse() {
            Arc::new(chunk.compacted())
        } else {
            Arc::clone(chunk)
        };
        self.lines += kept.line_count();
        self.footprint += kept.footprint();
        self.chunks.push_back((kept, 0));
        self.trim();
    }

    fn trim(&mut self) {
        while self.footprint > RING_BYTES && self.chunks.len() > 1 {
            self.pop_front();
        }
        while self.lines > RING_LINES {
            let Some((chunk, first)) = self.chunks.front_mut() else {
                break;
            };
            let excess = self.lines - RING_LINES;
            let left = chunk.line_count() - *first;
            if excess >= left {
                self.pop_front();
            } else {
                *first += excess;
                self.lines -= excess;
            }
        }
    }

    fn pop_front(&mut self) {
        if let Some((chunk, first)) = self.chunks.pop_front() {
            self.lines -= chunk.line_count() - first;
            self.footprint -= chunk.footprint();
        }
    }

    /// The last `n` lines, oldest first, copied out.
    pub(crate) fn last(&self, n: usize) -> Vec<RecentLine> {
        let mut out = Vec::with_capacity(n.min(self.lines));
        let mut skip = self.lines.saturating_sub(n);
        for (chunk, first) in &self.chunks {
            let count = chunk.line_count() - first;
            if skip >= count {
                skip -= count;
                continue;
            }
            for index in first + skip..chunk.line_count() {
                out.push(RecentLine {
                    at: chunk.at(),
                    stream: chunk.stream(),
                    bytes: chunk.line(index).to_vec(),
                });
            }
            skip = 0;
        }
        out
    }

    /// How many lines it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lines
    }

    /// What its chunks keep allocated.
    pub(crate) fn footprint(&self) -> usize {
        self.footprint
    }
}

#[cfg(test)]
mod tests {
    use super::super::chunk::{Label, as_offset};
    use super::*;

    fn chunk(lines: &[&str], capacity: usize) -> Arc<Chunk> {
        let mut bytes = Vec::with_capacity(capacity);
        let mut ranges = Vec::new();
        for line in lines {
            let start = bytes.len();
            bytes.extend_from_slice(line.as_bytes());
            ranges.push((as_offset(start), as_offset(bytes.len())));
            bytes.push(b'\n');
        }
        Arc::new(Chunk {
            label: Arc::new(Label {
                id: 1,
                name: "web".into(),
                style: None,
            }),
            stream: Stream::Stdout,
            at: SystemTime::UNIX_EPOCH,
            bytes,
            lines: ranges,
            pool: None,
        })
    }

    fn texts(lines: &[RecentLine]) -> Vec<String> {
        lines
            .iter()
            .map(|l| String::from_utf8_lossy(&l.bytes).into_owned())
            .collect()
    }

    #[test]
    fn keeps_the_last_lines_across_chunks() {
        let mut ring = Ring::default();
        ring.push(&chunk(&["a", "b"], 0));
        ring.push(&chunk(&["c"], 0));
        ring.push(&chunk(&["d", "e", "f"], 0));
        assert_eq!(texts(&ring.last(4)), ["c", "d", "e", "f"]);
        assert_eq!(texts(&ring.last(100)), ["a", "b", "c", "d", "e", "f"]);
        assert!(ring.last(0).is_empty());
    }

    #[test]
    fn bounded_in_lines() {
        let mut ring = Ring::default();
        let names: Vec<String> = (0..1500).map(|i| i.to_string()).collect();
        for group in names.chunks(7) {
            let group: Vec<&str> = group.iter().map(String::as_str).collect();
            ring.push(&chunk(&group, 0));
        }
        assert_eq!(ring.len(), RING_LINES);
        let last = texts(&ring.last(RING_LINES));
        assert_eq!(last.first().map(String::as_str), Some("500"));
        assert_eq!(last.last().map(String::as_str), Some("1499"));
    }

    #[test]
    fn bounded_in_memory_and_sparse_chunks_are_compacted() {
        let mut ring = Ring::default();
        // A quiet process: one short line per 64 KiB read buffer.
        for i in 0..RING_LINES {
            ring.push(&chunk(&[&format!("line {i}")], 64 * 1024));
        }
        assert_eq!(ring.len(), RING_LINES, "compaction keeps every line");
        assert!(ring.footprint() < 64 * 1024, "{}", ring.footprint());
        // A flood: full buffers of long lines.
        let long = "x".repeat(1000);
        for _ in 0..100 {
            let lines: Vec<&str> = (0..60).map(|_| long.as_str()).collect();
            ring.push(&chunk(&lines, 64 * 1024));
        }
        assert!(ring.footprint() <= RING_BYTES, "{}", ring.footprint());
        assert!(ring.len() <= RING_LINES);
    }
}
