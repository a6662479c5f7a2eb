//! [`Watchdog`]: procmux's handle on its watchdog process. Cheap to clone; every call returns
//! at once.
//!
//! Each call records the change in the handle's own [`Tracked`] copy and writes one line to
//! the non-blocking pipe, under one short lock: no thread hop, so that once `track_group`
//! returns, the line is in the pipe and the watchdog will act on it even if procmux is
//! SIGKILLed the next instant (a pipe's data outlives its writer). A write never waits: a
//! full pipe means the watchdog stopped reading (1 MiB of pipe holds some 80,000 messages,
//! the default 64 KiB some 5,000), and it is then killed and replaced. A monitor thread
//! (`monitor.rs`) waits for the watchdog's exit, reports it, and starts another that is told
//! everything tracked.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
use super::monitor;
use super::notice::Notice;
use super::protocol::{CgroupPath, Message, Pgid, Untrackable};
#[cfg(target_os = "linux")]
use super::spawn;
use super::tracked::Tracked;

/// How the watchdog is told what to kill if procmux dies. See the [module docs](super).
///
/// Clones share one watchdog. Dropping every clone says nothing to it: the pipe stays open
/// until procmux exits, and an exit without [`goodbye`](Self::goodbye) (a panic, a crash) is
/// treated like a SIGKILL, which is what it is for.
///
/// A write to a dead watchdog's pipe fails with EPIPE only because SIGPIPE is ignored, as
/// the Rust runtime sets it up for every binary; a program embedding this must keep it so.
#[derive(Clone)]
pub struct Watchdog {
    shared: Arc<Shared>,
}

/// Receives each [`Notice`], from whichever thread noticed.
type Reporter = Arc<dyn Fn(Notice) + Send + Sync>;

/// What the handles and the monitor thread share.
pub(super) struct Shared {
    link: Mutex<Link>,
    /// Signalled when the state becomes [`State::Off`] (for [`Watchdog::goodbye`]).
    pub(super) changed: Condvar,
    /// The program a replacement is started from.
    pub(super) program: PathBuf,
}

/// Everything behind the lock.
pub(super) struct Link {
    pub(super) state: State,
    /// What a replacement must be told.
    pub(super) tracked: Tracked,
    /// Where notices go; `None` until [`Watchdog::set_reporter`], with `waiting` queued.
    reporter: Option<Reporter>,
    waiting: Vec<Notice>,
    /// [`Watchdog::goodbye`] was called: no replacement, and a new one is told `bye`.
    pub(super) bye: bool,
}

/// Where the watchdog process is.
pub(super) enum State {
    /// Running, reading `pipe`.
    Up {
        pid: u32,
        pipe: File,
        /// Its pipe was full: procmux killed it and awaits the exit.
        stalled: bool,
    },
    /// Its exit was seen; the monitor is starting another.
    Restarting,
    /// `bye` was said (the pipe is closed); waiting for its exit.
    Closing,
    /// None runs, and none will be started.
    Off,
}

impl Watchdog {
    /// Starts the watchdog (`/proc/self/exe __watchdog`, or the program the
    /// `PROCMUX_TEST_WATCHDOG_EXE` test hook names). Call it early, before any thread exists,
    /// so that the child is as small as it can be. If it cannot be started, the handle works
    /// without one, and the first notice says so.
    pub fn start() -> Watchdog {
        #[cfg(target_os = "linux")]
        return Self::start_program(&spawn::default_program());
        #[cfg(not(target_os = "linux"))]
        return Self::off(Some(Notice::NotStarted {
            error: "the watchdog is only built for Linux".to_owned(),
        }));
    }

