//! The output multiplexer: child output into line records, and the sinks that consume them.
//!
//! Each child pipe (stdout and stderr alike) is read by a [`pump`] task (`pump.rs`), which finds
//! the lines of each read in the buffer it read into (`line.rs`) and makes that buffer a
//! [`Chunk`] (`chunk.rs`): a shared, immutable record of the lines, their source and stream, and
//! when they were read. Every sink holds the same chunk by `Arc`, so no line is copied on the
//! way:
//!
//! - the terminal writer (`writer.rs`), a thread that renders the `HH:MM:SS name  | ` prefix
//!   (`prefix.rs`, `timestamp.rs`, `color.rs`) and writes in large batches, with back-pressure
//!   on the children;
//! - a bounded ring per source (`ring.rs`): the recent lines for `procmux logs`;
//! - followers (`follow.rs`, `procmux logs -f`): lossy, they learn how many lines they missed;
//! - taps (`follow.rs`, a `log` readiness check): a future that resolves on the first line that
//!   contains a text, looking at lines only while it exists.
//!
//! procmux's own lines ([`Mux::system`], `system.rs`) are rendered once and queued; they never
//! wait. The mux knows nothing of manifests or jobs: a [`Source`] is a display name and a
//! colour.
//!
//! # Guarantees
//!
//! - One output line per child line; a line is never split across writes and lines of
//!   different sources never mix (the only writer renders whole lines into one buffer).
//! - Per-stream order is kept. A child's stdout and stderr are two streams of one source (same
//!   name and colour, no marker): each keeps its own read order, and the two interleave as they
//!   are read.
//! - A system line comes after every child line read before it was queued, and before every
//!   line read after: `web exited with code 1` follows web's last lines (the coordinator queues
//!   it once web's pumps have drained), and `web started with pid 42` precedes web's first line.
//! - A partial line is written after [`QUIET_TIME`] without new bytes, and at EOF; never
//!   dropped. The timer exists only while a partial line is held, so an idle mux costs no CPU.
//! - Lines longer than [`MAX_LINE`] (64 KiB) are split into parts of 64 KiB, each a line with
//!   its prefix; a stream never holds more than 64 KiB of partial line.
//! - Child bytes are not touched: invalid UTF-8, `\r` and ANSI escapes pass through; colour is
//!   only ever added to the prefix.
//! - The prefix width is the longest name registered so far (at least 6); register every name
//!   before the first line ([`Mux::source`]) and `|` stands in one column from the first line on.
//!
//! # Back-pressure and memory
//!
//! Pumps send one chunk per read (at most 64 KiB of lines plus a held line) through a bounded
//! channel of [`CHANNEL_BATCHES`] chunks to the writer thread. When the terminal is slower than
//! the children, the channel fills, pumps wait in `send().await` and stop reading their pipes,
//! the pipes fill and the children block in `write(2)`, exactly as they would writing to the
//! terminal themselves. Memory therefore stays bounded: the channel's chunks, one being rendered
//! ([`BATCH_BYTES`] of output at a time), a read buffer per pump (4 to 64 KiB plus a held line,
//! grown only while reads fill it), and each source's ring ([`RING_LINES`] lines or
//! [`RING_BYTES`], whichever is less). Large read buffers go back to a pool once every sink has
//! dropped their chunk, so a flood allocates per read at most, never per line.
//!
//! The system line queue is capped at 1 MiB; past that, lines are counted and a
//! "N system lines dropped" line replaces them.
//!
//! # Closed output
//!
//! Any write error (EPIPE when the reader of `procmux run | head` goes away) closes the output
//! for good: the writer stops writing and never panics, [`Mux::closed`] resolves so the
//! coordinator can shut everything down, and pumps go on reading their pipes (the ring,
//! followers and taps still get lines), so no child blocks on a full pipe during that shutdown.
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
//! // One source per process instance; `stderr()` gives the same source's other stream.
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
//! // The ring kept the line for `procmux logs`.
//! assert_eq!(web.recent(10)[0].bytes, b"Listening");
//! # });
//! ```

