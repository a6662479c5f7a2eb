//! The pump: one task per child pipe, reading to EOF and turning each read into a [`Chunk`]
//! handed to every sink.
//!
//! A pump owns everything that is per stream (the read buffer, the held partial line, the line
//! table), so the hot path takes no shared lock but the ring's and allocates nothing per line:
//! a read's complete lines stay in the buffer they were read into, which becomes the chunk; only
//! a partial line at the end is copied into the next buffer. The terminal send awaits the
//! bounded channel, which is where a slow terminal pushes back all the way to the child.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;

use super::chunk::{Chunk, as_offset};
use super::line::split_lines;
use super::pool::LARGE_BUFFER;
use super::{MAX_LINE, Source};

/// How long a partial line (no newline yet) waits for more bytes before it is written as a line.
pub const QUIET_TIME: Duration = Duration::from_millis(100);

/// The first read size: small, because most processes print little and a fleet of 100 idle
/// processes has 200 pumps.
const MIN_READ: usize = 4 * 1024;

/// The largest read: a whole Linux pipe buffer, reached by doubling while reads fill it.
pub(crate) const MAX_READ: usize = 64 * 1024;

/// The read that waits for a quiet stream's next bytes, into a buffer inside the pump's task:
/// a pump whose pipe is empty and that holds no partial line gives its read buffer up first
/// (a fleet of 1,000 quiet processes has 2,000 pumps; 4 KB each would be 8 MB). While bytes
/// keep coming the buffer stays: a read that finds the pipe empty is what releases it, and
/// one small read more per burst is all it costs.
const WAKING_READ: usize = 256;

/// What a pump's owner can see of its progress: whether it is waiting on its pipe with nothing
/// held, and how many reads it made.
#[derive(Debug, Default)]
struct Progress {
    reads: AtomicU64,
    idle: AtomicBool,
}

/// A running pump.
#[derive(Debug)]
pub struct PumpHandle {
    task: JoinHandle<()>,
    progress: Arc<Progress>,
}

impl PumpHandle {
    /// Resolves once the pump reached EOF and handed its last lines to the sinks, or once it has
    /// been waiting on its pipe with nothing to hand on for `quiet` (something that outlived the
    /// process still holds the pipe open: waiting longer would only delay the caller).
    ///
    /// A pump that is busy (reading, or waiting for a slow terminal) is waited for however long
    /// it takes, which is what puts a process's exit line after its last line.
    pub async fn drained(self, quiet: Duration) {
        let PumpHandle { mut task, progress } = self;
        let mut seen = progress.reads.load(Ordering::Acquire);
        loop {
            tokio::select! {
                _ = &mut task => return,
                () = tokio::time::sleep(quiet) => {
                    let reads = progress.reads.load(Ordering::Acquire);
                    if reads == seen && progress.idle.load(Ordering::Acquire) {
                        return;
                    }
                    seen = reads;
                }
            }
        }
    }
}

/// Starts a pump task for `reader` (needs a tokio runtime with the time driver).
pub fn spawn_pump<R>(reader: R, source: Source) -> PumpHandle
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let progress = Arc::new(Progress::default());
    let task = tokio::spawn(run(reader, source, Arc::clone(&progress)));
    PumpHandle { task, progress }
}

/// Reads `reader` to EOF and hands each of its lines to the mux's sinks as `source`'s.
///
/// Never fails: a read error ends the stream like EOF (after a system line saying so). After the
/// output was closed it keeps reading (the ring and followers still get the lines), so the
/// child never blocks on a full pipe while the coordinator shuts it down. Needs a tokio runtime
/// with the time driver (for the quiet timer, armed only while a partial line is held).
pub async fn pump<R: AsyncRead + Unpin>(reader: R, source: Source) {
    run(reader, source, Arc::default()).await;
}

async fn run<R: AsyncRead + Unpin>(mut reader: R, source: Source, progress: Arc<Progress>) {
    let mut stream = Lines::new(source);
    loop {
        let read = if stream.has_partial() {
            stream.make_room();
            match tokio::time::timeout(QUIET_TIME, reader.read_buf(&mut stream.buf)).await {
                Ok(read) => read,
                Err(_quiet) => {
                    stream.finish_partial();
                    stream.hand_on().await;
                    continue;
                }
            }
        } else {
            stream.make_room();
            match ready_now(reader.read_buf(&mut stream.buf)).await {
                Some(read) => read,
                None => {
                    stream.release_buffer();
                    progress.idle.store(true, Ordering::Release);
                    let mut waking = [0u8; WAKING_READ];
                    let read = reader.read(&mut waking).await;
                    progress.idle.store(false, Ordering::Release);
                    if let Ok(n @ 1..) = read {
                        stream.make_room();
                        stream.buf.extend_from_slice(&waking[..n]);
                    }
                    read
                }
            }
        };
        progress.reads.fetch_add(1, Ordering::Release);
        match read {
            Ok(0) => break,
            Ok(n) => {
                stream.after_read(n);
                stream.hand_on().await;
            }
            Err(error) => {
                let name = stream.source.name().to_owned();
                stream
                    .source
                    .mux
                    .system(&format!("reading the output of {name} failed: {error}"));
                break;
            }
        }
    }
    stream.finish_partial();
    stream.hand_on().await;
}

