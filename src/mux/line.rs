//! Line assembly: the bytes of one stream in, complete lines out.
//!
//! Pure and synchronous so that every edge (lines split across reads, CRLF, a partial line at
//! EOF, the 64 KiB bound) is tested without a runtime. Lines that lie entirely inside one read
//! are handed out as slices of that read, so the common case copies nothing; only the tail of a
//! read that ends mid-line is copied into a holding buffer, which never grows past
//! [`MAX_LINE`] bytes whatever the child writes.

use std::ops::ControlFlow;

/// The longest line handed out; a longer line is split into parts of this size.
///
/// Bounds the memory one stream can hold (a child printing a 1 MiB line without a newline costs
/// 64 KiB, not 1 MiB) and the size of one output write.
pub const MAX_LINE: usize = 64 * 1024;

/// Turns the chunks read from one stream into lines, holding at most one partial line.
///
/// A line handed out excludes its `\n`; every other byte (a `\r` before the `\n`, ANSI escapes,
/// invalid UTF-8) is kept as the child wrote it.
#[derive(Debug, Default)]
pub struct LineAssembler {
    /// The start of a line whose newline has not been read yet; at most [`MAX_LINE`] bytes.
    pending: Vec<u8>,
}

impl LineAssembler {
    /// An assembler holding nothing; the holding buffer is allocated on the first partial line.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a partial line is held (the caller arms its quiet timer only then).
    pub fn has_partial(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Feeds one chunk, calling `emit` once per complete line, in order.
    ///
    /// A line is complete at its `\n`, or when it reaches [`MAX_LINE`] bytes and the next byte
    /// is not a newline (so a line of exactly [`MAX_LINE`] bytes followed by `\n` stays one line).
    /// The pump uses [`feed_until`](Self::feed_until); this whole-chunk form is for the tests.
    #[cfg(test)]
    pub fn feed(&mut self, chunk: &[u8], mut emit: impl FnMut(&[u8])) {
        self.feed_until(chunk, |line| {
            emit(line);
            ControlFlow::Continue(())
        });
    }

    /// Feeds one chunk like `feed`, but stops after any line for which `emit` breaks, and returns
    /// how many bytes of `chunk` it consumed; the caller feeds the rest later.
    ///
    /// This lets the pump hand a full batch to the writer (an `.await`) in the middle of a read,
    /// which keeps batches bounded however many short lines one read holds.
    pub fn feed_until(
        &mut self,
        chunk: &[u8],
        mut emit: impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> usize {
        let mut rest = chunk;
        while !rest.is_empty() {
            let room = MAX_LINE - self.pending.len();
            // Looking one byte past the room tells "exactly full, then newline" from "too long".
            let window = &rest[..rest.len().min(room + 1)];
            let (line_end, skip) = match window.iter().position(|&b| b == b'\n') {
                Some(end) => (end, 1),
                None if rest.len() > room => (room, 0),
                None => {
                    self.hold(rest);
                    return chunk.len();
                }
            };
            let flow = if self.pending.is_empty() {
                emit(&rest[..line_end])
            } else {
                self.hold(&rest[..line_end]);
                let flow = emit(&self.pending);
                self.pending.clear();
                flow
            };
            rest = &rest[line_end + skip..];
            if flow.is_break() {
                break;
            }
        }
        chunk.len() - rest.len()
    }

    /// Appends to the partial line, allocating the holding buffer on first use.
    fn hold(&mut self, bytes: &[u8]) {
        if self.pending.capacity() == 0 {
            // Exactly the bound, once per stream: growing by doubling could overshoot it, and
            // streams that never split a line (most of them) never pay for it.
            self.pending.reserve_exact(MAX_LINE);
        }
        self.pending.extend_from_slice(bytes);
    }

    /// Hands out the held partial line, if any, as a line of its own (quiet time or EOF).
    pub fn flush_partial(&mut self, mut emit: impl FnMut(&[u8])) {
        if !self.pending.is_empty() {
            emit(&self.pending);
            self.pending.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines_of(chunks: &[&[u8]], eof: bool) -> Vec<Vec<u8>> {
        let mut asm = LineAssembler::new();
        let mut out = Vec::new();
        for chunk in chunks {
            asm.feed(chunk, |l| out.push(l.to_vec()));
        }
        if eof {
            asm.flush_partial(|l| out.push(l.to_vec()));
        }
        out
    }

    #[test]
    fn one_line_per_chunk() {
        assert_eq!(lines_of(&[b"hello\n"], false), vec![b"hello".to_vec()]);
    }

    #[test]
    fn many_lines_per_chunk() {
        assert_eq!(
            lines_of(&[b"a\nbb\nccc\n"], false),
            vec![b"a".to_vec(), b"bb".to_vec(), b"ccc".to_vec()]
        );
    }

    #[test]
    fn line_split_across_chunks() {
        assert_eq!(
            lines_of(&[b"hel", b"lo wo", b"rld\nnext", b"\n"], false),
            vec![b"hello world".to_vec(), b"next".to_vec()]
        );
    }

    #[test]
    fn crlf_passes_through() {
        assert_eq!(
            lines_of(&[b"dos\r\nline\r", b"\n"], false),
            vec![b"dos\r".to_vec(), b"line\r".to_vec()]
        );
    }

    #[test]
    fn empty_lines_are_lines() {
        assert_eq!(
            lines_of(&[b"\n\nx\n\n"], false),
            vec![vec![], vec![], b"x".to_vec(), vec![]]
        );
    }

    #[test]
    fn partial_is_held_until_eof() {
        let mut asm = LineAssembler::new();
        let mut out: Vec<Vec<u8>> = Vec::new();
        asm.feed(b"done\nprompt> ", |l| out.push(l.to_vec()));
        assert_eq!(out, vec![b"done".to_vec()]);
        assert!(asm.has_partial());
        asm.flush_partial(|l| out.push(l.to_vec()));
        assert_eq!(out, vec![b"done".to_vec(), b"prompt> ".to_vec()]);
        assert!(!asm.has_partial());
        asm.flush_partial(|_| panic!("nothing is held"));
    }

    #[test]
    fn exactly_max_line_then_newline_is_one_line() {
        let mut input = vec![b'x'; MAX_LINE];
        input.push(b'\n');
        assert_eq!(lines_of(&[&input], false), vec![vec![b'x'; MAX_LINE]]);
        // The same across a chunk boundary right at the bound.
        assert_eq!(
            lines_of(&[&input[..MAX_LINE], b"\n"], false),
            vec![vec![b'x'; MAX_LINE]]
        );
    }

    #[test]
    fn one_byte_over_max_line_splits() {
        let mut input = vec![b'x'; MAX_LINE + 1];
        input.push(b'\n');
        assert_eq!(
            lines_of(&[&input], false),
            vec![vec![b'x'; MAX_LINE], vec![b'x']]
        );
        assert_eq!(
            lines_of(&[&input[..10], &input[10..]], false),
            vec![vec![b'x'; MAX_LINE], vec![b'x']]
        );
    }

    #[test]
    fn megabyte_without_newline_stays_bounded() {
        let mut asm = LineAssembler::new();
        let chunk = vec![b'y'; 4096];
        let mut parts = 0;
        for _ in 0..256 {
            asm.feed(&chunk, |l| {
                assert_eq!(l.len(), MAX_LINE);
                parts += 1;
            });
            assert!(asm.pending.capacity() <= MAX_LINE, "holding buffer grew");
        }
        assert_eq!(parts, 15);
        asm.flush_partial(|l| {
            assert_eq!(l.len(), MAX_LINE);
            parts += 1;
        });
        assert_eq!(parts, 16);
    }

    #[test]
    fn feed_until_stops_after_a_break_and_resumes() {
        let mut asm = LineAssembler::new();
        let mut out: Vec<Vec<u8>> = Vec::new();
        let chunk = b"a\nbb\nccc\ndd";
        let used = asm.feed_until(chunk, |l| {
            out.push(l.to_vec());
            ControlFlow::Break(())
        });
        assert_eq!(used, 2);
        let used2 = asm.feed_until(&chunk[used..], |l| {
            out.push(l.to_vec());
            if l == b"bb" {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        });
        assert_eq!(used + used2, 9);
        asm.feed(&chunk[used + used2..], |l| out.push(l.to_vec()));
        asm.flush_partial(|l| out.push(l.to_vec()));
        assert_eq!(
            out,
            vec![
                b"a".to_vec(),
                b"bb".to_vec(),
                b"ccc".to_vec(),
                b"dd".to_vec()
            ]
        );
    }

    /// The reference: split the whole stream at newlines, then cut long lines at the bound.
    fn reference(stream: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut pieces: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
        let last = pieces.pop().unwrap_or_default();
        for piece in pieces {
            if piece.is_empty() {
                out.push(Vec::new());
            }
            out.extend(piece.chunks(MAX_LINE).map(<[u8]>::to_vec));
        }
        out.extend(last.chunks(MAX_LINE).map(<[u8]>::to_vec));
        out
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_lines(
            stream in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), any::<u8>()], 0..600),
            long in 0usize..3,
            cuts in proptest::collection::vec(0usize..1000, 0..12),
        ) {
            // Sometimes splice in a run longer than the bound to exercise the split.
            let mut stream = stream;
            if long > 0 {
                let at = stream.len() / 2;
                stream.splice(at..at, std::iter::repeat_n(b'z', MAX_LINE * long + long));
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c * stream.len() / 1000).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for cut in cuts {
                chunks.push(&stream[start..cut]);
                start = cut;
            }
            chunks.push(&stream[start..]);
            prop_assert_eq!(lines_of(&chunks, true), reference(&stream));
            prop_assert_eq!(lines_of(&[&stream], true), reference(&stream));
        }
    }
}