mod chunk;
mod color;
mod follow;
mod line;
mod pool;
mod prefix;
mod pump;
mod ring;
mod shared_buffer;
mod system;
mod timestamp;
mod writer;

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot, watch};

pub use chunk::{Chunk, Stream};
pub use color::{Color, ColorChoice, resolve, resolve_from_env};
pub use follow::{FollowItem, Follower, Tap};
pub use line::MAX_LINE;
pub use pump::{PumpHandle, QUIET_TIME, pump, spawn_pump};
pub use ring::{RING_BYTES, RING_LINES, RecentLine};
pub use shared_buffer::SharedBuffer;

use chunk::Label;
use follow::{Followers, Taps};
use pool::Pool;
use ring::Ring;
use system::SystemQueue;
use writer::{Message, Writer};

/// The writer writes once it has rendered this many bytes (or when it has caught up).
///
/// Large enough that a flood costs one write per ~1,000 lines, small enough that a stalled
/// terminal holds little.
pub const BATCH_BYTES: usize = 64 * 1024;

/// How many chunks may wait for the writer before pumps stop reading (the back-pressure).
pub const CHANNEL_BATCHES: usize = 16;

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

/// One named, coloured stream of lines: give one to the pump of each pipe of a process
/// ([`Source::stderr`] for its stderr), and keep it across restarts so its ring keeps history.
#[derive(Clone, Debug)]
pub struct Source {
    /// The mux the lines go to.
    mux: Mux,
    /// Name, style, ring and taps, shared by both streams of the source.
    shared: Arc<SourceShared>,
    /// Which pipe this handle's pump reads.
    stream: Stream,
}

/// What both streams of a source share.
#[derive(Debug)]
pub(crate) struct SourceShared {
    label: Arc<Label>,
    ring: Mutex<Ring>,
    taps: Taps,
}

impl SourceShared {
    fn lock_ring(&self) -> MutexGuard<'_, Ring> {
        // A panic mid-push leaves the ring's counters at worst off by one chunk.
        self.ring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Source {
    /// The display name this source was registered with.
    pub fn name(&self) -> &str {
        &self.shared.label.name
    }

    /// A number unique to this source among those of its mux (both streams share it).
    pub fn id(&self) -> u64 {
        self.shared.label.id
    }

    /// The stream this handle is for.
    pub fn stream(&self) -> Stream {
        self.stream
    }

    /// The same source, for the child's stderr.
    pub fn stderr(&self) -> Source {
        Source {
            stream: Stream::Stderr,
            ..self.clone()
        }
    }

    /// The last `n` lines of this source (both streams), oldest first, from its ring.
    pub fn recent(&self, n: usize) -> Vec<RecentLine> {
        self.shared.lock_ring().last(n)
    }

    /// What this source's ring keeps allocated, in bytes.
    pub fn ring_footprint(&self) -> usize {
        self.shared.lock_ring().footprint()
    }

    /// A future that resolves when a line of this source (either stream) read from now on
    /// contains `text`. Lines are looked at only while the tap exists.
    pub fn tap(&self, text: &str) -> Tap {
        Tap::new(Arc::clone(&self.shared), text.as_bytes())
    }
}

/// What the handles and the writer thread share.
#[derive(Debug)]
struct Shared {
    /// The options given to [`Mux::new`].
    options: MuxOptions,
    /// The common prefix width: the longest registered name, at least 6.
    width: AtomicUsize,
    /// Large read buffers waiting to be used again.
    pool: Arc<Pool>,
    /// Set once by the writer on the first write error; read by pumps before every send.
    closed: AtomicBool,
    /// The same fact for those who wait on it ([`Mux::closed`]).
    closed_tx: watch::Sender<bool>,
    /// How many chunks have been put in the writer's channel: the barrier of system lines.
    /// The send and the count happen under this lock, so the count is exact.
    sent: Mutex<u64>,
    /// System lines not yet written.
    system: Mutex<SystemQueue>,
    /// Whether `system` holds lines: a cheap check for the writer before every chunk.
    system_pending: AtomicBool,
    followers: Followers,
    next_source: AtomicU64,
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
            pool: Arc::default(),
            closed: AtomicBool::new(false),
            closed_tx,
            sent: Mutex::new(0),
            system: Mutex::new(SystemQueue::default()),
            system_pending: AtomicBool::new(false),
            followers: Followers::default(),
            next_source: AtomicU64::new(1),
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

