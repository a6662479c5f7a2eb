//! Waiting for `cgroup.events` files to change, with one inotify instance for all runs.
//!
//! The kernel marks `cgroup.events` modified whenever its `populated` line flips, so a job
//! learns that its cgroup emptied without polling. One instance serves every run (the default
//! limit is 128 instances per user, shared with every other program): whichever task is
//! waiting reads the queued events and wakes the waiters they name. Where inotify cannot be
//! had, waiters fall back to re-reading the file on a timer, and say so once in the logs.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;

/// How often a waiter re-reads its file when inotify is not available.
const FALLBACK_POLL: Duration = Duration::from_millis(50);

/// An inotify instance, readable through tokio.
struct InotifyFd(Inotify);

impl AsRawFd for InotifyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

struct Shared {
    fd: AsyncFd<InotifyFd>,
    waiters: Mutex<HashMap<WatchDescriptor, Arc<Notify>>>,
}

/// The watcher of every `cgroup.events` file procmux waits on.
#[derive(Default)]
pub(crate) struct EventsWatcher {
    /// Made on first use, inside the runtime that will read it; `None` if inotify failed.
    shared: OnceLock<Option<Shared>>,
}

/// One watched file.
pub(crate) struct Watch {
    wd: Option<WatchDescriptor>,
    notify: Arc<Notify>,
}

impl Shared {
    fn waiters(&self) -> MutexGuard<'_, HashMap<WatchDescriptor, Arc<Notify>>> {
        self.waiters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads one batch of events and wakes the waiters they concern.
    async fn drive(&self) {
        loop {
            let Ok(mut ready) = self.fd.readable().await else {
                // The reactor is gone (its runtime shut down, and the caller runs on another):
                // fall back to re-reading the file on a timer.
                return tokio::time::sleep(FALLBACK_POLL).await;
            };
            match ready.try_io(|fd| fd.get_ref().0.read_events().map_err(io::Error::from)) {
                Ok(Ok(events)) => {
                    let waiters = self.waiters();
                    for event in events {
                        if event.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                            // Events were lost: wake everyone to re-read their file.
                            waiters.values().for_each(|n| n.notify_one());
                        } else if let Some(notify) = waiters.get(&event.wd) {
                            notify.notify_one();
                        }
                    }
                    return;
                }
                Ok(Err(err)) => {
                    tracing::debug!(error = %err, "reading inotify events failed");
                    return tokio::time::sleep(FALLBACK_POLL).await;
                }
                Err(_would_block) => {}
            }
        }
    }
}

/// Registers the instance with the reactor (tokio 1.54 deprecates the safe `AsyncFd::new` for
/// the `unsafe` `AsyncFd::register`).
fn register(inotify: Inotify) -> io::Result<AsyncFd<InotifyFd>> {
    #[allow(unsafe_code)]
    // SAFETY: the contract is that the descriptor stays open, and the same, for the
    // `AsyncFd`'s whole life. It holds by construction: `InotifyFd` owns the `Inotify`, which
    // owns its descriptor and closes it only when dropped with the `AsyncFd`, and `as_raw_fd`
    // always returns that descriptor.
    unsafe { AsyncFd::register(InotifyFd(inotify)) }.map_err(io::Error::from)
}

impl EventsWatcher {
    fn shared(&self) -> Option<&Shared> {
        if let Some(made) = self.shared.get() {
            return made.as_ref();
        }
        // Registering with the reactor needs a runtime; without one (a caller outside tokio),
        // poll this time and try again next time.
        tokio::runtime::Handle::try_current().ok()?;
        self.shared
            .get_or_init(|| {
                let made = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
                    .map_err(io::Error::from)
                    .and_then(register);
                match made {
                    Ok(fd) => Some(Shared {
                        fd,
                        waiters: Mutex::default(),
                    }),
                    Err(err) => {
                        tracing::warn!(error = %err, "no inotify: cgroups are polled instead");
                        None
                    }
                }
            })
            .as_ref()
    }

    /// Starts watching `file` for modifications. Never fails: without a watch, waiting falls
    /// back to a timer.
    pub(crate) fn watch(&self, file: &Path) -> Watch {
        let notify = Arc::new(Notify::new());
        let wd = self.shared().and_then(|shared| {
            let wd = shared
                .fd
                .get_ref()
                .0
                .add_watch(file, AddWatchFlags::IN_MODIFY)
                .map_err(|err| tracing::debug!(error = %err, file = %file.display(), "no watch"))
                .ok()?;
            shared.waiters().insert(wd, Arc::clone(&notify));
            Some(wd)
        });
        Watch { wd, notify }
    }

    /// Resolves after the watched file may have changed (or after a short time without a
    /// watch). Cancel-safe: the caller re-reads the file whatever the reason it woke.
    pub(crate) async fn changed(&self, watch: &Watch) {
        match (self.shared(), watch.wd) {
            (Some(shared), Some(_)) => {
                tokio::select! {
                    () = watch.notify.notified() => {}
                    () = shared.drive() => {}
                }
            }
            _ => tokio::time::sleep(FALLBACK_POLL).await,
        }
    }

    /// Stops waking anyone for a watch whose directory is being removed. The kernel drops
    /// the watch with the directory, so no `inotify_rm_watch` is made: a call that took about
    /// a third of the time of the `rmdir` itself when 1,000 runs stopped at once.
    pub(crate) fn forget(&self, watch: &Watch) {
        if let (Some(shared), Some(wd)) = (self.shared.get().and_then(Option::as_ref), watch.wd) {
            shared.waiters().remove(&wd);
        }
    }
}
