//! The inotify instance, the event mask of each kind of watch, and the thread that reads the
//! instance and routes what it reads (see `routes.rs`).
//!
//! The masks are the point of talking to inotify directly: the kernel queues only the
//! events a watch asks for, so a write that no mask names (a log appended to beside the
//! manifest, a compiler reading sources) does not wake this thread at all.
//!
//! Decision: the design chose the `notify` crate, but notify 8 gives every watch one fixed
//! mask (with `IN_MODIFY` and `IN_OPEN`), so the design's "a write to a log beside the
//! manifest does not wake procmux" cannot be had through it: 100,000 such writes cost 110 to
//! 150 ms of CPU there, 0.1 ms here (`benches/compare.sh --workloads watch`). nix's inotify,
//! already used for `cgroup.events`, replaces it; like the rest of procmux, this is Linux.
//!
//! The thread sleeps in `poll(2)` on the instance and on a pipe whose write end the worker
//! holds: when the worker ends and drops it, the pipe reports a hang-up and the thread ends
//! too, dropping its reference to the instance; the kernel removes every watch when the last
//! one goes.

use std::io;
use std::os::fd::AsFd;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use tokio::sync::mpsc::UnboundedSender;

use super::hub::HubInput;
use super::routes::{Raw, Routed, Routes};
use super::worker::Job;

/// The mask of a directory watched for the manifest and its env files: what can change which
/// file a name designates or what it holds, seen when it is done. A write is seen at the
/// writer's close (`IN_CLOSE_WRITE`), a save by rename at the rename (`IN_MOVED_TO`), a
/// deletion and a re-creation as such; `IN_DELETE_SELF`/`IN_MOVE_SELF` say that the folder
/// itself went away. No `IN_MODIFY`: a file written and kept open (a log, a SQLite database)
/// costs nothing, and the manifest's own writes without a close are seen by its file watch
/// ([`MANIFEST_FILE`]). No `IN_ATTRIB`: a reload reads contents, and `chmod` or `touch` of
/// the manifest changes none (the old watcher ignored metadata for the manifest too).
pub(crate) const MANIFEST_DIR: AddWatchFlags = AddWatchFlags::IN_CREATE
    .union(AddWatchFlags::IN_MOVED_TO)
    .union(AddWatchFlags::IN_MOVED_FROM)
    .union(AddWatchFlags::IN_DELETE)
    .union(AddWatchFlags::IN_CLOSE_WRITE)
    .union(AddWatchFlags::IN_DELETE_SELF)
    .union(AddWatchFlags::IN_MOVE_SELF);

/// The mask of a directory watched for a process's globs: the manifest folder's mask and
/// `IN_ATTRIB` (a metadata change restarts: `chmod +x` of a script, `touch` of a file the
/// toucher cannot open for writing; a plain `touch` closes a file it opened for writing).
///
/// No `IN_MODIFY`, by choice: a restart follows a finished write (its close), not each
/// `write(2)` of one in progress, so a process never restarts on a half-written file, and
/// a log or database beside the watched files (most often in the manifest's folder, which a
/// `Cargo.toml` glob watches) costs nothing while it is written. The price: a file that a
/// writer keeps open is seen only when it is closed (or renamed, or removed). Writes through
/// `mmap` are never reported by inotify, whatever the mask. (watchexec, which goes through
/// notify, receives `IN_MODIFY` and filters in user space, debouncing each burst.)
pub(crate) const PROCESS_DIR: AddWatchFlags = MANIFEST_DIR.union(AddWatchFlags::IN_ATTRIB);

/// The mask of a watch on a manifest or env file itself (each one that exists, re-added when
/// the file is replaced): a write that is not followed by a close (rare: a program that
/// keeps the manifest open) is still seen, and it is cheap, since it names only that file.
pub(crate) const MANIFEST_FILE: AddWatchFlags = AddWatchFlags::IN_MODIFY
    .union(AddWatchFlags::IN_CLOSE_WRITE)
    .union(AddWatchFlags::IN_DELETE_SELF)
    .union(AddWatchFlags::IN_MOVE_SELF);

/// Where routed events go.
pub(crate) struct Outputs {
    /// The hub: changes and manifest touches.
    pub hub: UnboundedSender<HubInput>,
    /// The worker: resyncs and new directories.
    pub jobs: Sender<Job>,
}

/// Makes the instance and starts its reading thread. Gives the instance (for the worker to
/// add and remove watches) and the pipe end whose drop ends the thread.
pub(crate) fn start(
    routes: Arc<Mutex<Routes>>,
    outputs: Outputs,
) -> io::Result<(Arc<Inotify>, io::PipeWriter)> {
    let inotify = Arc::new(Inotify::init(
        InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC,
    )?);
    let (stop, stop_writer) = io::pipe()?;
    let reader = Arc::clone(&inotify);
    std::thread::Builder::new()
        .name("procmux-inotify".into())
        .spawn(move || read(&reader, &stop, &routes, &outputs))?;
    Ok((inotify, stop_writer))
}

/// Reads and routes events until the stop pipe hangs up.
fn read(inotify: &Inotify, stop: &io::PipeReader, routes: &Mutex<Routes>, outputs: &Outputs) {
    loop {
        let mut fds = [
            PollFd::new(inotify.as_fd(), PollFlags::POLLIN),
            PollFd::new(stop.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(error) => {
                tracing::warn!(%error, "inotify poll failed: no more file watching");
                return;
            }
        }
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            return;
        }
        loop {
            let events = match inotify.read_events() {
                Ok(events) => events,
                Err(Errno::EAGAIN) => break,
                Err(Errno::EINTR) => continue,
                Err(error) => {
                    tracing::warn!(%error, "inotify read failed: no more file watching");
                    return;
                }
            };
            let routed = {
                let mut routes = routes.lock().unwrap_or_else(PoisonError::into_inner);
                let mut routed = Vec::new();
                for event in &events {
                    routed.extend(routes.route(Raw {
                        wd: event.wd,
                        mask: event.mask,
                        name: event.name.as_deref(),
                    }));
                }
                // Watches of directories that went away: removed here, under the lock, so
                // that the worker cannot add a watch on the same inode in between (inotify
                // would hand it the same descriptor).
                for wd in std::mem::take(&mut routes.gone) {
                    let _ = inotify.rm_watch(wd);
                }
                routed
            };
            if !send(routed, outputs) {
                return;
            }
        }
    }
}

/// Passes `routed` on; `false` when no one listens any more.
fn send(routed: Vec<Routed>, outputs: &Outputs) -> bool {
    for routed in routed {
        let sent = match routed {
            Routed::Change { key, path } => {
                outputs.hub.send(HubInput::Change { key, path }).is_ok()
            }
            Routed::Manifest => outputs.hub.send(HubInput::ManifestTouched).is_ok(),
            Routed::Resync(key) => outputs.jobs.send(Job::Resync(key)).is_ok(),
            Routed::NewPath { key, path } => outputs.jobs.send(Job::NewPath { key, path }).is_ok(),
        };
        if !sent {
            return false;
        }
    }
    true
}
