//! [`Jobs`]: the supervisor jobs behind the instances, and the side effects of [`Action`]s
//! on them.
//!
//! Each instance generation gets one job. Its hooks do the wiring: the spawn hook declares the
//! cwd, the environment and the pipes (a `ChildSetup`); the spawned hook prints `started with
//! pid N` and hands the child's stdout and stderr to the multiplexer; the exit hook reports the
//! ending as an [`Event::Exited`] once the process's pipes have drained, so that the exit line
//! comes after its last line. A restart after a crash starts the same job again; a reload that
//! changes an instance replaces its job. Each job task is watched: one that dies without being
//! deleted is reported as [`Event::JobDied`].
//!
//! - `hooks.rs`: a new job and its hooks; `command.rs`: the command an instance runs, its
//!   program found in `PATH` once; `start_watch.rs`: what reports a start that did not spawn;
//!   `start_order.rs`: the outcomes of parallel starts, put back in order.
//!
//! Every child's stdin is the read end of one pipe whose write end procmux holds and never
//! writes to: reading it blocks, and EOF comes only when procmux is gone (watchers such as
//! `esbuild --watch` exit at stdin EOF, and a child of a background process group must not
//! read the terminal).

use std::collections::{HashMap, VecDeque};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::manifest::InstanceSpec;
use crate::mux::{self, Mux, Source, Tap};
use crate::supervisor::Signal;
use crate::supervisor::job::Job;
use crate::supervisor::tracking::Tracker;
use crate::watchdog::Watchdog;

mod command;
mod hooks;
mod start_order;
mod start_watch;

use command::ProgramKey;
pub use command::command_for;
use start_order::StartOrder;
use start_watch::StartWatch;

use super::event::{Event, InstanceKey};
use super::messages::Message;

/// How long procmux waits at exit for its own output to be written. Only a stalled output
/// (a paused terminal, a pager that does not read) takes this long; then exiting beats
/// hanging with every child already stopped.
const OUTPUT_FLUSH_LIMIT: Duration = Duration::from_secs(10);

/// How long an ended process's pipe may stay open with nothing in it before its exit is
/// reported anyway (something it started escaped and holds the pipe). A pump that is still
/// reading or writing is waited for however long it takes.
const PIPE_QUIET_LIMIT: Duration = Duration::from_millis(250);

/// The jobs of the instances, and the output sources that outlive them.
pub struct Jobs {
    entries: HashMap<InstanceKey, Entry>,
    /// One source per instance, kept across its restarts so that its ring keeps history.
    sources: HashMap<InstanceKey, Source>,
    mux: Mux,
    events: UnboundedSender<Event>,
    /// The stdin every child gets: the read end; procmux keeps the write end open.
    stdin: Option<StdinPipe>,
    /// The project root, that start errors show paths relative to.
    root: std::path::PathBuf,
    /// Told procmux's cgroup, or (without one) each instance's process group when it is
    /// spawned and when it has ended.
    watchdog: Watchdog,
    /// Whether the watchdog watches procmux's cgroup, and with it every run's.
    cgroups_watched: bool,
    /// How every job finds what its process started (cgroup, or process group).
    tracker: Arc<Tracker>,
    /// Programs found in `PATH`, by name, cwd and `PATH`.
    programs: HashMap<ProgramKey, Option<std::path::PathBuf>>,
    /// Starts not begun yet, in order.
    queue: VecDeque<(InstanceSpec, u64)>,
    /// Starts begun and not finished.
    in_flight: usize,
    /// Told when a start has finished.
    start_done: UnboundedSender<()>,
    /// Lets the outcomes of starts out in the order the starts began.
    order: Arc<Mutex<StartOrder<Outcome>>>,
}

/// How many starts may be spawning at once. A spawn blocks a thread of tokio's blocking pool
/// until its child has exec'd (see `supervisor::task::spawn`), while the loop goes on. Two at
/// once keep both cores of a small machine busy: under process-group tracking, 1,000
/// processes all ran in 1.3 s instead of 1.8 s one at a time (back to back, with
/// `PROCMUX_TRACKING=group benches/compare.sh --workloads fleet,fleet1000`), about 1.5x bare
/// `sh &`; three at once measured the same as two. (Those figures are from before the vfork
/// spawn, `supervisor::vfork`, which made each spawn cheaper under both trackings.)
pub const START_WINDOW: usize = 2;

/// What a finished start makes visible, run when its turn comes (see [`StartOrder`]).
type Outcome = Box<dyn FnOnce() + Send>;

/// The pipe behind every child's stdin.
struct StdinPipe {
    /// Shared by every job's spawn setup, which hands it to each child: one descriptor in
    /// procmux for the whole fleet.
    read: Arc<OwnedFd>,
    /// Never written; held so that children see no EOF while procmux lives.
    _write: OwnedFd,
}

