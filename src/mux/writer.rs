//! The terminal sink: one thread that owns the real output, renders each chunk's lines with
//! their timestamp and prefix, and writes them in large batches.
//!
//! A dedicated OS thread rather than a task because the output is a blocking `Write` (a
//! terminal can stall for as long as the user holds Ctrl-S); blocking a runtime worker on it
//! would starve the pumps and the coordinator. Being the only writer is what keeps lines whole:
//! lines are rendered into one buffer and written with `write_all`, so lines of different
//! sources never mix. Rendering belongs here, not in the pumps: the ring and the followers
//! hold the bare lines.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{mpsc, oneshot};

use super::chunk::Chunk;
use super::prefix::PrefixCache;
use super::system::dropped_line;
use super::timestamp::StampCache;
use super::{BATCH_BYTES, Shared, color, prefix};

/// What the pumps and the [`Mux`](super::Mux) handles send to the writer.
#[derive(Debug)]
pub(crate) enum Message {
    /// Lines of one read of one pipe.
    Chunk(Arc<Chunk>),
    /// System lines were queued in [`Shared`]; wake up and write those that are due.
    System,
    /// Write everything received before this, flush the output, then answer.
    Flush(oneshot::Sender<()>),
}

/// The writer's end: the outputs and the channel it drains.
pub(crate) struct Writer {
    /// Where child lines go (stdout in production), and system lines unless raw.
    pub(crate) out: Box<dyn Write + Send>,
    /// Where system lines go in raw mode (stderr in production); `None` when not raw.
    pub(crate) system_out: Option<Box<dyn Write + Send>>,
    /// The bounded channel that carries the back-pressure.
    pub(crate) rx: mpsc::Receiver<Message>,
    /// State shared with the handles: system queue, closed flag, width.
    pub(crate) shared: Arc<Shared>,
}

/// The writer thread's working state.
struct Render {
    /// Rendered bytes not yet written.
    pending: Vec<u8>,
    /// System lines taken from the queue, for raw mode's separate output.
    system_pending: Vec<u8>,
    /// How many chunks have been rendered: what system line barriers compare against.
    written: u64,
    prefixes: HashMap<u64, PrefixCache>,
    stamps: StampCache,
}

impl Writer {
    /// Runs until every sender is gone (all `Mux`, `Source` and pump handles dropped).
    pub(crate) fn run(mut self) {
        let mut render = Render {
            pending: Vec::with_capacity(2 * BATCH_BYTES),
            system_pending: Vec::new(),
            written: 0,
            prefixes: HashMap::new(),
            stamps: StampCache::new(),
        };
        while let Some(message) = self.rx.blocking_recv() {
            self.handle(message, &mut render);
            // Render whatever else is ready before writing: one write for many chunks.
            while render.pending.len() < BATCH_BYTES {
                match self.rx.try_recv() {
                    Ok(message) => self.handle(message, &mut render),
                    Err(_) => break,
                }
            }
            self.take_due_system(&mut render);
            self.write_pending(&mut render);
            if self.rx.is_empty() {
                // Caught up: nothing may sit in a buffer of `out` while the stream is quiet.
                self.flush();
            }
        }
        self.take_due_system(&mut render);
        self.write_pending(&mut render);
        self.flush();
    }

    fn handle(&mut self, message: Message, render: &mut Render) {
        match message {
            Message::Chunk(chunk) => {
                // System lines queued before this chunk was sent come before it.
                self.take_due_system(render);
                self.render_chunk(&chunk, render);
                render.written += 1;
                if render.pending.len() >= BATCH_BYTES {
                    self.write_pending(render);
                }
            }
            Message::System => {}
            Message::Flush(done) => {
                self.take_due_system(render);
                self.write_pending(render);
                self.flush();
                // The asker may have stopped waiting; nothing to do then.
                let _ = done.send(());
            }
        }
    }

    fn render_chunk(&self, chunk: &Chunk, render: &mut Render) {
        if self.shared.is_closed() {
            return;
        }
        let options = self.shared.options;
        if options.raw {
            for line in chunk.lines() {
                render.pending.extend_from_slice(line);
                render.pending.push(b'\n');
            }
            return;
        }
        let width = self.shared.width.load(Ordering::Relaxed);
        let stamp = options.timestamps.then(|| *render.stamps.stamp(chunk.at()));
        let label = &chunk.label;
        let prefix = render
            .prefixes
            .entry(label.id)
            .or_insert_with(|| PrefixCache::new(label.name.clone(), label.style))
            .at_width(width);
        for line in chunk.lines() {
            if let Some(stamp) = &stamp {
                render.pending.extend_from_slice(stamp);
            }
            render.pending.extend_from_slice(prefix);
            render.pending.extend_from_slice(line);
            render.pending.push(b'\n');
        }
    }

    /// Moves the system lines that are due into the output they go to.
    fn take_due_system(&mut self, render: &mut Render) {
        if !self.shared.system_pending.load(Ordering::Acquire) {
            return;
        }
        let target = if self.system_out.is_some() {
            &mut render.system_pending
        } else {
            &mut render.pending
        };
        let dropped = {
            let mut queue = self.shared.lock_system();
            let dropped = queue.take_due(render.written, target);
            if queue.is_empty() {
                self.shared.system_pending.store(false, Ordering::Release);
            }
            dropped
        };
        if dropped > 0 {
            let raw = self.shared.options.raw;
            let style = (self.shared.options.color && !raw).then_some(color::SYSTEM_STYLE);
            let mut rendered_prefix = Vec::new();
            prefix::render(
                &mut rendered_prefix,
                super::SYSTEM_NAME,
                style,
                self.shared.width.load(Ordering::Relaxed),
            );
            dropped_line(target, &rendered_prefix, dropped);
        }
        if let Some(system_out) = &mut self.system_out
            && !render.system_pending.is_empty()
        {
            // Stderr failing is not "output closed": the child output still flows.
            let _ = system_out.write_all(&render.system_pending);
            render.system_pending.clear();
        }
    }

    /// Writes what was rendered, or discards it once the output is closed.
    fn write_pending(&mut self, render: &mut Render) {
        if render.pending.is_empty() {
            return;
        }
        if !self.shared.is_closed() && self.out.write_all(&render.pending).is_err() {
            self.close();
        }
        render.pending.clear();
    }

    /// Flushes the outputs; a failure of the main one means it is closed, like a failed write.
    fn flush(&mut self) {
        if !self.shared.is_closed() && self.out.flush().is_err() {
            self.close();
        }
        if let Some(system_out) = &mut self.system_out {
            let _ = system_out.flush();
        }
    }

    /// Any write error (EPIPE above all, `procmux run | head`) ends the output for good: record
    /// it and tell whoever awaits [`Mux::closed`](super::Mux::closed).
    fn close(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.closed_tx.send_replace(true);
    }
}