    /// Starts `program __watchdog` as the watchdog (for tests, and for a procmux embedded in
    /// another binary that calls [`serve_if_asked`](super::serve_if_asked) from its `main`).
    #[cfg(target_os = "linux")]
    pub fn start_program(program: &Path) -> Watchdog {
        let not_started = |error: String| Self::off(Some(Notice::NotStarted { error }));
        let started = match spawn::start(program) {
            Ok(started) => started,
            Err(error) => return not_started(error.to_string()),
        };
        let spawn::Started { child, pipe } = started;
        let pid = child.id();
        let shared = Arc::new(Shared {
            link: Mutex::new(Link {
                state: State::Up {
                    pid,
                    pipe,
                    stalled: false,
                },
                tracked: Tracked::default(),
                reporter: None,
                waiting: Vec::new(),
                bye: false,
            }),
            changed: Condvar::new(),
            program: program.to_owned(),
        });
        match monitor::spawn(shared.clone(), child) {
            Ok(()) => Watchdog { shared },
            Err(error) => {
                // Without a monitor its death would go unnoticed: better none, said aloud.
                kill(pid);
                if let Ok(raw) = i32::try_from(pid) {
                    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(raw), None);
                }
                not_started(format!("cannot start its monitor thread: {error}"))
            }
        }
    }

    /// A handle with no watchdog behind it, which says nothing (for tests, and wherever
    /// processes are not to be guarded).
    pub fn disabled() -> Watchdog {
        Self::off(None)
    }

    fn off(notice: Option<Notice>) -> Watchdog {
        Watchdog {
            shared: Arc::new(Shared {
                link: Mutex::new(Link {
                    state: State::Off,
                    tracked: Tracked::default(),
                    reporter: None,
                    waiting: notice.into_iter().collect(),
                    bye: false,
                }),
                changed: Condvar::new(),
                program: PathBuf::new(),
            }),
        }
    }

    /// Where notices go from now on (typically `Mux::system`, with `notice.to_string()`);
    /// notices that came before are delivered at once, in order. Called from whichever
    /// thread noticed, never with a lock held.
    pub fn set_reporter(&self, report: impl Fn(Notice) + Send + Sync + 'static) {
        let report: Reporter = Arc::new(report);
        let waiting = {
            let mut link = self.shared.lock();
            link.reporter = Some(report.clone());
            std::mem::take(&mut link.waiting)
        };
        for notice in waiting {
            report(notice);
        }
    }

    /// The watchdog's pid, while one runs (a subreaper must leave this child alone).
    pub fn pid(&self) -> Option<u32> {
        match self.shared.lock().state {
            State::Up { pid, .. } => Some(pid),
            _ => None,
        }
    }

    /// Kill the process group `pgid` if procmux dies (give it each instance's pid as soon
    /// as it is spawned: every instance leads its own group).
    pub fn track_group(&self, pgid: u32) -> Result<(), Untrackable> {
        self.send(Message::Group(Pgid::new(pgid)?));
        Ok(())
    }

    /// The group `pgid` has ended: no longer kill it.
    pub fn forget_group(&self, pgid: u32) -> Result<(), Untrackable> {
        self.send(Message::Forget(Pgid::new(pgid)?));
        Ok(())
    }

    /// Kill and remove the cgroup at `path` (absolute) and its descendants if procmux dies.
    pub fn track_cgroup(&self, path: &Path) -> Result<(), Untrackable> {
        self.send(Message::Cgroup(CgroupPath::new(path)?));
        Ok(())
    }

    /// The cgroup at `path` is gone (or no longer procmux's): leave it alone.
    pub fn forget_cgroup(&self, path: &Path) -> Result<(), Untrackable> {
        self.send(Message::ForgetCgroup(CgroupPath::new(path)?));
        Ok(())
    }

    /// procmux exits cleanly: tells the watchdog to exit without killing anything, and waits
    /// up to `limit` for it to be gone. Returns whether it is (also true when there was
    /// none). Blocks: call it outside the runtime, after every job has ended.
    pub fn goodbye(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut link = self.shared.lock();
        link.bye = true;
        if let State::Up { pid, pipe, stalled } = &mut link.state {
            if !*stalled && write_message(pipe, &Message::Bye).is_err() {
                // A full pipe: it would never read the `bye`, and closing the pipe would make
                // it sweep. Either way it is done with; make sure it does nothing.
                kill(*pid);
            }
            // Closes the pipe: after `bye`, the watchdog no longer reads it anyway.
            link.state = State::Closing;
        }
        loop {
            if matches!(link.state, State::Off) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            link = self
                .shared
                .changed
                .wait_timeout(link, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn send(&self, message: Message) {
        let mut link = self.shared.lock();
        link.tracked.apply(&message);
        if let State::Up { pid, pipe, stalled } = &mut link.state
            && !*stalled
        {
            match write_message(pipe, &message) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    *stalled = true;
                    kill(*pid);
                }
                // EPIPE: it is gone, and the monitor will say so and start another, which is
                // told this message with the rest.
                Err(_) => {}
            }
        }
    }
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchdog")
            .field("pid", &self.pid())
            .finish()
    }
}

impl Shared {
    /// The lock; a panic elsewhere while holding it leaves data that is still consistent
    /// (every change is a single assignment or set operation), so poisoning is ignored.
    pub(super) fn lock(&self) -> MutexGuard<'_, Link> {
        self.link.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands `notice` to the reporter, or queues it until there is one.
    pub(super) fn report(&self, notice: Notice) {
        let reporter = {
            let mut link = self.lock();
            match &link.reporter {
                Some(reporter) => reporter.clone(),
                None => {
                    link.waiting.push(notice);
                    return;
                }
            }
        };
        reporter(notice);
    }
}

/// Writes one message with one `write(2)`: whole, or not at all (messages are at most
/// `PIPE_BUF` bytes). A short write would glue the next message to a torn one, so it counts
/// as a full pipe.
pub(super) fn write_message(pipe: &mut File, message: &Message) -> io::Result<()> {
    let mut line = Vec::with_capacity(32);
    message.encode(&mut line);
    loop {
        match pipe.write(&line) {
            Ok(written) if written == line.len() => return Ok(()),
            Ok(_) => return Err(io::ErrorKind::WouldBlock.into()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
    }
}

/// SIGKILL to the watchdog. Only called while the state is [`State::Up`]: the monitor reaps
/// only after taking the lock and leaving that state, so the pid is still ours (at worst an
/// unreaped zombie), never a reused one.
pub(super) fn kill(pid: u32) {
    if let Ok(raw) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(raw),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
