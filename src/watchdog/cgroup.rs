//! Killing and removing a cgroup v2 with its descendants: what the watchdog does with each
//! cgroup it tracks once procmux has died.
//!
//! Killing writes `1` to `cgroup.kill` (Linux 5.14 and later), which SIGKILLs the whole
//! subtree at once, forks in flight included. Without it, the subtree is frozen (so nothing
//! forks while we read the lists) and every pid of every `cgroup.procs` gets SIGKILL, round
//! after round, until the lists are empty. Removing is `rmdir`, children first, retried while
//! the kernel still counts dying processes in it.
//!
//! Only a directory on a cgroup2 file system is touched: an `rmdir` elsewhere would remove
//! an unrelated empty folder, and a path that is no cgroup has nothing to kill. The watchdog
//! never kills itself: if it sits inside the subtree (a replacement started after procmux
//! moved into its own cgroup), the per-pid way is used and its own pid skipped.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill as send_signal};
use nix::unistd::Pid;

/// How a cgroup's processes are killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillMethod {
    /// `cgroup.kill` where the kernel has it, else [`KillMethod::EachPid`].
    Best,
    /// Freeze, then SIGKILL each pid of each `cgroup.procs` until none is left.
    EachPid,
}

/// Why a cgroup could not be killed or removed.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// The path exists but is not on a cgroup2 file system: it is left alone.
    #[error("{0} is not a cgroup v2 directory")]
    NotACgroup(PathBuf),
    /// Reading or writing one of its files failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// Processes were still in it at the deadline.
    #[error("{path} still held processes after {waited:?}")]
    TimedOut {
        /// The cgroup.
        path: PathBuf,
        /// How long it was given.
        waited: Duration,
    },
}

/// Whether `path` is a directory of a cgroup2 file system.
pub fn is_cgroup2(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// SIGKILLs every process in the cgroup at `path` and its descendants. Returns without
/// waiting for them to exit when `cgroup.kill` did the work; the per-pid way returns once
/// the subtree is empty, or fails at `deadline`. A cgroup that does not exist is fine: it
/// has nothing left to kill.
pub fn kill(path: &Path, method: KillMethod, deadline: Instant) -> Result<(), CgroupError> {
    if !path.exists() {
        return Ok(());
    }
    if !is_cgroup2(path) {
        return Err(CgroupError::NotACgroup(path.to_owned()));
    }
    let me = std::process::id();
    let holds_me = subtree_pids(path)?.contains(&me);
    if method == KillMethod::Best && !holds_me {
        // Older kernels have no such file; any other failure (EINVAL on a root cgroup, a
        // permission refused) still leaves the slower way, which may work.
        if std::fs::write(path.join("cgroup.kill"), "1").is_ok() {
            return Ok(());
        }
    }
    kill_each_pid(path, me, deadline)
}

/// Freezes the subtree and SIGKILLs its pids, except `me`, until none is left.
fn kill_each_pid(path: &Path, me: u32, deadline: Instant) -> Result<(), CgroupError> {
    let started = Instant::now();
    // Frozen tasks cannot fork, and SIGKILL still ends them. The file is missing before
    // Linux 5.2, and freezing a subtree that holds ourselves would stop us: skip it then.
    let freeze = path.join("cgroup.freeze");
    let frozen = !subtree_pids(path)?.contains(&me) && std::fs::write(&freeze, "1").is_ok();
    let mut pause = Duration::from_millis(1);
    let result = loop {
        let pids: Vec<u32> = subtree_pids(path)?
            .into_iter()
            .filter(|&pid| pid != me)
            .collect();
        if pids.is_empty() {
            break Ok(());
        }
        if Instant::now() >= deadline {
            break Err(CgroupError::TimedOut {
                path: path.to_owned(),
                waited: started.elapsed(),
            });
        }
        for pid in pids {
            if let Ok(raw) = i32::try_from(pid) {
                // ESRCH: it exited between the read and now, as it should.
                let _ = send_signal(Pid::from_raw(raw), Signal::SIGKILL);
            }
        }
        // A killed process stays listed until it has exited: give it a moment. This loop
        // only runs once procmux is gone, never while it idles.
        std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    if frozen && result.is_err() {
        // Do not leave survivors frozen for good: they may still be killed by someone else.
        let _ = std::fs::write(&freeze, "0");
    }
    result
}

/// Every pid in `cgroup.procs` of `path` and of its descendants.
fn subtree_pids(path: &Path) -> Result<Vec<u32>, CgroupError> {
    let mut pids = Vec::new();
    let mut pending = vec![path.to_owned()];
    while let Some(dir) = pending.pop() {
        let procs = dir.join("cgroup.procs");
        match std::fs::read_to_string(&procs) {
            Ok(text) => pids.extend(
                text.lines()
                    .filter_map(|line| line.trim().parse::<u32>().ok()),
            ),
            // Removed while we walked: nothing in it any more.
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(CgroupError::Io {
                    path: procs,
                    source,
                });
            }
        }
        pending.extend(child_cgroups(&dir)?);
    }
    Ok(pids)
}

/// The child cgroups of `dir`: its subdirectories.
fn child_cgroups(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CgroupError::Io {
                path: dir.to_owned(),
                source,
            });
        }
    };
    Ok(entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .map(|entry| entry.path())
        .collect())
}

/// Removes the cgroup at `path`, its descendants first, retrying while the kernel still
/// counts exiting processes in one of them, until `deadline`. A cgroup already gone is fine.
pub fn remove(path: &Path, deadline: Instant) -> Result<(), CgroupError> {
    if !path.exists() {
        return Ok(());
    }
    if !is_cgroup2(path) {
        return Err(CgroupError::NotACgroup(path.to_owned()));
    }
    remove_tree(path, Instant::now(), deadline)
}

fn remove_tree(path: &Path, started: Instant, deadline: Instant) -> Result<(), CgroupError> {
    for child in child_cgroups(path)? {
        remove_tree(&child, started, deadline)?;
    }
    let mut pause = Duration::from_millis(1);
    loop {
        match std::fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) if error.raw_os_error() == Some(nix::libc::EBUSY) => {
                if Instant::now() >= deadline {
                    return Err(CgroupError::TimedOut {
                        path: path.to_owned(),
                        waited: started.elapsed(),
                    });
                }
                std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(source) => {
                return Err(CgroupError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
}
