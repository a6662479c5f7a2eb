//! The output multiplexer: child output lines into one prefixed, coloured stream.
//!
//! Each child pipe (stdout and stderr alike) is read by a [`pump`] task (`pump.rs`), which cuts
//! it into lines (`line.rs`), puts the `HH:MM:SS name  | ` prefix in front of each (`prefix.rs`,
//! `timestamp.rs`, `color.rs`) and sends the lines in batches to the one writer thread
//! (`writer.rs`) that owns the real output. The mux knows nothing of manifests or jobs: a [`Source`] is a display name and
//! a colour.
//!
//! # Guarantees
//!
//! - One output line per child line; a line is never split across writes and lines of
//!   different sources never mix (a batch is a run of complete lines written with one
//!   `write_all` by the only writer).
//! - Per-stream order is kept. A child's stdout and stderr are two sources with the same name
//!   and colour and no marker: each keeps its own read order, and the two interleave as they are
//!   read (a marker was left out because it costs width on every line for little gain; it can be
//!   added later as a different display name for the stderr source).
//! - A partial line is written after [`QUIET_TIME`] without new bytes, and at EOF; never dropped.
//!   The timer exists only while a partial line is held, so an idle mux costs no CPU.
//! - Lines longer than [`MAX_LINE`] (64 KiB) are split into parts of 64 KiB, each a line with
//!   its prefix; a stream never holds more than 64 KiB.
//! - Child bytes are not touched: invalid UTF-8, `\r` and ANSI escapes pass through; colour is
//!   only ever added to the prefix.
//!
//! # Back-pressure
//!
//! Pumps send batches of complete lines (about [`BATCH_BYTES`] each) through a bounded channel
//! of [`CHANNEL_BATCHES`] batches to the writer thread. When the terminal is slower than the
//! children, the channel fills, pumps wait in `send().await` and stop reading their pipes, the
//! pipes fill and the children block in `write(2)`, exactly as they would writing to the
//! terminal themselves. Memory therefore stays bounded: at most [`CHANNEL_BATCHES`] batches in
//! the channel plus one being filled per pump and one being written, each at most
//! [`BATCH_BYTES`] + one line + its prefix (so ~128 KiB), plus per pump a read buffer (4 to
//! 64 KiB, grown only while reads fill it) and a held partial line (at most 64 KiB, allocated
//! only when needed). Written batch buffers go back to a pool and are reused, so the steady state
//! allocates nothing per line or per read.
//!
//! System lines ([`Mux::system`]) never wait: the coordinator must be able to say "stopping"
//! while the terminal is stalled. They go to a queue the writer drains after every batch, capped
//! at 1 MiB; past that they are counted and a "N system lines dropped" line replaces them.
//!
//! # Closed output
//!
//! Any write error (EPIPE when the reader of `procmux run | head` goes away) closes the output
//! for good: the writer stops writing and never panics, [`Mux::closed`] resolves so the
//! coordinator can shut everything down, and pumps go on reading their pipes and discarding, so
//! no child blocks on a full pipe during that shutdown.
//!
//! # Raw mode
//!
//! With [`MuxOptions::raw`] child lines are written exactly as the child wrote them, with no
//! timestamp and no prefix (a partial line flushed by the quiet timer or EOF still gets a `\n`,
//! so the next source's line does not glue to it). System lines then go to a separate output,
//! stderr in production, uncoloured but with their `system | ` prefix (and timestamp when
//! asked), so stdout stays the pure output of the children.
//!
//! # Example
//!
//! ```
//! use procmux::mux::{Color, Mux, MuxOptions, SharedBuffer};
//!
//! # tokio::runtime::Runtime::new().expect("runtime").block_on(async {
//! let out = SharedBuffer::default();
//! let options = MuxOptions { color: false, timestamps: false, raw: false };
//! let mux = Mux::new(options, Box::new(out.clone()));
//!
//! // One source per process instance, shared by its stdout and stderr pumps.
//! let web = mux.source("web.1", Some(Color::Red));
//! let (child_stdout, mut writer) = tokio::io::duplex(1024);
//! let pump = tokio::spawn(procmux::mux::pump(child_stdout, web.clone()));
//!
//! tokio::io::AsyncWriteExt::write_all(&mut writer, b"Listening\n").await.expect("write");
//! drop(writer); // the child exits: EOF
//! pump.await.expect("pump task");
//! mux.system("web.1 exited with code 0");
//!
//! tokio::select! {
//!     () = mux.flush() => {}
//!     () = mux.closed() => { /* output gone: shut everything down */ }
//! }
//! assert_eq!(out.contents(), b"web.1  | Listening\nsystem | web.1 exited with code 0\n");
//! # });
//! ```

mod color;
mod line;
mod prefix;
mod pump;
mod shared_buffer;
mod timestamp;
mod writer;

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot, watch};

pub use color::{Color, ColorChoice, resolve, resolve_from_env};
pub use line::MAX_LINE;
pub use pump::{QUIET_TIME, pump};
pub use shared_buffer::SharedBuffer;

