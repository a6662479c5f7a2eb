//! The lossy sinks: followers (`procmux logs -f`, later a TUI), which get the live chunks
//! through a bounded queue and learn how many lines they missed when they fall behind, and
//! taps (a `log` readiness check), which wait for one line containing a text.
//!
//! Neither may slow the children or the terminal: a full follower queue drops the chunk and
//! counts its lines; a tap only looks at lines while it exists. With no follower and no tap,
//! a pump pays one relaxed atomic load per chunk for each.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};

use super::chunk::Chunk;

/// What a follower receives.
#[derive(Debug, Clone)]
pub enum FollowItem {
    /// New lines.
    Chunk(Arc<Chunk>),
    /// This many lines were dropped because the follower did not keep up.
    Skipped(u64),
}

/// The receiving end of a follower; dropping it unsubscribes.
#[derive(Debug)]
pub struct Follower {
    rx: mpsc::Receiver<FollowItem>,
}

impl Follower {
    /// The next item, or `None` once the mux is gone.
    pub async fn recv(&mut self) -> Option<FollowItem> {
        self.rx.recv().await
    }
}

/// Which sources a follower wants: `None` is every source.
type Filter = Option<Vec<u64>>;

struct Slot {
    filter: Filter,
    tx: mpsc::Sender<FollowItem>,
    /// Lines dropped since the last item that got through.
    skipped: u64,
}

/// Every follower of one mux.
#[derive(Default)]
pub(crate) struct Followers {
    slots: Mutex<Vec<Slot>>,
    count: AtomicUsize,
}

impl std::fmt::Debug for Followers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Followers")
            .field("count", &self.count.load(Ordering::Relaxed))
            .finish()
    }
}

impl Followers {
    /// A new follower of the sources with these ids (`None`: all), holding at most `capacity`
    /// chunks before it starts losing lines.
    pub(crate) fn add(&self, filter: Filter, capacity: usize) -> Follower {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let mut slots = self.lock();
        slots.push(Slot {
            filter,
            tx,
            skipped: 0,
        });
        self.count.store(slots.len(), Ordering::Relaxed);
        Follower { rx }
    }

    /// Hands a chunk to every follower that wants it, never waiting.
    pub(crate) fn offer(&self, chunk: &Arc<Chunk>) {
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut slots = self.lock();
        slots.retain(|slot| !slot.tx.is_closed());
        for slot in slots.iter_mut() {
            if slot
                .filter
                .as_ref()
                .is_some_and(|ids| !ids.contains(&chunk.label.id))
            {
                continue;
            }
            let lines = chunk.line_count() as u64;
            if slot.skipped > 0 {
                match slot.tx.try_send(FollowItem::Skipped(slot.skipped)) {
                    Ok(()) => slot.skipped = 0,
                    Err(_) => {
                        slot.skipped += lines;
                        continue;
                    }
                }
            }
            if slot
                .tx
                .try_send(FollowItem::Chunk(Arc::clone(chunk)))
                .is_err()
            {
                slot.skipped += lines;
            }
        }
        self.count.store(slots.len(), Ordering::Relaxed);
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Slot>> {
        // A panic mid-push leaves at worst one slot missing; carry on.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A waiting tap: its id, the text it looks for, and what to tell when a line has it.
type Waiting = (u64, Vec<u8>, oneshot::Sender<()>);

/// The taps of one source.
#[derive(Default)]
pub(crate) struct Taps {
    waiting: Mutex<Vec<Waiting>>,
    count: AtomicUsize,
    next_id: AtomicU64,
}

impl std::fmt::Debug for Taps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Taps")
            .field("count", &self.count.load(Ordering::Relaxed))
            .finish()
    }
}

impl Taps {
    fn add(&self, text: &[u8]) -> (u64, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut waiting = self.lock();
        waiting.push((id, text.to_vec(), tx));
        self.count.store(waiting.len(), Ordering::Relaxed);
        (id, rx)
    }

    fn remove(&self, id: u64) {
        let mut waiting = self.lock();
        waiting.retain(|(tap, _, _)| *tap != id);
        self.count.store(waiting.len(), Ordering::Relaxed);
    }

    /// Fires and removes every tap one of the chunk's lines satisfies.
    pub(crate) fn offer(&self, chunk: &Chunk) {
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut waiting = self.lock();
        waiting.retain_mut(|(_, text, tx)| {
            let finder = memchr::memmem::Finder::new(text.as_slice());
            let hit = chunk.lines().any(|line| finder.find(line).is_some());
            if hit {
                // Taken out so that it can be sent; a dropped receiver is fine.
                let (done, _) = oneshot::channel();
                let _ = std::mem::replace(tx, done).send(());
            }
            !hit
        });
        self.count.store(waiting.len(), Ordering::Relaxed);
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Waiting>> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Resolves when a line of its source contains its text; dropping it removes it.
#[derive(Debug)]
pub struct Tap {
    rx: oneshot::Receiver<()>,
    id: u64,
    taps: Arc<super::SourceShared>,
}

impl Tap {
    pub(crate) fn new(taps: Arc<super::SourceShared>, text: &[u8]) -> Self {
        let (id, rx) = taps.taps.add(text);
        Self { rx, id, taps }
    }
}

impl Future for Tap {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(()),
            // Its sender is only dropped with the source's taps, i.e. never while the tap
            // holds the source: wait forever rather than claim a match.
            Poll::Ready(Err(_)) => Poll::Pending,
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.taps.taps.remove(self.id);
    }
}
