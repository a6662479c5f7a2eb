//! procmux's own lines (`system | ...`): a queue that never makes the caller wait, written in
//! order with the children's lines.
//!
//! Each queued line remembers how many chunks had been handed to the writer when it was
//! queued (its barrier); the writer writes it just before the chunk after that. So a line
//! about a process (`web exited with code 1`) always comes after every line of that process
//! that was read before it was queued, and `web started with pid 42` before web's first line,
//! however full the terminal channel is. The queue is capped at [`SYSTEM_QUEUE_MAX`] bytes;
//! past that, lines are counted and a `N system lines dropped` line replaces them.

use std::collections::VecDeque;
use std::io::Write;

/// Cap on queued, not yet written system lines (they never wait, so they need their own bound).
pub(crate) const SYSTEM_QUEUE_MAX: usize = 1024 * 1024;

/// Rendered system lines waiting for their barrier.
#[derive(Debug, Default)]
pub(crate) struct SystemQueue {
    /// Each entry: the barrier, and one or more complete rendered lines.
    entries: VecDeque<(u64, Vec<u8>)>,
    /// Bytes in `entries`.
    bytes: usize,
    /// Lines dropped because the queue was full, since the last time it was drained.
    dropped: u64,
}

impl SystemQueue {
    /// Queues rendered lines behind `barrier` chunks; drops them (counting `lines`) when the
    /// queue is full.
    pub(crate) fn push(&mut self, barrier: u64, rendered: Vec<u8>, lines: u64) {
        if self.bytes + rendered.len() > SYSTEM_QUEUE_MAX {
            self.dropped += lines;
            return;
        }
        self.bytes += rendered.len();
        self.entries.push_back((barrier, rendered));
    }

    /// Whether anything waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.dropped == 0
    }

    /// Moves into `out` every entry whose barrier `written` chunks satisfy, in order, and says
    /// how many lines were dropped (the caller renders that line).
    pub(crate) fn take_due(&mut self, written: u64, out: &mut Vec<u8>) -> u64 {
        while let Some((barrier, _)) = self.entries.front() {
            if *barrier > written {
                break;
            }
            if let Some((_, rendered)) = self.entries.pop_front() {
                self.bytes -= rendered.len();
                out.extend_from_slice(&rendered);
            }
        }
        std::mem::take(&mut self.dropped)
    }
}

/// Appends the line that stands for dropped system lines.
pub(crate) fn dropped_line(out: &mut Vec<u8>, prefix: &[u8], dropped: u64) {
    out.extend_from_slice(prefix);
    // Formatting is fine here: this happens once per overflow, not per line.
    let _ = writeln!(
        out,
        "{dropped} system lines dropped: the output is too slow"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wait_for_their_barrier_in_order() {
        let mut queue = SystemQueue::default();
        queue.push(0, b"a\n".to_vec(), 1);
        queue.push(2, b"b\n".to_vec(), 1);
        queue.push(2, b"c\n".to_vec(), 1);
        let mut out = Vec::new();
        assert_eq!(queue.take_due(1, &mut out), 0);
        assert_eq!(out, b"a\n");
        assert_eq!(queue.take_due(2, &mut out), 0);
        assert_eq!(out, b"a\nb\nc\n");
        assert!(queue.is_empty());
    }

    #[test]
    fn a_full_queue_counts_what_it_drops() {
        let mut queue = SystemQueue::default();
        queue.push(0, vec![b'x'; SYSTEM_QUEUE_MAX], 1);
        queue.push(0, b"late\n".to_vec(), 1);
        let mut out = Vec::new();
        assert_eq!(queue.take_due(0, &mut out), 1);
        assert_eq!(out.len(), SYSTEM_QUEUE_MAX);
        assert!(queue.is_empty());
    }
}