use writer::{Message, Writer};

/// A batch is sent once it holds this many bytes (it may exceed it by one line and its prefix).
///
/// Large enough that a flood costs one write per ~1,000 lines, small enough that the channel's
/// worth of batches is a few MiB at most.
pub const BATCH_BYTES: usize = 64 * 1024;

/// How many batches may wait for the writer before pumps stop reading (the back-pressure).
pub const CHANNEL_BATCHES: usize = 16;

/// Written batches kept for reuse: the channel's worth plus a few being filled. With more
/// pumps flooding at once than that, the extra buffers are allocated per batch (~1,000 lines),
/// still never per line, and freed rather than hoarded.
const POOL_MAX: usize = CHANNEL_BATCHES + 4;

/// Capacity of a fresh batch buffer: a full batch plus one maximal line and a generous prefix,
/// so a buffer is allocated once and never grows.
const BATCH_CAPACITY: usize = BATCH_BYTES + MAX_LINE + 256;

/// Cap on queued, not yet written system lines (they never wait, so they need their own bound).
const SYSTEM_QUEUE_MAX: usize = 1024 * 1024;

/// The name of procmux's own lines.
const SYSTEM_NAME: &str = "system";

/// How the output looks; decided once by the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MuxOptions {
    /// Colour the prefixes (see [`resolve`] for the `--color` decision).
    pub color: bool,
    /// Put the local `HH:MM:SS` in front of every line.
    pub timestamps: bool,
    /// No prefix at all: child lines exactly as written, system lines to the system output.
    pub raw: bool,
}

/// The handle to the multiplexer: cheap to clone (an `Arc` and a channel sender).
///
/// The writer thread ends once every `Mux` and [`Source`] clone is dropped, after writing and
/// flushing what it had.
#[derive(Clone, Debug)]
pub struct Mux {
    /// The bounded channel to the writer.
    tx: mpsc::Sender<Message>,
    /// State shared with the writer thread.
    shared: Arc<Shared>,
}

/// One named, coloured stream of lines: give a clone to the pump of each pipe of one process.
#[derive(Clone, Debug)]
pub struct Source {
    /// The mux the lines go to.
    mux: Mux,
    /// The display name, as shown in the prefix.
    name: Arc<str>,
    /// The colour escape of the prefix, `None` when colour is off.
    style: Option<&'static [u8]>,
}

impl Source {
    /// The display name this source was registered with.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// What the handles and the writer thread share.
#[derive(Debug)]
struct Shared {
    /// The options given to [`Mux::new`].
    options: MuxOptions,
    /// The common prefix width: the longest registered name, at least 6.
    width: AtomicUsize,
    /// Written batch buffers, waiting to be filled again.
    pool: Mutex<Vec<Vec<u8>>>,
    /// Set once by the writer on the first write error; read by pumps before every batch.
    closed: AtomicBool,
    /// The same fact for those who wait on it ([`Mux::closed`]).
    closed_tx: watch::Sender<bool>,
    /// System lines not yet written.
    system: Mutex<SystemQueue>,
    /// Whether `system` holds lines: a cheap check for the writer after every batch.
    system_pending: AtomicBool,
}

/// Rendered system lines, bounded by [`SYSTEM_QUEUE_MAX`].
#[derive(Debug, Default)]
struct SystemQueue {
    /// Complete lines, each with its prefix.
    lines: Vec<u8>,
    /// Lines dropped because the queue was full.
    dropped: u64,
}

impl Mux {
    /// Starts the writer thread on `out` (in production `Box::new(std::io::stdout())`); in raw
    /// mode system lines go to stderr.
    pub fn new(options: MuxOptions, out: Box<dyn Write + Send>) -> Mux {
        Self::with_system_output(options, out, Box::new(std::io::stderr()))
    }

    /// Like [`new`](Self::new), with the output for system lines in raw mode given (for tests;
    /// not used unless `options.raw`).
    pub fn with_system_output(
        options: MuxOptions,
        out: Box<dyn Write + Send>,
        system_out: Box<dyn Write + Send>,
    ) -> Mux {
        let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
        let (closed_tx, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            options,
            width: AtomicUsize::new(prefix::MIN_WIDTH),
            pool: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            closed_tx,
            system: Mutex::new(SystemQueue::default()),
            system_pending: AtomicBool::new(false),
        });
        let writer = Writer {
            out,
            system_out: options.raw.then_some(system_out),
            rx,
            shared: shared.clone(),
        };
        std::thread::Builder::new()
            .name("procmux-output".into())
            .spawn(move || writer.run())
            .expect("spawning a thread only fails when the process is out of resources");
        Mux { tx, shared }
    }

