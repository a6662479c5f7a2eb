//! The live stream of one `logs -f` client: a bounded, lossy queue between the producer (the
//! coordinator's output sink) and the connection task that writes to the client.
//!
//! The producer must never wait for a client: a client that reads slowly, or not at all, must
//! not slow the terminal or the children. So [`FollowSender::send`] never blocks and never
//! fails for a full queue: when the queue holds [`FOLLOW_LINES`] lines or [`FOLLOW_BYTES`]
//! bytes, the oldest lines are dropped and counted, and the receiver gets a
//! [`FollowItem::Skipped`] with the count before the lines that follow the gap (the semantics
//! of a lagging `tokio::sync::broadcast` receiver).
//!
//! Either side learns when the other is gone: [`FollowSender::send`] returns
//! [`FollowerGone`] once the receiver was dropped (the client left: the producer should drop
//! its sender and forget the follower), and [`FollowReceiver::recv`] returns `None` once the
//! sender was dropped and the queue is drained (the connection then closes).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::log_line::LogLine;

/// At most this many lines wait for one follower.
pub const FOLLOW_LINES: usize = 1024;

/// At most this many bytes of lines wait for one follower (the first bound reached wins).
pub const FOLLOW_BYTES: usize = 1024 * 1024;

/// What a follower receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowItem {
    /// A live line.
    Line(LogLine),
    /// This many lines were dropped here because the client read too slowly.
    Skipped(u64),
}

/// The receiver went away (the client disconnected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the follower is gone")]
pub struct FollowerGone;

/// A new follower queue with the default bounds.
pub fn follow_channel() -> (FollowSender, FollowReceiver) {
    follow_channel_with(FOLLOW_LINES, FOLLOW_BYTES)
}

/// A new follower queue holding at most `max_lines` lines and `max_bytes` bytes (at least
/// one line is always kept, however long).
pub fn follow_channel_with(max_lines: usize, max_bytes: usize) -> (FollowSender, FollowReceiver) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            lines: VecDeque::new(),
            bytes: 0,
            skipped: 0,
            sender_gone: false,
            receiver_gone: false,
        }),
        ready: Notify::new(),
        max_lines: max_lines.max(1),
        max_bytes,
    });
    (
        FollowSender {
            shared: shared.clone(),
        },
        FollowReceiver { shared },
    )
}

/// The producer's half: give each live line to [`send`](Self::send).
#[derive(Debug)]
pub struct FollowSender {
    shared: Arc<Shared>,
}

/// The connection task's half.
#[derive(Debug)]
pub struct FollowReceiver {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    /// Woken on every change the receiver may be waiting for (a line, the sender gone).
    ready: Notify,
    max_lines: usize,
    max_bytes: usize,
}

