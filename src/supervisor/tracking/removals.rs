//! Removing the cgroups of ended runs on a thread of their own, so that the event loop does
//! not wait for the kernel to tear them down.
//!
//! An `rmdir` of a cgroup removes its interface files one by one and took a fifth of the
//! event loop's time when 1,000 runs stopped at once; on a second core it overlaps with the
//! loop's own work. The thread exists only while there is something to remove: it ends after
//! a second without work, so that an idle procmux has no extra thread.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the thread waits for more work before it ends.
const IDLE_END: Duration = Duration::from_secs(1);

/// What removes one directory: true when it is gone, false to keep it for a later try.
pub(super) type Remove = fn(&std::path::Path) -> bool;

#[derive(Default)]
struct State {
    /// The running thread's queue, `None` when no thread runs.
    queue: Option<Sender<PathBuf>>,
    thread: Option<JoinHandle<()>>,
}

/// The removals of one procmux cgroup.
pub(super) struct Removals {
    state: Arc<Mutex<State>>,
    remove: Remove,
    /// Directories that could not be removed yet (their processes were still dying).
    stale: Arc<Mutex<Vec<PathBuf>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Removals {
    pub(super) fn new(remove: Remove, stale: Arc<Mutex<Vec<PathBuf>>>) -> Self {
        Self {
            state: Arc::default(),
            remove,
            stale,
        }
    }

    /// Removes `dir` soon, on the removal thread (here, if that thread cannot be started).
    pub(super) fn remove_later(&self, dir: PathBuf) {
        let mut state = lock(&self.state);
        let dir = match &state.queue {
            Some(queue) => match queue.send(dir) {
                Ok(()) => return,
                Err(mpsc::SendError(dir)) => dir,
            },
            None => dir,
        };
        let (queue, work) = mpsc::channel();
        let (shared, remove, stale) = (Arc::clone(&self.state), self.remove, self.stale.clone());
        let started = std::thread::Builder::new()
            .name("procmux-rmdir".into())
            .spawn(move || work_until_idle(&work, &shared, remove, &stale));
        match started {
            Ok(thread) => {
                let _ = queue.send(dir);
                state.queue = Some(queue);
                let ended = state.thread.replace(thread);
                drop(state);
                // A thread that ended by itself is joined here, not left unjoined.
                if let Some(ended) = ended {
                    let _ = ended.join();
                }
            }
            Err(_) => {
                drop(state);
                self.remove_now(dir);
            }
        }
    }

    /// Waits until every queued removal has been tried.
    pub(super) fn finish(&self) {
        let thread = {
            let mut state = lock(&self.state);
            state.queue = None;
            state.thread.take()
        };
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    fn remove_now(&self, dir: PathBuf) {
        if !(self.remove)(&dir) {
            lock(&self.stale).push(dir);
        }
    }
}

/// The removal thread: removes what comes until the queue has been empty for `IDLE_END`, or
/// until its sender is dropped (`finish`).
fn work_until_idle(
    work: &Receiver<PathBuf>,
    state: &Mutex<State>,
    remove: Remove,
    stale: &Mutex<Vec<PathBuf>>,
) {
    let handle = |dir: PathBuf| {
        if !remove(&dir) {
            lock(stale).push(dir);
        }
    };
    loop {
        match work.recv_timeout(IDLE_END) {
            Ok(dir) => handle(dir),
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {
                // Under the lock no one can queue more: end only if nothing came meanwhile.
                let mut state = lock(state);
                match work.try_recv() {
                    Ok(dir) => {
                        drop(state);
                        handle(dir);
                    }
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => {
                        state.queue = None;
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn remove(dir: &std::path::Path) -> bool {
        std::fs::remove_dir(dir).is_ok()
    }

    #[test]
    fn queued_directories_are_removed_by_finish() {
        let root = tempfile::tempdir().unwrap();
        let stale = Arc::default();
        let removals = Removals::new(remove, Arc::clone(&stale));
        let dirs: Vec<PathBuf> = (0..50).map(|n| root.path().join(n.to_string())).collect();
        for dir in &dirs {
            std::fs::create_dir(dir).unwrap();
            removals.remove_later(dir.clone());
        }
        // One that cannot be removed: not empty.
        let full = root.path().join("full");
        std::fs::create_dir_all(full.join("inside")).unwrap();
        removals.remove_later(full.clone());
        removals.finish();
        assert!(dirs.iter().all(|dir| !dir.exists()));
        assert_eq!(*lock(&stale), vec![full]);
    }

    #[test]
    fn the_thread_ends_when_idle_and_a_new_one_takes_later_work() {
        let root = tempfile::tempdir().unwrap();
        let removals = Removals::new(remove, Arc::default());
        let first = root.path().join("first");
        std::fs::create_dir(&first).unwrap();
        removals.remove_later(first.clone());
        let deadline = std::time::Instant::now() + IDLE_END * 10;
        while lock(&removals.state).queue.is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "the thread never ended"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!first.exists());
        let second = root.path().join("second");
        std::fs::create_dir(&second).unwrap();
        removals.remove_later(second.clone());
        removals.finish();
        assert!(!second.exists());
    }
}