/// `future`'s output if it is ready at once, else `None` (the future is dropped: give only
/// cancel-safe ones, such as a `read_buf`, which reads nothing when it is not ready).
async fn ready_now<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match future.as_mut().poll(cx) {
            std::task::Poll::Ready(output) => Some(output),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

/// The read buffer of one stream and the lines found in it.
struct Lines {
    source: Source,
    /// Holds at most one partial line at the start of a read, then what was read.
    buf: Vec<u8>,
    /// Ranges of the complete lines found in `buf`.
    lines: Vec<(u32, u32)>,
    /// Where the partial line begins after the last split.
    partial: usize,
    /// How much of `buf` has been searched for newlines.
    scanned: usize,
    /// How much the next read asks for; doubles while reads fill it.
    read_size: usize,
}

impl Lines {
    fn new(source: Source) -> Self {
        Self {
            source,
            buf: Vec::new(),
            lines: Vec::new(),
            partial: 0,
            scanned: 0,
            read_size: MIN_READ,
        }
    }

    fn has_partial(&self) -> bool {
        self.partial < self.buf.len()
    }

    /// Gives the (empty) read buffer up while the stream is quiet: a large one back to the
    /// pool, a small one freed.
    fn release_buffer(&mut self) {
        debug_assert!(self.buf.is_empty(), "only a buffer that holds nothing");
        let bytes = std::mem::take(&mut self.buf);
        let lines = std::mem::take(&mut self.lines);
        self.source.mux.shared.pool.give(bytes, lines);
        self.scanned = 0;
        self.partial = 0;
    }

    /// Makes sure the next read has `read_size` bytes of room.
    fn make_room(&mut self) {
        if self.buf.capacity() - self.buf.len() >= self.read_size {
            return;
        }
        if self.read_size >= MAX_READ && self.buf.capacity() < LARGE_BUFFER {
            // The flood regime: pooled buffers, each big enough for a read and a held line.
            let (mut large, lines) = self.source.mux.shared.pool.take_large();
            large.extend_from_slice(&self.buf);
            self.buf = large;
            self.lines = lines;
        } else {
            self.buf.reserve(self.read_size);
        }
    }

    fn after_read(&mut self, n: usize) {
        self.partial = split_lines(&self.buf, self.partial, self.scanned, &mut self.lines);
        self.scanned = self.buf.len();
        if n >= self.read_size && self.read_size < MAX_READ {
            // The pipe had more than we could take: read more per call from now on.
            self.read_size *= 2;
        }
    }

    /// Makes the held partial line a line of its own (quiet time or EOF).
    fn finish_partial(&mut self) {
        if self.has_partial() {
            let end = self.buf.len().min(self.partial + MAX_LINE);
            self.lines.push((as_offset(self.partial), as_offset(end)));
            self.partial = end;
            self.scanned = end;
        }
    }

    /// Hands the complete lines found so far to every sink, keeping the partial line for the
    /// next read.
    async fn hand_on(&mut self) {
        if self.lines.is_empty() {
            return;
        }
        let mux = &self.source.mux;
        let (mut next, next_lines) = if self.read_size >= MAX_READ {
            mux.shared.pool.take_large()
        } else {
            (
                Vec::with_capacity(self.read_size + (self.buf.len() - self.partial)),
                Vec::new(),
            )
        };
        next.extend_from_slice(&self.buf[self.partial..]);
        let chunk = Arc::new(Chunk {
            label: Arc::clone(&self.source.shared.label),
            stream: self.source.stream,
            at: SystemTime::now(),
            bytes: std::mem::replace(&mut self.buf, next),
            lines: std::mem::replace(&mut self.lines, next_lines),
            pool: Some(Arc::clone(&mux.shared.pool)),
        });
        self.scanned = self.buf.len();
        self.partial = 0;
        self.source.shared.taps.offer(&chunk);
        mux.shared.followers.offer(&chunk);
        self.source.shared.lock_ring().push(&chunk);
        mux.send_chunk(chunk).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mux::{Mux, MuxOptions};

    fn stream() -> Lines {
        let mux = Mux::new(MuxOptions::default(), Box::new(std::io::sink()));
        Lines::new(mux.source("web", None))
    }

    /// What a read does to the buffer, without a pipe.
    fn feed(stream: &mut Lines, bytes: &[u8]) {
        stream.make_room();
        stream.buf.extend_from_slice(bytes);
        stream.after_read(bytes.len());
    }

    #[tokio::test]
    async fn a_quiet_stream_gives_its_buffer_up() {
        let mut stream = stream();
        assert_eq!(stream.buf.capacity(), 0, "before the first bytes");
        feed(&mut stream, b"hello\n");
        stream.hand_on().await;
        assert!(
            stream.buf.capacity() >= MIN_READ,
            "kept while bytes may follow"
        );
        stream.release_buffer();
        assert_eq!(stream.buf.capacity(), 0);
    }

    #[tokio::test]
    async fn the_pump_reads_on_after_a_quiet_time() {
        let mux = Mux::new(MuxOptions::default(), Box::new(std::io::sink()));
        let source = mux.source("web", None);
        let (mut tx, rx) = tokio::net::unix::pipe::pipe().expect("a pipe");
        let pump = spawn_pump(rx, source.clone());
        use tokio::io::AsyncWriteExt;
        tx.write_all(b"one\n").await.expect("written");
        // Until the pump has read that and waits on the empty pipe, its buffer given up.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !(pump.progress.reads.load(Ordering::Acquire) >= 1
            && pump.progress.idle.load(Ordering::Acquire))
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the pump never went quiet"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tx.write_all(b"two\nthree").await.expect("written");
        drop(tx);
        pump.drained(Duration::from_secs(5)).await;
        let lines: Vec<String> = source
            .recent(10)
            .iter()
            .map(|line| String::from_utf8_lossy(&line.bytes).into_owned())
            .collect();
        assert_eq!(lines, ["one", "two", "three"]);
    }

    #[tokio::test]
    async fn a_partial_line_keeps_its_buffer() {
        let mut stream = stream();
        feed(&mut stream, b"hello\nwor");
        stream.hand_on().await;
        assert_eq!(&stream.buf[..], b"wor");
        assert!(stream.buf.capacity() >= MIN_READ + 3);
    }
}