    /// Registers a source named `display_name` (its stdout handle; [`Source::stderr`] gives
    /// the other), widening the common prefix width if the name is longer than every name so
    /// far. Lines already written keep their width; register every name before the first line
    /// so that `|` never moves.
    ///
    /// `color` is the manifest's colour; `None` picks one from a stable hash of the name
    /// ([`Color::for_name`]).
    pub fn source(&self, display_name: &str, color: Option<Color>) -> Source {
        self.reserve_width(display_name);
        let color = color.unwrap_or_else(|| Color::for_name(display_name));
        let label = Label {
            id: self.shared.next_source.fetch_add(1, Ordering::Relaxed),
            name: display_name.into(),
            style: self.shared.options.color.then(|| color.escape()),
        };
        Source {
            mux: self.clone(),
            shared: Arc::new(SourceShared {
                label: Arc::new(label),
                ring: Mutex::new(Ring::default()),
                taps: Taps::default(),
            }),
            stream: Stream::Stdout,
        }
    }

    /// Widens the common prefix width to fit `name`, without registering a source.
    pub fn reserve_width(&self, name: &str) {
        self.shared
            .width
            .fetch_max(prefix::display_width(name), Ordering::Relaxed);
    }

    /// Writes procmux's own message as `system | message` (one line per line of `message`).
    ///
    /// Never waits, even when the output is stalled: the line is queued for the writer (see the
    /// module docs for the bound and the order). Never glued to a child line.
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
        let mut rendered = Vec::with_capacity(message.len() + 32);
        let mut lines = 0;
        for line in message.split('\n') {
            if let Some(stamp) = &stamp {
                rendered.extend_from_slice(stamp);
            }
            prefix::render(&mut rendered, SYSTEM_NAME, style, width);
            rendered.extend_from_slice(line.as_bytes());
            rendered.push(b'\n');
            lines += 1;
        }
        self.queue_system(rendered, lines);
    }

    /// Ends the current terminal line with a bare newline, in order with the rest: on a
    /// terminal, the `^C` the terminal echoed then stands on a line of its own instead of
    /// gluing to procmux's next line.
    pub fn break_line(&self) {
        self.queue_system(b"\n".to_vec(), 1);
    }

    fn queue_system(&self, rendered: Vec<u8>, lines: u64) {
        let barrier = *self.shared.lock_sent();
        self.shared.lock_system().push(barrier, rendered, lines);
        self.shared.system_pending.store(true, Ordering::Release);
        // A full channel means the writer has chunks to write and will find the lines then; a
        // closed channel means there is no output any more.
        let _ = self.tx.try_send(Message::System);
    }

    /// Puts a chunk in the writer's channel, waiting while it is full (the back-pressure);
    /// drops it once the output is closed.
    async fn send_chunk(&self, chunk: Arc<Chunk>) {
        if self.is_closed() {
            return;
        }
        // An error means the writer thread is gone, which only happens when it panicked; the
        // lines cannot go anywhere then, and the pump goes on draining.
        if let Ok(permit) = self.tx.reserve().await {
            let mut sent = self.shared.lock_sent();
            permit.send(Message::Chunk(chunk));
            *sent += 1;
        }
    }

    /// A follower of the live output: of the sources with these ids (see [`Source::id`]), or
    /// of every source. It holds up to `capacity` chunks; past that it loses chunks and is told
    /// how many lines it missed, and never slows the children or the terminal.
    pub fn follow(&self, sources: Option<Vec<u64>>, capacity: usize) -> Follower {
        self.shared.followers.add(sources, capacity)
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

    /// Waits until everything sent so far (chunks and system lines) is written and the output
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

    fn lock_sent(&self) -> MutexGuard<'_, u64> {
        // A counter cannot be left inconsistent.
        self.sent
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