#[derive(Debug)]
struct Queue {
    lines: VecDeque<LogLine>,
    /// The bytes of `lines`.
    bytes: usize,
    /// Lines dropped from the front since the receiver last looked: they come before `lines`.
    skipped: u64,
    sender_gone: bool,
    receiver_gone: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue is consistent between statements; a panic elsewhere cannot break it.
        self.queue
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl FollowSender {
    /// Queues `line` without waiting, dropping the oldest lines when the queue is full.
    /// Fails only when the receiver is gone.
    pub fn send(&self, line: LogLine) -> Result<(), FollowerGone> {
        let mut queue = self.shared.lock();
        if queue.receiver_gone {
            return Err(FollowerGone);
        }
        queue.bytes += line.bytes.len();
        queue.lines.push_back(line);
        while queue.lines.len() > self.shared.max_lines
            || (queue.bytes > self.shared.max_bytes && queue.lines.len() > 1)
        {
            if let Some(dropped) = queue.lines.pop_front() {
                queue.bytes -= dropped.bytes.len();
                queue.skipped += 1;
            }
        }
        drop(queue);
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Counts `count` lines the producer itself could not deliver (it lost them upstream):
    /// the receiver learns of them with the next [`FollowItem::Skipped`].
    pub fn skipped(&self, count: u64) -> Result<(), FollowerGone> {
        let mut queue = self.shared.lock();
        if queue.receiver_gone {
            return Err(FollowerGone);
        }
        queue.skipped += count;
        drop(queue);
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Whether the receiver is gone (the client left).
    pub fn is_gone(&self) -> bool {
        self.shared.lock().receiver_gone
    }
}

impl Drop for FollowSender {
    fn drop(&mut self) {
        self.shared.lock().sender_gone = true;
        self.shared.ready.notify_one();
    }
}

impl FollowReceiver {
    /// The next item, waiting for one; `None` once the sender is gone and everything queued
    /// was received.
    pub async fn recv(&mut self) -> Option<FollowItem> {
        loop {
            if let Some(item) = self.try_recv() {
                return Some(item);
            }
            if self.shared.lock().sender_gone {
                // Whatever was sent before the drop was taken by `try_recv` above, or is
                // taken now.
                return self.try_recv();
            }
            // A notification between the checks and here is kept as a permit, so no
            // wake-up is lost.
            self.shared.ready.notified().await;
        }
    }

    /// The next item if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<FollowItem> {
        let mut queue = self.shared.lock();
        if queue.skipped > 0 {
            return Some(FollowItem::Skipped(std::mem::take(&mut queue.skipped)));
        }
        let line = queue.lines.pop_front()?;
        queue.bytes -= line.bytes.len();
        Some(FollowItem::Line(line))
    }
}

impl Drop for FollowReceiver {
    fn drop(&mut self) {
        let mut queue = self.shared.lock();
        queue.receiver_gone = true;
        // Free the lines now rather than when the producer next sends.
        queue.lines.clear();
        queue.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::log_line::Stream;

    fn line(n: usize) -> LogLine {
        LogLine {
            name: "w".into(),
            stream: Stream::Stdout,
            at_ms: 0,
            bytes: format!("{n:04}").into_bytes(),
        }
    }

    fn drain(rx: &mut FollowReceiver) -> Vec<FollowItem> {
        std::iter::from_fn(|| rx.try_recv()).collect()
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_says_how_many() {
        let (tx, mut rx) = follow_channel_with(3, usize::MAX);
        for n in 0..10 {
            tx.send(line(n)).expect("receiver alive");
        }
        assert_eq!(
            drain(&mut rx),
            [
                FollowItem::Skipped(7),
                FollowItem::Line(line(7)),
                FollowItem::Line(line(8)),
                FollowItem::Line(line(9)),
            ]
        );
        tx.send(line(10)).expect("receiver alive");
        assert_eq!(drain(&mut rx), [FollowItem::Line(line(10))]);
    }

    #[test]
    fn the_byte_bound_keeps_at_least_one_line() {
        let (tx, mut rx) = follow_channel_with(100, 10);
        for n in 0..5 {
            tx.send(line(n)).expect("receiver alive");
        }
        assert_eq!(
            drain(&mut rx),
            [
                FollowItem::Skipped(3),
                FollowItem::Line(line(3)),
                FollowItem::Line(line(4))
            ]
        );
        let (tx, mut rx) = follow_channel_with(100, 1);
        tx.send(line(0)).expect("receiver alive");
        assert_eq!(drain(&mut rx), [FollowItem::Line(line(0))]);
    }

    #[test]
    fn the_producer_learns_the_receiver_is_gone() {
        let (tx, rx) = follow_channel();
        assert!(!tx.is_gone());
        drop(rx);
        assert!(tx.is_gone());
        assert_eq!(tx.send(line(0)), Err(FollowerGone));
    }

    #[tokio::test]
    async fn the_receiver_drains_then_ends_when_the_sender_is_gone() {
        let (tx, mut rx) = follow_channel();
        let waiter = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(item) = rx.recv().await {
                got.push(item);
            }
            got
        });
        tx.send(line(1)).expect("receiver alive");
        tx.send(line(2)).expect("receiver alive");
        drop(tx);
        let got = waiter.await.expect("no panic");
        assert_eq!(got, [FollowItem::Line(line(1)), FollowItem::Line(line(2))]);
    }
}
