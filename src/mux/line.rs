//! Line splitting: where the lines of one stream begin and end inside its read buffer.
//!
//! Pure and synchronous so that every edge (lines split across reads, CRLF, a partial line at
//! EOF, the 64 KiB bound) is tested without a runtime. Lines are found as byte ranges of the
//! buffer the pipe was read into, so the common case copies nothing; only the tail of a read
//! that ends mid-line is copied, into the next buffer, and a held line never grows past
//! [`MAX_LINE`] bytes whatever the child writes.

/// The longest line handed out; a longer line is split into parts of this size.
///
/// Bounds the memory one stream can hold (a child printing a 1 MiB line without a newline costs
/// 64 KiB, not 1 MiB) and the size of one output line.
pub const MAX_LINE: usize = 64 * 1024;

/// Finds the complete lines of `buf[line_start..]` and appends their ranges (without the `\n`)
/// to `lines`; returns where the partial line that remains begins (`buf.len()` when none).
///
/// `scanned` says how far `buf` is already known to hold no newline after `line_start`, so each
/// byte is searched once however many reads a long line takes. A line is complete at its `\n`,
/// or when it reaches [`MAX_LINE`] bytes and the next byte is not a newline (so a line of
/// exactly [`MAX_LINE`] bytes followed by `\n` stays one line). A `\r` before the `\n`, ANSI
/// escapes and invalid UTF-8 are kept as the child wrote them.
pub(crate) fn split_lines(
    buf: &[u8],
    mut line_start: usize,
    scanned: usize,
    lines: &mut Vec<(u32, u32)>,
) -> usize {
    use super::chunk::as_offset;
    let mut push = |start: usize, end: usize| lines.push((as_offset(start), as_offset(end)));
    let mut pos = scanned.max(line_start);
    while let Some(found) = memchr::memchr(b'\n', &buf[pos..]) {
        let newline = pos + found;
        while newline - line_start > MAX_LINE {
            push(line_start, line_start + MAX_LINE);
            line_start += MAX_LINE;
        }
        push(line_start, newline);
        line_start = newline + 1;
        pos = line_start;
    }
    // No newline left: a held line longer than the bound is cut, keeping at most MAX_LINE
    // bytes (exactly MAX_LINE waits: the next byte may be its newline).
    while buf.len() - line_start > MAX_LINE {
        push(line_start, line_start + MAX_LINE);
        line_start += MAX_LINE;
    }
    line_start
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `chunks` as successive reads the way the pump does (complete lines leave the
    /// buffer, the partial stays), and at `eof` flushes the partial as a line.
    fn lines_of(chunks: &[&[u8]], eof: bool) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut scanned = 0;
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            let mut ranges = Vec::new();
            let rest = split_lines(&buf, 0, scanned, &mut ranges);
            for (start, end) in ranges {
                out.push(buf[start as usize..end as usize].to_vec());
            }
            buf.drain(..rest);
            scanned = buf.len();
            assert!(buf.len() <= MAX_LINE, "held more than the bound");
        }
        if eof && !buf.is_empty() {
            out.push(buf);
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
        assert_eq!(
            lines_of(&[b"done\nprompt> "], false),
            vec![b"done".to_vec()]
        );
        assert_eq!(
            lines_of(&[b"done\nprompt> "], true),
            vec![b"done".to_vec(), b"prompt> ".to_vec()]
        );
    }

    #[test]
    fn exactly_max_line_then_newline_is_one_line() {
        let mut input = vec![b'x'; MAX_LINE];
        input.push(b'\n');
        assert_eq!(lines_of(&[&input], false), vec![vec![b'x'; MAX_LINE]]);
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
        let chunk = vec![b'y'; 4096];
        let chunks: Vec<&[u8]> = (0..256).map(|_| chunk.as_slice()).collect();
        let parts = lines_of(&chunks, true);
        assert_eq!(parts.len(), 16);
        assert!(parts.iter().all(|p| p.len() == MAX_LINE));
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
