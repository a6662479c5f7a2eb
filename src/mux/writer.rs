//! The single writer: one thread that owns the real output and writes every batch.
//!
//! A dedicated OS thread rather than a task because the output is a blocking `Write` (a
//! terminal can stall for as long as the user holds Ctrl-S); blocking a runtime worker on it
//! would starve the pumps and the coordinator. Being the only writer is what keeps lines whole:
//! each batch is a run of complete lines written with one `write_all`.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{mpsc, oneshot};

use super::Shared;

/// What the pumps and the [`Mux`](super::Mux) handles send to the writer.
#[derive(Debug)]
pub(crate) enum Message {
    /// Complete output lines, prefixed; the buffer goes back to the pool once written.
    Batch(Vec<u8>),
    /// System lines were queued in [`Shared`]; wake up and write them.
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
    /// State shared with the handles: pool, system queue, closed flag.
    pub(crate) shared: Arc<Shared>,
}

impl Writer {
    /// Runs until every sender is gone (all `Mux`, `Source` and pump handles dropped).
    pub(crate) fn run(mut self) {
        let mut system_lines = Vec::new();
        while let Some(message) = self.rx.blocking_recv() {
            match message {
                Message::Batch(batch) => {
                    self.write(&batch);
                    self.shared.recycle(batch);
                }
                Message::System => {}
                Message::Flush(done) => {
                    self.write_system(&mut system_lines);
                    self.flush();
                    // The asker may have stopped waiting; nothing to do then.
                    let _ = done.send(());
                }
            }
            // Checked after every message, not only on `System`: when the channel was full
            // the wake-up could not be sent, and this is how those lines still get out.
            if self.shared.system_pending.load(Ordering::Acquire) {
                self.write_system(&mut system_lines);
            }
            // Flush when caught up, so a quiet stream is never left in a buffer of `out`.
            if self.rx.is_empty() {
                self.flush();
            }
        }
        self.write_system(&mut system_lines);
        self.flush();
    }

    /// Writes one batch, or discards it once the output is closed.
    fn write(&mut self, bytes: &[u8]) {
        if self.shared.is_closed() {
            return;
        }
        if self.out.write_all(bytes).is_err() {
            self.close();
        }
    }

    /// Flushes the output; a failure means it is closed just like a failed write.
    fn flush(&mut self) {
        if self.shared.is_closed() {
            return;
        }
        if self.out.flush().is_err() {
            self.close();
        }
        if let Some(system_out) = &mut self.system_out {
            // Stderr failing is not "output closed": the child output still flows.
            let _ = system_out.flush();
        }
    }

    /// Takes the queued system lines (swapping buffers, so the lock is held for no write) and
    /// writes them where system lines go.
    fn write_system(&mut self, scratch: &mut Vec<u8>) {
        self.shared.take_system_lines(scratch);
        if scratch.is_empty() {
            return;
        }
        match &mut self.system_out {
            Some(system_out) => {
                let _ = system_out.write_all(scratch);
            }
            None => {
                let lines = std::mem::take(scratch);
                self.write(&lines);
                *scratch = lines;
            }
        }
        scratch.clear();
    }

    /// Any write error (EPIPE above all, `procmux run | head`) ends the output for good: record
    /// it and tell whoever awaits [`Mux::closed`](super::Mux::closed).
    fn close(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.closed_tx.send_replace(true);
    }
}
