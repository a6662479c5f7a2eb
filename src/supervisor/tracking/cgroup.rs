//! cgroup v2 tracking: procmux's `procmux-<pid>` cgroup (found and made by
//! [`discovery`](super::discovery)), and one child cgroup per job run.
//!
//! A run's processes stay in its cgroup however they fork (`setsid`, double fork): only a
//! privileged process could move them out. So the run has ended when its cgroup is empty
//! (`populated 0` in `cgroup.events`), and `cgroup.kill` (or SIGKILL to each pid of
//! `cgroup.procs`) reaches every one of them.
//!
//! Found by trying on Linux 6.x: a zombie is no longer listed in `cgroup.procs`, does not
//! keep `populated 1`, and does not stop `rmdir`. So a run's cgroup empties (and is removed)
//! even while its leader waits to be reaped, which is why a job also waits for the leader.

use std::fs::{self, File};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::sys::signal::{Signal as NixSignal, kill};
use nix::sys::stat::{Mode, mkdirat};
use nix::unistd::{Pid, UnlinkatFlags, unlinkat};
use process_wrap::tokio::{CommandWrap, CommandWrapper};

use super::events::{EventsWatcher, Watch};
use super::join::{AfterJoin, join_before_exec};
use super::removals::Removals;

/// procmux's own cgroup, `procmux-<pid>`, under which every run gets a cgroup.
pub(crate) struct CgroupRoot {
    path: PathBuf,
    /// The directory, open: runs' cgroups are made and opened relative to it, without a walk
    /// of the whole path each time.
    dir: OwnedFd,
    next_run: AtomicU64,
    watcher: EventsWatcher,
    /// Run cgroups that could not be removed when their run ended; retried at close.
    stale: Arc<Mutex<Vec<PathBuf>>>,
    /// Whether the kernel has `cgroup.kill` (Linux 5.14), the same for every cgroup: looked
    /// up once, here, not at each run.
    has_kill: bool,
    /// Removes the cgroups of ended runs off the caller's thread.
    removals: Removals,
    closed: AtomicBool,
}

/// Finds procmux's cgroup directory and makes `procmux-<pid>` in it (see [`discovery`]).
/// The error is the reason, for the tracking line.
///
/// [`discovery`]: super::discovery
pub(crate) fn create(pid: u32) -> Result<CgroupRoot, String> {
    let path = super::discovery::make_root(pid)?;
    let dir = match open_dir_at(nix::fcntl::AT_FDCWD, &path) {
        Ok(dir) => dir,
        Err(error) => {
            let _ = fs::remove_dir(&path);
            return Err(format!("cannot open {}: {error}", path.display()));
        }
    };
    let stale = Arc::default();
    let has_kill = path.join("cgroup.kill").exists();
    Ok(CgroupRoot {
        path,
        dir,
        next_run: AtomicU64::new(1),
        watcher: EventsWatcher::default(),
        removals: Removals::new(remove_dir_soon_once, Arc::clone(&stale)),
        stale,
        has_kill,
        closed: AtomicBool::new(false),
    })
}

/// The directory `path` (relative to `dir`, or absolute), open for lookups relative to it
/// and for `CLONE_INTO_CGROUP`.
fn open_dir_at<P: ?Sized + nix::NixPath>(dir: impl AsFd, path: &P) -> io::Result<OwnedFd> {
    Ok(nix::fcntl::openat(
        dir,
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?)
}

/// The file `name` in `dir`, open with `access` (and close-on-exec).
fn open_at(dir: &OwnedFd, name: &str, access: OFlag) -> io::Result<File> {
    let fd = nix::fcntl::openat(dir, name, access | OFlag::O_CLOEXEC, Mode::empty())?;
    Ok(File::from(fd))
}

/// Removes an empty cgroup directory, retrying briefly while the kernel finishes tearing
/// down the processes that just left it.
pub(super) fn remove_dir_soon(dir: &Path) -> bool {
    let until = Instant::now() + Duration::from_millis(200);
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return true,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return true,
            Err(_) if Instant::now() < until => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => return false,
        }
    }
}