struct Entry {
    job: Job,
    /// Awaits the job task and reports its death; ends with the task.
    monitor: JoinHandle<()>,
    /// Set before the job is deleted, so its end is not taken for a death.
    deleted: Arc<AtomicBool>,
    generation: u64,
    /// The pid (and, as group leader, the process group id) of the current process; 0 when
    /// none runs.
    pid: Arc<AtomicU32>,
    /// When the current graceful stop was sent, and its grace.
    stop: Arc<Mutex<Option<(Instant, Duration)>>>,
    /// The last error the job reported, to explain a failed spawn.
    last_error: Arc<Mutex<Option<std::io::Error>>>,
    /// How many times the job spawned its process.
    spawns: Arc<AtomicU64>,
    /// The tap of a `log` readiness check, made at the spawn, for the check to take.
    log_tap: Arc<Mutex<Option<Tap>>>,
    /// What the last spawn makes visible (its `started` line, its output, its event), left
    /// by the spawned hook for the start's turn.
    spawned_outcome: Arc<Mutex<Option<Outcome>>>,
    /// Set when a start is cancelled before it spawned.
    cancelled: Arc<AtomicBool>,
}

impl Jobs {
    /// No jobs yet; events from jobs go to `events`, output to `mux`; start errors show paths
    /// relative to `root`; jobs track their processes with `tracker`; `watchdog` is told of
    /// procmux's cgroup (the subtree of every run's), and of the process group of any run
    /// that has no cgroup.
    pub fn new(
        mux: Mux,
        events: UnboundedSender<Event>,
        root: std::path::PathBuf,
        watchdog: Watchdog,
        tracker: Arc<Tracker>,
        start_done: UnboundedSender<()>,
    ) -> Self {
        let cgroups_watched = tracker
            .cgroup_root()
            .is_some_and(|root| watchdog.track_cgroup(root).is_ok());
        let stdin = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
            Ok((read, write)) => Some(StdinPipe {
                read: Arc::new(read),
                _write: write,
            }),
            Err(error) => {
                mux.system(&format!(
                    "cannot make a pipe for the children's stdin ({error}): they get /dev/null"
                ));
                None
            }
        };
        Self {
            entries: HashMap::new(),
            sources: HashMap::new(),
            mux,
            events,
            stdin,
            root,
            watchdog,
            cgroups_watched,
            tracker,
            programs: HashMap::new(),
            queue: VecDeque::new(),
            in_flight: 0,
            start_done,
            order: Arc::default(),
        }
    }

    /// The output source of an instance, registered on first use (which also widens the
    /// prefix column: register every instance before the first start).
    pub fn source(
        &mut self,
        key: &InstanceKey,
        display_name: &str,
        color: Option<mux::Color>,
    ) -> Source {
        match self.sources.get(key) {
            Some(source) if source.name() == display_name => source.clone(),
            _ => {
                let source = self.mux.source(display_name, color);
                self.sources.insert(key.clone(), source.clone());
                source
            }
        }
    }

    /// The source of an instance, if it was registered.
    pub fn existing_source(&self, key: &InstanceKey) -> Option<&Source> {
        self.sources.get(key)
    }

    /// Starts the instance: a new job for a generation not seen yet, else the same job again.
    ///
    /// Returns at once: starts wait in a queue, in the order they were asked for, and
    /// [`START_WINDOW`] of them at most are spawning at a time, so that the loop handles
    /// signals and requests between two spawns (a Ctrl-C while a fleet of 1,000 starts is
    /// acted on at once, and cancels what has not spawned yet). The outcome of each arrives as
    /// [`Event::Spawned`], or [`Event::SpawnFailed`] / [`Event::StartCancelled`]; call
    /// [`start_done`](Self::start_done) for each signal on the channel given to `new`.
    pub fn start(&mut self, spec: InstanceSpec, generation: u64) {
        self.queue.push_back((spec, generation));
        self.dispatch();
    }

    /// One start has finished (spawned or not): the next may begin.
    pub fn start_done(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.dispatch();
    }

    fn dispatch(&mut self) {
        while self.in_flight < START_WINDOW {
            let Some((spec, generation)) = self.queue.pop_front() else {
                return;
            };
            self.in_flight += 1;
            self.launch(spec, generation);
        }
    }

    fn launch(&mut self, spec: InstanceSpec, generation: u64) {
        let key = InstanceKey::of(&spec);
        let entry = match self.entries.remove(&key) {
            Some(entry) if entry.generation == generation => entry,
            old => {
                if let Some(old) = old {
                    old.deleted.store(true, Ordering::SeqCst);
                    drop(old.job.delete_now());
                }
                self.new_entry(&spec, key.clone(), generation)
            }
        };
        if let Ok(mut stop) = entry.stop.lock() {
            *stop = None;
        }
        entry.cancelled.store(false, Ordering::SeqCst);
        // The spawned hook counts spawns; if the count did not move once the start ticket
        // resolved, the spawn failed or was cancelled (a process that spawned and exited at
        // once still ran the hook).
        let spawns_before = entry.spawns.load(Ordering::SeqCst);
        let turn = lock(&self.order).begin();
        let ticket = entry.job.start();
        let watch = StartWatch {
            spawns: Arc::clone(&entry.spawns),
            cancelled: Arc::clone(&entry.cancelled),
            last_error: Arc::clone(&entry.last_error),
            events: self.events.clone(),
            root: self.root.clone(),
        };
        let spawned = Arc::clone(&entry.spawned_outcome);
        let order = Arc::clone(&self.order);
        let done = self.start_done.clone();
        tokio::spawn(async move {
            ticket.await;
            // The next start may begin while this one waits for its turn.
            let _ = done.send(());
            let outcome = lock(&spawned).take().unwrap_or_else(|| {
                Box::new(move || watch.report(&spec, generation, spawns_before))
            });
            // Run under the lock: outcomes let out by two tasks cannot interleave.
            let mut order = lock(&order);
            for outcome in order.finished(turn, outcome) {
                outcome();
            }
        });
        self.entries.insert(key, entry);
    }

    /// The tap a `log` readiness check of the instance's current run waits on.
    pub fn take_log_tap(&self, key: &InstanceKey) -> Option<Tap> {
        self.entries
            .get(key)
            .and_then(|entry| entry.log_tap.lock().ok()?.take())
    }

    /// Cancels a start that has not spawned yet (a shutdown while a fleet starts): the job is
    /// deleted ahead of its queued start. A start that did spawn is killed with the job, and
    /// reported as ended as usual.
    pub fn cancel(&mut self, key: &InstanceKey) {
        if let Some(at) = self
            .queue
            .iter()
            .position(|(spec, _)| InstanceKey::of(spec) == *key)
            && let Some((_, generation)) = self.queue.remove(at)
        {
            let _ = self.events.send(Event::StartCancelled {
                key: key.clone(),
                generation,
            });
            return;
        }
        if let Some(entry) = self.entries.remove(key) {
            entry.cancelled.store(true, Ordering::SeqCst);
            entry.deleted.store(true, Ordering::SeqCst);
            drop(entry.job.delete_now());
        }
    }

    /// Stops the instance gracefully; its exit hook reports the ending.
    pub fn stop(&self, key: &InstanceKey, signal: Signal, grace: Duration) {
        if let Some(entry) = self.entries.get(key) {
            if let Ok(mut stop) = entry.stop.lock() {
                *stop = Some((Instant::now(), grace));
            }
            drop(entry.job.stop_with_signal(signal, grace));
        }
    }

    /// Kills everything the instance owns now, without waiting in the job's queue (where a
    /// pending graceful stop would hold a kill back until its grace ran out).
    pub fn kill(&self, key: &InstanceKey) {
        if let Some(entry) = self.entries.get(key) {
            kill_group_now(entry);
        }
    }

    /// Sends `signal` to the process group of every instance that runs (Ctrl-Z and `fg`).
    pub fn signal_all(&self, signal: nix::sys::signal::Signal) {
        for entry in self.entries.values() {
            let pid = entry.pid.load(Ordering::Relaxed);
            if pid != 0
                && entry.job.is_running()
                && let Ok(pgid) = i32::try_from(pid)
            {
                let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), signal);
            }
        }
    }

    /// Forgets the instance's job (it has ended for good in this generation).
    pub fn forget(&mut self, key: &InstanceKey) {
        if let Some(entry) = self.entries.remove(key) {
            entry.deleted.store(true, Ordering::SeqCst);
            drop(entry.job.delete());
        }
    }

    /// Prints a system line.
    pub fn say(&self, message: &Message) {
        self.mux.system(&message.to_string());
    }

    /// Deletes every job, waits for the last output to be written, and flushes.
    pub async fn finish(mut self) {
        for (_, entry) in self.entries.drain() {
            entry.deleted.store(true, Ordering::SeqCst);
            entry.job.delete_now().await;
            let _ = entry.monitor.await;
        }
        drop(self.sources);
        let _ = tokio::time::timeout(OUTPUT_FLUSH_LIMIT, self.mux.flush()).await;
    }
}

/// Locks `mutex`, poisoned or not: what these mutexes hold stays consistent across a panic
/// (a slot taken or filled whole, a map entry inserted or removed whole).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// SIGKILL to the instance's whole process group.
fn kill_group_now(entry: &Entry) {
    let pid = entry.pid.load(Ordering::Relaxed);
    if pid == 0 || !entry.job.is_running() {
        return;
    }
    // The job has not reaped its child while it still runs, so the pid, which is also the
    // group id, cannot have been reused.
    if let Ok(pgid) = i32::try_from(pid) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
