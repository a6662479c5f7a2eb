//! The pump: one task per child pipe, reading to EOF and sending prefixed lines in batches.
//!
//! A pump owns everything that is per stream (the partial line, the rendered prefix, the last
//! timestamp, the batch being filled), so the hot path takes no lock and allocates nothing:
//! lines are copied from the read buffer straight into a batch buffer that came back from the
//! writer's pool. It awaits the bounded channel when the batch is full, which is where a slow
//! terminal pushes back all the way to the child.

use std::ops::ControlFlow;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt};

use super::line::LineAssembler;
use super::prefix::PrefixCache;
use super::timestamp::StampCache;
use super::writer::Message;
use super::{BATCH_BYTES, Source};

/// How long a partial line (no newline yet) waits for more bytes before it is written as a line.
pub const QUIET_TIME: Duration = Duration::from_millis(100);

/// The first read buffer: small, because most processes print little and a fleet of 100 idle
/// processes has 200 pumps.
const MIN_READ: usize = 4 * 1024;

/// The largest read buffer: a whole Linux pipe buffer, reached by doubling while reads fill it.
const MAX_READ: usize = 64 * 1024;

/// Reads `reader` to EOF and writes each of its lines through the mux with `source`'s prefix.
///
/// Never fails: a read error ends the stream like EOF (after a system line saying so). After the
/// output was closed it keeps reading and discards, so the child never blocks on a full pipe
/// while the coordinator shuts it down. Needs a tokio runtime with the time driver (for the
/// quiet timer, armed only while a partial line is held).
pub async fn pump<R: AsyncRead + Unpin>(mut reader: R, source: Source) {
    let mut buf = vec![0; MIN_READ];
    let mut lines = LineAssembler::new();
    let mut outbox = Outbox::new(source);
    loop {
        let read = if lines.has_partial() {
            match tokio::time::timeout(QUIET_TIME, reader.read(&mut buf)).await {
                Ok(read) => read,
                Err(_quiet) => {
                    outbox.begin();
                    lines.flush_partial(|line| {
                        let _ = outbox.push(line);
                    });
                    outbox.send().await;
                    continue;
                }
            }
        } else {
            reader.read(&mut buf).await
        };
        let n = match read {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) => {
                let name = outbox.source.name().to_owned();
                outbox
                    .source
                    .mux
                    .system(&format!("reading the output of {name} failed: {error}"));
                break;
            }
        };
        if outbox.source.mux.is_closed() {
            // Drain and discard: the child must not block on a full pipe during shutdown.
            continue;
        }
        outbox.begin();
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            rest = &rest[lines.feed_until(rest, |line| outbox.push(line))..];
            if outbox.is_full() {
                outbox.send().await;
            }
        }
        outbox.send().await;
        if n == buf.len() && buf.len() < MAX_READ {
            // The pipe had more than we could take: read more per call from now on.
            buf.resize(buf.len() * 2, 0);
        }
    }
    outbox.begin();
    lines.flush_partial(|line| {
        let _ = outbox.push(line);
    });
    outbox.send().await;
}

/// The batch a pump is filling, and what it needs to prefix lines.
struct Outbox {
    /// The stream's name and style, and the mux to send to.
    source: Source,
    /// The prefix rendered at the width of the last `begin`.
    prefix: PrefixCache,
    /// The stamp cache, used only with timestamps.
    stamps: StampCache,
    /// The stamp of the current read, copied out of `stamps` by `begin`.
    stamp: [u8; super::timestamp::STAMP_LEN],
    /// The common width read by the last `begin`.
    width: usize,
    /// Lines waiting to be sent; capacity 0 until the first line (an idle pump holds none).
    batch: Vec<u8>,
}

impl Outbox {
    fn new(source: Source) -> Self {
        let prefix = PrefixCache::new(source.name.clone(), source.style);
        Self {
            source,
            prefix,
            stamps: StampCache::new(),
            stamp: [b' '; super::timestamp::STAMP_LEN],
            width: 0,
            batch: Vec::new(),
        }
    }

    /// Reads what may change between reads: the common width and the time.
    fn begin(&mut self) {
        let options = self.source.mux.options();
        if options.raw {
            return;
        }
        self.width = self.source.mux.width();
        if options.timestamps {
            self.stamp = *self.stamps.stamp(SystemTime::now());
        }
    }

    /// Appends one output line; breaks when the batch is full and must be sent first.
    fn push(&mut self, line: &[u8]) -> ControlFlow<()> {
        if self.batch.capacity() == 0 {
            self.batch = self.source.mux.shared.take_buffer();
        }
        let options = self.source.mux.options();
        if !options.raw {
            if options.timestamps {
                self.batch.extend_from_slice(&self.stamp);
            }
            self.batch
                .extend_from_slice(self.prefix.at_width(self.width));
        }
        self.batch.extend_from_slice(line);
        self.batch.push(b'\n');
        if self.is_full() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn is_full(&self) -> bool {
        self.batch.len() >= BATCH_BYTES
    }

    /// Hands the batch to the writer, waiting while the channel is full (the back-pressure).
    async fn send(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let mux = &self.source.mux;
        if mux.is_closed() {
            self.batch.clear();
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        // An error means the writer thread is gone, which only happens when it panicked; the
        // lines cannot go anywhere then, and the pump goes on draining.
        let _ = mux.tx.send(Message::Batch(batch)).await;
    }
}