impl CgroupRoot {
    /// The `procmux-<pid>` directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the cgroup of a new run, ready for the child to be born in it (its directory,
    /// see [`RunCgroup::dir`]) or to join it before `exec` (its `cgroup.procs`).
    ///
    /// Everything is made and opened relative to procmux's directory, and `cgroup.events` is
    /// watched only once someone waits for the cgroup to empty (see [`RunCgroup::emptied`]):
    /// while 100 runs started on two threads, each path walked through the cgroup file system
    /// waited for the other thread's `mkdir`, and the opens took 90 µs a run instead of 25.
    pub(crate) fn new_run(self: &Arc<Self>) -> io::Result<RunCgroup> {
        self.retry_stale();
        let number = self.next_run.fetch_add(1, Ordering::Relaxed);
        let name = format!("run-{number}");
        mkdirat(&self.dir, name.as_str(), Mode::from_bits_truncate(0o755))?;
        let path = self.path.join(&name);
        let opened = open_dir_at(&self.dir, name.as_str()).and_then(|dir| {
            let procs = open_at(&dir, "cgroup.procs", OFlag::O_RDWR)?;
            let events = open_at(&dir, "cgroup.events", OFlag::O_RDONLY)?;
            Ok((dir, procs, events))
        });
        let (dir, procs, events) = match opened {
            Ok(files) => files,
            Err(err) => {
                let _ = unlinkat(&self.dir, name.as_str(), UnlinkatFlags::RemoveDir);
                return Err(err);
            }
        };
        Ok(RunCgroup {
            root: Arc::clone(self),
            path,
            dir: Some(dir),
            procs: Arc::new(procs),
            events,
            watch: OnceLock::new(),
        })
    }

    /// Kills whatever is left in procmux's cgroups and removes them. Idempotent.
    pub(crate) fn close(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.removals.finish();
        let runs: Vec<PathBuf> = fs::read_dir(&self.path)
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok())
                    .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|entry| entry.path())
                    .collect()
            })
            .unwrap_or_default();
        let anything_left = runs.iter().any(|run| populated(run).unwrap_or(false));
        if anything_left {
            if fs::write(self.path.join("cgroup.kill"), "1").is_err() {
                for run in &runs {
                    sigkill_members(run);
                }
            }
            let until = Instant::now() + Duration::from_secs(2);
            while runs.iter().any(|run| populated(run).unwrap_or(false)) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        for run in &runs {
            remove_dir_soon(run);
        }
        if !remove_dir_soon(&self.path) {
            tracing::warn!(path = %self.path.display(), "could not remove procmux's cgroup");
        }
    }

    fn stale(&self) -> std::sync::MutexGuard<'_, Vec<PathBuf>> {
        self.stale
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Removes the cgroups of abandoned runs whose processes have died since. Only when
    /// nobody else holds the list: two runs starting at once would otherwise wait for each
    /// other here at every spawn, for a list that is nearly always empty (and the next start,
    /// or the close, tries again).
    fn retry_stale(&self) {
        let mut stale = match self.stale.try_lock() {
            Ok(stale) => stale,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        stale.retain(|dir| !remove_dir_soon_once(dir));
    }
}

impl Drop for CgroupRoot {
    fn drop(&mut self) {
        self.close();
    }
}

/// The text of a small cgroup file. Without the `statx` that `fs::read_to_string` makes
/// for its size hint (a cgroup file says 0 anyway): a stop of 1,000 runs reads 2,000 of
/// them on the loop's thread.
fn read_small(path: &Path) -> io::Result<String> {
    read_from_start(&File::open(path)?)
}

/// The whole text of an open cgroup file, read again from its start (`pread` at offset 0:
/// the kernel generates it afresh), so that a run reads its files without opening them each
/// time.
fn read_from_start(file: &File) -> io::Result<String> {
    use std::os::unix::fs::FileExt;
    let mut text = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match file.read_at(&mut chunk, text.len() as u64) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&chunk[..n]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    String::from_utf8(text).map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))
}

/// Whether a cgroup has processes, from its `cgroup.events`.
fn populated(dir: &Path) -> io::Result<bool> {
    Ok(says_populated(&read_small(&dir.join("cgroup.events"))?))
}

/// Whether the text of a `cgroup.events` says `populated 1`.
fn says_populated(events: &str) -> bool {
    events
        .lines()
        .find_map(|line| line.strip_prefix("populated "))
        .is_some_and(|value| value.trim() != "0")
}

/// The pids in a cgroup (none if it is gone).
fn members(dir: &Path) -> Vec<i32> {
    pids_in(&read_small(&dir.join("cgroup.procs")).unwrap_or_default())
}

/// The pids a `cgroup.procs` lists.
fn pids_in(procs: &str) -> Vec<i32> {
    procs
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .filter(|&pid| pid > 0)
        .collect()
}

