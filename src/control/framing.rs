//! Reading one line with a bound: the only way bytes from the socket are buffered, so that a
//! peer sending a line without end costs at most the bound in memory.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// What [`read_line`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A line is in the buffer (with its `\n`, unless the peer ended it with the stream).
    Line,
    /// The stream ended before any byte of a new line.
    Eof,
    /// The line is longer than the bound; the buffer holds its first bytes, at most the bound.
    TooLong,
}

/// Reads the next line into `line` (cleared first), taking at most `limit` bytes including the
/// newline. Bytes past the bound are left unread (the caller then closes the connection).
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Frame> {
    line.clear();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if line.is_empty() {
                Frame::Eof
            } else {
                Frame::Line
            });
        }
        let (take, complete) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        if line.len() + take > limit {
            let room = limit - line.len();
            line.extend_from_slice(&available[..room]);
            reader.consume(room);
            return Ok(Frame::TooLong);
        }
        line.extend_from_slice(&available[..take]);
        reader.consume(take);
        if complete {
            return Ok(Frame::Line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    async fn frames(input: &[u8], limit: usize) -> Vec<(Frame, Vec<u8>)> {
        // A small read buffer, so lines span several fills.
        let mut reader = BufReader::with_capacity(3, input);
        let mut out = Vec::new();
        let mut line = Vec::new();
        loop {
            let frame = read_line(&mut reader, &mut line, limit)
                .await
                .expect("no I/O error");
            assert!(line.len() <= limit);
            out.push((frame, line.clone()));
            if frame != Frame::Line {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn lines_up_to_the_bound_pass() {
        assert_eq!(
            frames(b"ab\ncdef\n\nlast", 5).await,
            [
                (Frame::Line, b"ab\n".to_vec()),
                (Frame::Line, b"cdef\n".to_vec()),
                (Frame::Line, b"\n".to_vec()),
                (Frame::Line, b"last".to_vec()),
                (Frame::Eof, Vec::new()),
            ]
        );
    }

    #[tokio::test]
    async fn a_longer_line_stops_at_the_bound() {
        assert_eq!(
            frames(b"ok\nabcdef\n", 5).await,
            [
                (Frame::Line, b"ok\n".to_vec()),
                (Frame::TooLong, b"abcde".to_vec()),
            ]
        );
        // Exactly the bound without its newline is one byte too many.
        assert_eq!(
            frames(b"abcde\n", 5).await,
            [(Frame::TooLong, b"abcde".to_vec())]
        );
    }

    #[tokio::test]
    async fn a_megabyte_without_newline_never_buffers_more_than_the_bound() {
        let limit = crate::control::MAX_REQUEST;
        let input = vec![b'x'; 1024 * 1024];
        let got = frames(&input, limit).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, Frame::TooLong);
        assert_eq!(got[0].1.len(), limit);
    }
}
