//! The process-wide registry of the children procmux waits for itself: job leaders (tokio
//! reaps them) and any other child the owner registers. The orphan reaper reaps every other
//! child, and never these.
//!
//! The race it closes: a child is forked, exits at once, and the reaper sees it as a zombie
//! before its pid is registered. Spawners hold the *gate* (a shared lock) from before the fork
//! until the pid is registered; the reaper takes the gate exclusively before deciding which
//! zombies are orphans, and defers when it cannot, so it never looks at a half-registered
//! spawn.

use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::{Notify, watch};

pub(crate) struct Registry {
    gate: RwLock<()>,
    known: Mutex<HashSet<u32>>,
    /// Set when the reaper found the gate held; the next spawner to release it wakes it.
    deferred: AtomicBool,
    /// Wakes a deferred reaper.
    pub(crate) retry: Notify,
    /// Counts reaping rounds: draining jobs watch it to re-check whether their group is empty.
    rounds: watch::Sender<u64>,
}

/// The registry of this process.
pub(crate) fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry {
        gate: RwLock::new(()),
        known: Mutex::new(HashSet::new()),
        deferred: AtomicBool::new(false),
        retry: Notify::new(),
        rounds: watch::Sender::new(0),
    })
}

/// Held from before a fork until the child's pid is registered.
pub(crate) struct Spawning<'a> {
    registry: &'a Registry,
    /// Always `Some` until dropped: released before the deferred reaper is woken.
    gate: Option<RwLockReadGuard<'a, ()>>,
}

impl Spawning<'_> {
    /// Records a child that procmux waits for itself.
    pub(crate) fn register(&self, pid: u32) {
        self.registry.known().insert(pid);
    }
}

impl Drop for Spawning<'_> {
    fn drop(&mut self) {
        // Release first: a reaper woken while the gate is still held would defer again, and
        // nobody would wake it a second time.
        drop(self.gate.take());
        if self.registry.deferred.swap(false, Ordering::SeqCst) {
            self.registry.retry.notify_one();
        }
    }
}

impl Registry {
    fn known(&self) -> MutexGuard<'_, HashSet<u32>> {
        // The set is consistent after any panic (inserts and removes are atomic), so a poisoned
        // lock is still usable.
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Holds the reaper off until the returned guard is dropped; register the child with it.
    pub(crate) fn spawning(&self) -> Spawning<'_> {
        let gate = self
            .gate
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Spawning {
            registry: self,
            gate: Some(gate),
        }
    }

    /// Forgets a child once it has been reaped (or handed to tokio's orphan queue).
    pub(crate) fn forget(&self, pid: u32) {
        self.known().remove(&pid);
    }

    pub(crate) fn is_known(&self, pid: u32) -> bool {
        self.known().contains(&pid)
    }

    /// The reaper's exclusive hold, or `None` (and a wake-up later) while a spawn is under way.
    pub(crate) fn try_exclusive(&self) -> Option<RwLockWriteGuard<'_, ()>> {
        match self.gate.try_write() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => {
                self.deferred.store(true, Ordering::SeqCst);
                // A spawner may have released the gate between the failed try and the flag:
                // try once more so that no wake-up is lost.
                match self.gate.try_write() {
                    Ok(guard) => {
                        self.deferred.store(false, Ordering::SeqCst);
                        Some(guard)
                    }
                    Err(_) => None,
                }
            }
        }
    }

    /// Tells draining jobs that a reaping round happened.
    pub(crate) fn round_done(&self) {
        self.rounds.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn rounds(&self) -> watch::Receiver<u64> {
        self.rounds.subscribe()
    }
}

/// Spawns a child that procmux will wait for itself, outside any job (a watchdog, a probe
/// command), so that the orphan reaper never reaps it.
///
/// `spawn` runs with the reaper held off; the pid that `pid_of` returns is registered before
/// the reaper may look again. Call [`forget_child`] once the child has been waited for. Jobs
/// do this for their own processes; only children spawned by other means need it, and only
/// in a process where a [`Tracker`](super::Tracker) runs the orphan reaper (see
/// [`Tracker::reaps_orphans`](super::Tracker::reaps_orphans)).
pub fn spawn_known_child<C>(
    spawn: impl FnOnce() -> io::Result<C>,
    pid_of: impl FnOnce(&C) -> Option<u32>,
) -> io::Result<C> {
    let spawning = registry().spawning();
    let child = spawn()?;
    if let Some(pid) = pid_of(&child) {
        spawning.register(pid);
    }
    Ok(child)
}

/// Forgets a child registered with [`spawn_known_child`], once it has been waited for.
pub fn forget_child(pid: u32) {
    registry().forget(pid);
}