    /// Registers a stream named `display_name`, widening the common prefix width if the name is
    /// longer than every name so far (pumps pick the new width up on their next read, so all
    /// prefixes stay aligned, also for names added on a reload).
    ///
    /// `color` is the manifest's colour; `None` picks one from a stable hash of the name
    /// ([`Color::for_name`]). Register once per process and clone the `Source` for its stdout
    /// and stderr.
    pub fn source(&self, display_name: &str, color: Option<Color>) -> Source {
        self.shared
            .width
            .fetch_max(prefix::display_width(display_name), Ordering::Relaxed);
        let color = color.unwrap_or_else(|| Color::for_name(display_name));
        Source {
            mux: self.clone(),
            name: display_name.into(),
            style: self.shared.options.color.then(|| color.escape()),
        }
    }

    /// Writes procmux's own message as `system | message` (one line per line of `message`).
    ///
    /// Never waits, even when the output is stalled: the line is queued for the writer (see the
    /// module docs for the bound). Never glued to a child line: it is written between batches.
    pub fn system(&self, message: &str) {
        let shared = &self.shared;
        let width = shared.width.load(Ordering::Relaxed);
        let raw = shared.options.raw;
        // Raw-mode system lines go to stderr, whose colour was never decided: keep it plain.
        let style = (shared.options.color && !raw).then_some(color::SYSTEM_STYLE);
        let stamp = shared
            .options
            .timestamps
            .then(|| *timestamp::StampCache::new().stamp(SystemTime::now()));
        {
            let mut queue = shared.lock_system();
            for line in message.split('\n') {
                if queue.lines.len() + line.len() > SYSTEM_QUEUE_MAX {
                    queue.dropped += 1;
                    continue;
                }
                if let Some(stamp) = &stamp {
                    queue.lines.extend_from_slice(stamp);
                }
                prefix::render(&mut queue.lines, SYSTEM_NAME, style, width);
                queue.lines.extend_from_slice(line.as_bytes());
                queue.lines.push(b'\n');
            }
            shared.system_pending.store(true, Ordering::Release);
        }
        // A full channel means the writer has batches to write and will find the lines after
        // the next one; a closed channel means there is no output any more.
        let _ = self.tx.try_send(Message::System);
    }

    /// Resolves once the output is closed (a write failed, e.g. EPIPE): time to shut down.
    ///
    /// Resolves at once if it already is; never resolves otherwise. No polling: it waits on a
    /// `tokio::sync::watch`.
    pub fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut closed = self.shared.closed_tx.subscribe();
        async move {
            if closed.wait_for(|&closed| closed).await.is_err() {
                // The sender lives in `Shared`; should it ever be gone, the output was not
                // closed, and claiming it was would stop every process for nothing.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Whether the output is closed (see [`closed`](Self::closed)).
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Waits until everything sent so far (batches and system lines) is written and the output
    /// flushed. Call it at exit after the pumps have ended (awaited), so that their last lines
    /// are included. Returns at once, writing nothing, once the output is closed; while the
    /// output is stalled (a paused terminal) it waits with it, so the caller may bound it with
    /// `tokio::time::timeout`.
    pub async fn flush(&self) {
        let (done_tx, done_rx) = oneshot::channel();
        if self.tx.send(Message::Flush(done_tx)).await.is_ok() {
            let _ = done_rx.await;
        }
    }

    /// The current common prefix width.
    pub fn width(&self) -> usize {
        self.shared.width.load(Ordering::Relaxed)
    }

    /// The options the mux was made with.
    pub fn options(&self) -> MuxOptions {
        self.shared.options
    }
}

impl Shared {
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// A batch buffer from the pool, or a new one while the pool warms up.
    fn take_buffer(&self) -> Vec<u8> {
        self.lock_pool()
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BATCH_CAPACITY))
    }

    /// Returns a written batch buffer to the pool (or frees it when the pool is full).
    fn recycle(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        let mut pool = self.lock_pool();
        if pool.len() < POOL_MAX {
            pool.push(buffer);
        }
    }

    /// Moves the queued system lines into `into` (swapping buffers, so the lock is held only for
    /// the swap), adding a line for any that were dropped.
    fn take_system_lines(&self, into: &mut Vec<u8>) {
        let mut queue = self.lock_system();
        std::mem::swap(&mut queue.lines, into);
        let dropped = std::mem::take(&mut queue.dropped);
        self.system_pending.store(false, Ordering::Release);
        drop(queue);
        if dropped > 0 {
            let style = (self.options.color && !self.options.raw).then_some(color::SYSTEM_STYLE);
            prefix::render(into, SYSTEM_NAME, style, self.width.load(Ordering::Relaxed));
            // Formatting here is fine: this happens once per overflow, not per line.
            let _ = writeln!(
                into,
                "{dropped} system lines dropped: the output is too slow"
            );
        }
    }

    fn lock_pool(&self) -> MutexGuard<'_, Vec<Vec<u8>>> {
        // A panic while holding the lock cannot leave a Vec of buffers inconsistent.
        self.pool
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn lock_system(&self) -> MutexGuard<'_, SystemQueue> {
        // A panic mid-push leaves at worst a truncated line; keep going rather than cascade.
        self.system
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}