/// SIGKILLs each member until none is left (or, bounded, forks keep outrunning it).
fn sigkill_members(dir: &Path) {
    for _ in 0..64 {
        let pids = members(dir);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            let _ = kill(Pid::from_raw(pid), NixSignal::SIGKILL);
        }
    }
}

/// The cgroup of one run of a job.
pub(crate) struct RunCgroup {
    root: Arc<CgroupRoot>,
    path: PathBuf,
    /// Open for the run's life: the child writes to it to join (its `pre_exec`, or the vfork
    /// child), and the run reads its members from it.
    procs: Arc<File>,
    /// The directory, open until the child is spawned (for it to be born there).
    dir: Option<OwnedFd>,
    /// Open for the run's life, read for `populated`.
    events: File,
    /// The inotify watch of `cgroup.events`, added by the first wait: most runs end with
    /// their leader, their cgroup already empty, and never need one.
    watch: OnceLock<Watch>,
}

/// The command wrapper that makes the child join a run's cgroup before `exec`.
#[derive(Debug)]
pub(crate) struct JoinCgroup(Arc<File>);

impl CommandWrapper for JoinCgroup {
    fn pre_spawn(
        &mut self,
        command: &mut tokio::process::Command,
        _core: &CommandWrap,
    ) -> io::Result<()> {
        join_before_exec(command.as_std_mut(), Arc::clone(&self.0), AfterJoin::Exec);
        Ok(())
    }
}

impl RunCgroup {
    /// The run's cgroup directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The run's directory, open, for the child to be born in it (`CLONE_INTO_CGROUP`);
    /// `None` once [`spawned`](Self::spawned).
    pub(crate) fn dir(&self) -> Option<BorrowedFd<'_>> {
        self.dir.as_ref().map(AsFd::as_fd)
    }

    /// The child is spawned: the directory is closed, so that a run holds two descriptors of
    /// its cgroup, not three.
    pub(crate) fn spawned(&mut self) {
        self.dir = None;
    }

    /// The wrapper to add to the command about to spawn.
    pub(crate) fn join(&self) -> JoinCgroup {
        JoinCgroup(Arc::clone(&self.procs))
    }

    /// The run's `cgroup.procs`, open for reading and writing.
    pub(crate) fn procs(&self) -> &File {
        &self.procs
    }

    /// Whether any process is left. A cgroup that cannot be read counts as empty: it is gone.
    pub(crate) fn populated(&self) -> bool {
        read_from_start(&self.events).is_ok_and(|events| says_populated(&events))
    }

    /// The pids in the cgroup now.
    pub(crate) fn members(&self) -> Vec<i32> {
        pids_in(&read_from_start(&self.procs).unwrap_or_default())
    }

    /// SIGKILLs everything in the cgroup: `cgroup.kill` where the kernel has it (atomic, and
    /// it reaches processes forked meanwhile), else each pid until none is left.
    pub(crate) fn kill(&self) {
        if self.root.has_kill && fs::write(self.path.join("cgroup.kill"), "1").is_ok() {
            return;
        }
        sigkill_members(&self.path);
    }

    /// Resolves once the cgroup is empty.
    pub(crate) async fn emptied(&self) {
        while self.populated() {
            match self.watch.get() {
                Some(watch) => self.root.watcher.changed(watch).await,
                // Watched from now on; the loop reads the file again before it waits, so
                // that a change between the read above and the watch is not missed.
                None => {
                    let watch = self.root.watcher.watch(&self.path.join("cgroup.events"));
                    let _ = self.watch.set(watch);
                }
            }
        }
    }
}

impl Drop for RunCgroup {
    fn drop(&mut self) {
        // No `inotify_rm_watch`: the kernel drops the watch with the directory. One that
        // cannot be removed yet keeps its watch until it is (its events name no waiter).
        if let Some(watch) = self.watch.get() {
            self.root.watcher.forget(watch);
        }
        if self.root.closed.load(Ordering::SeqCst) {
            if !remove_dir_soon_once(&self.path) {
                self.root.stale().push(self.path.clone());
            }
        } else {
            self.root
                .removals
                .remove_later(std::mem::take(&mut self.path));
        }
    }
}

/// One attempt: a drop must not sleep. A cgroup still populated (a run abandoned while its
/// processes die) is removed at close instead.
fn remove_dir_soon_once(dir: &Path) -> bool {
    match fs::remove_dir(dir) {
        Ok(()) => true,
        Err(err) => err.kind() == io::ErrorKind::NotFound,
    }
}
