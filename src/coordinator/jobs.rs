//! [`Jobs`]: the supervisor jobs behind the instances, and the side effects of [`Action`]s
//! on them.
//!
//! Each instance generation gets one job. Its hooks do the wiring: the spawn hook sets the
//! cwd, the environment and the pipes; the spawned hook prints `started with pid N` and hands
//! the child's stdout and stderr to the multiplexer; the exit hook reports the ending as an
//! [`Event::Exited`] once the process's pipes have drained, so that the exit line comes after
//! its last line. A restart after a crash starts the same job again; a reload that changes an
//! instance replaces its job. Each job task is watched: one that dies without being deleted
//! is reported as [`Event::JobDied`].
//!
//! Every child's stdin is the read end of one pipe whose write end procmux holds and never
//! writes to: reading it blocks, and EOF comes only when procmux is gone (watchers such as
//! `esbuild --watch` exit at stdin EOF, and a child of a background process group must not
//! read the terminal).

use std::collections::{HashMap, VecDeque};
use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::manifest::{InstanceSpec, ProcessCommand, ReadyKind};
use crate::mux::{self, Mux, PumpHandle, Source, Tap};
use crate::supervisor::Signal;
use crate::supervisor::command::{Command, Program, Shell, SpawnOptions, StopPolicy};
use crate::supervisor::job::{CommandState, Job, start_job_with};
use crate::supervisor::tracking::Tracker;
use crate::watchdog::Watchdog;

use super::event::{Event, InstanceKey};
use super::messages::Message;
use super::plain::direct_argv;
use super::preflight;

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
    /// Told each instance's process group when it is spawned and when it has ended.
    watchdog: Watchdog,
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
}

/// How many starts may be spawning at once. The runtime has one thread, on which a spawn
/// blocks until the child has exec'd: one at a time, with the loop's turn between two.
pub const START_WINDOW: usize = 1;

/// A program name, the cwd it is looked up from and the `PATH` it is looked up in.
type ProgramKey = (String, std::path::PathBuf, Option<String>);

/// The pipe behind every child's stdin.
struct StdinPipe {
    /// Shared by every job's spawn hook, which duplicates it for each child: one descriptor
    /// in procmux for the whole fleet (every descriptor is copied into every fork).
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
    /// Set when a start is cancelled before it spawned.
    cancelled: Arc<AtomicBool>,
}

/// What the task waiting for a start needs to report its outcome.
struct StartWatch {
    spawns: Arc<AtomicU64>,
    cancelled: Arc<AtomicBool>,
    last_error: Arc<Mutex<Option<std::io::Error>>>,
    events: UnboundedSender<Event>,
    root: std::path::PathBuf,
}

impl StartWatch {
    /// Reports a start that did not spawn: cancelled, or failed with the job's last error.
    fn report(&self, spec: &InstanceSpec, generation: u64, spawns_before: u64) {
        if self.spawns.load(Ordering::SeqCst) != spawns_before {
            return;
        }
        let key = InstanceKey::of(spec);
        let event = if self.cancelled.load(Ordering::SeqCst) {
            Event::StartCancelled { key, generation }
        } else {
            let error = self.last_error.lock().ok().and_then(|mut slot| slot.take());
            let error = match error {
                Some(error) => preflight::spawn_error(spec, &self.root, &error),
                None => "unknown error".to_owned(),
            };
            Event::SpawnFailed {
                key,
                generation,
                error,
            }
        };
        let _ = self.events.send(event);
    }
}

impl Jobs {
    /// No jobs yet; events from jobs go to `events`, output to `mux`; start errors show paths
    /// relative to `root`; process groups go to `watchdog`; jobs track their processes with
    /// `tracker`.
    pub fn new(
        mux: Mux,
        events: UnboundedSender<Event>,
        root: std::path::PathBuf,
        watchdog: Watchdog,
        tracker: Arc<Tracker>,
        start_done: UnboundedSender<()>,
    ) -> Self {
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
            tracker,
            programs: HashMap::new(),
            queue: VecDeque::new(),
            in_flight: 0,
            start_done,
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
        let ticket = entry.job.start();
        let watch = StartWatch {
            spawns: Arc::clone(&entry.spawns),
            cancelled: Arc::clone(&entry.cancelled),
            last_error: Arc::clone(&entry.last_error),
            events: self.events.clone(),
            root: self.root.clone(),
        };
        let done = self.start_done.clone();
        tokio::spawn(async move {
            ticket.await;
            watch.report(&spec, generation, spawns_before);
            let _ = done.send(());
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

    fn new_entry(&mut self, spec: &InstanceSpec, key: InstanceKey, generation: u64) -> Entry {
        let (command, arg0) = self.resolved_command(spec);
        let (job, task) = start_job_with(Arc::new(command), Arc::clone(&self.tracker));
        let pid = Arc::new(AtomicU32::new(0));
        let spawns = Arc::new(AtomicU64::new(0));
        let cancelled = Arc::new(AtomicBool::new(false));
        let stop: Arc<Mutex<Option<(Instant, Duration)>>> = Arc::default();
        let last_error = Arc::new(Mutex::new(None));
        let deleted = Arc::new(AtomicBool::new(false));

        let cwd = spec.cwd.clone();
        let env = spec.env.clone();
        let stdin = self.stdin.as_ref().map(|pipe| Arc::clone(&pipe.read));
        drop(job.set_spawn_hook(move |command, _| {
            let child_stdin = match &stdin {
                Some(read) => read.try_clone().map_or_else(|_| Stdio::null(), Stdio::from),
                None => Stdio::null(),
            };
            let command = command.command_mut();
            if let Some(arg0) = &arg0 {
                command.arg0(arg0);
            }
            command
                .current_dir(&cwd)
                .envs(&env)
                .stdin(child_stdin)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
        }));

        let source = self.source(
            &key,
            &spec.display_name,
            spec.color.and_then(|c| mux::Color::from_name(c.as_str())),
        );
        let name = spec.display_name.clone();
        let mux = self.mux.clone();
        let events = self.events.clone();
        let spawned_pid = pid.clone();
        let spawned_count = spawns.clone();
        let log_tap: Arc<Mutex<Option<Tap>>> = Arc::default();
        let spawned_tap = log_tap.clone();
        let log_text = match spec.ready.as_ref().map(|check| &check.kind) {
            Some(ReadyKind::Log { text }) => Some(text.clone()),
            _ => None,
        };
        let spawned_key = key.clone();
        // The pumps of the current process, which its exit waits for.
        let pumps: Arc<Mutex<Vec<PumpHandle>>> = Arc::default();
        let spawned_pumps = pumps.clone();
        let watchdog = self.watchdog.clone();
        drop(job.set_spawned_hook(move |child, _| {
            let child_pid = child.id().unwrap_or(0);
            spawned_pid.store(child_pid, Ordering::Relaxed);
            spawned_count.fetch_add(1, Ordering::SeqCst);
            // First, so that from here on a SIGKILLed procmux leaves nothing of this group.
            // The instance leads its own group, so its pid is the group id (0 if it has no
            // pid, which cannot be tracked and has nothing to kill).
            let _ = watchdog.track_group(child_pid);
            // Queued before the pumps start, so it comes before the child's first line.
            mux.system(
                &Message::Started {
                    name: name.clone(),
                    pid: child_pid,
                }
                .to_string(),
            );
            // Before the pumps start, so the check cannot miss the first line.
            if let Some(text) = &log_text
                && let Ok(mut slot) = spawned_tap.lock()
            {
                *slot = Some(source.tap(text));
            }
            let mut handles = Vec::with_capacity(2);
            if let Some(stdout) = child.stdout().take() {
                handles.push(mux::spawn_pump(stdout, source.clone()));
            }
            if let Some(stderr) = child.stderr().take() {
                handles.push(mux::spawn_pump(stderr, source.stderr()));
            }
            if let Ok(mut slot) = spawned_pumps.lock() {
                *slot = handles;
            }
            let _ = events.send(Event::Spawned {
                key: spawned_key.clone(),
                generation,
                pid: child_pid,
                at: Instant::now(),
            });
        }));

        let events = self.events.clone();
        let exit_key = key.clone();
        let exit_pid = pid.clone();
        let exit_stop = stop.clone();
        let watchdog = self.watchdog.clone();
        drop(job.set_exit_hook(move |context| {
            if let CommandState::Finished {
                status, finished, ..
            } = context.current
            {
                // The job has reaped its process and what it owned: nothing is left to kill.
                let _ = watchdog.forget_group(exit_pid.swap(0, Ordering::Relaxed));
                let killed = exit_stop
                    .lock()
                    .ok()
                    .and_then(|mut stop| stop.take())
                    .is_some_and(|(sent, grace)| {
                        grace > Duration::ZERO && finished.saturating_duration_since(sent) >= grace
                    });
                let ended = Event::Exited {
                    key: exit_key.clone(),
                    generation,
                    end: *status,
                    at: *finished,
                    killed,
                };
                let handles = pumps
                    .lock()
                    .map(|mut slot| std::mem::take(&mut *slot))
                    .unwrap_or_default();
                let events = events.clone();
                tokio::spawn(async move {
                    for handle in handles {
                        handle.drained(PIPE_QUIET_LIMIT).await;
                    }
                    let _ = events.send(ended);
                });
            }
        }));

        let events = self.events.clone();
        let leftovers_key = key.clone();
        drop(job.set_leftovers_hook(move |_, leftovers| {
            let _ = events.send(Event::Leftovers {
                key: leftovers_key.clone(),
                generation,
                end: leftovers.status,
                count: leftovers.count,
            });
        }));

        let slot = last_error.clone();
        drop(job.set_error_handler(move |error| {
            if let Ok(mut slot) = slot.lock()
                && let Some(error) = error.get()
            {
                // io::Error is not Clone: keep what explaining it needs.
                *slot = Some(match error.raw_os_error() {
                    Some(code) => std::io::Error::from_raw_os_error(code),
                    None => std::io::Error::new(error.kind(), error.to_string()),
                });
            }
        }));

        let monitor = {
            let events = self.events.clone();
            let deleted = deleted.clone();
            tokio::spawn(async move {
                let outcome = task.await;
                if deleted.load(Ordering::SeqCst) {
                    return;
                }
                let reason = match outcome {
                    Err(error) if error.is_panic() => "its task panicked".to_owned(),
                    Err(_) => "its task was cancelled".to_owned(),
                    Ok(()) => "its task ended".to_owned(),
                };
                let _ = events.send(Event::JobDied {
                    key,
                    generation,
                    reason,
                });
            })
        };

        Entry {
            job,
            monitor,
            deleted,
            generation,
            pid,
            stop,
            last_error,
            spawns,
            cancelled,
            log_tap,
        }
    }

    /// The command of an instance with its program (or shell) found in `PATH` once, here:
    /// a child looking it up itself tries one folder of `PATH` after the other.
    /// Also gives the name as written, for the child's `argv[0]` (a program such as busybox
    /// goes by it).
    fn resolved_command(&mut self, spec: &InstanceSpec) -> (Command, Option<String>) {
        let mut command = command_for(spec);
        if self.watchdog.pid().is_some() {
            // The watchdog kills every group and cgroup if procmux dies, which the
            // parent-death signal (the direct child only) adds nothing to; without it, a
            // spawn needs no code between fork and exec under process-group tracking, so it
            // takes posix_spawn's cheaper path.
            command.options.parent_death_signal = None;
        }
        let path = spec
            .env
            .get("PATH")
            .cloned()
            .or_else(|| std::env::var("PATH").ok());
        let program: &mut std::path::PathBuf = match &mut command.program {
            Program::Exec { prog, .. } => prog,
            Program::Shell { shell, .. } => &mut shell.prog,
        };
        if let Some(name) = program.to_str()
            && !name.contains('/')
        {
            let cache_key = (name.to_owned(), spec.cwd.clone(), path.clone());
            let found = self
                .programs
                .entry(cache_key)
                .or_insert_with(|| preflight::resolve(name, &spec.cwd, path.as_deref()))
                .clone();
            if let Some(found) = found {
                let written = name.to_owned();
                *program = found;
                return (command, Some(written));
            }
        }
        (command, None)
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

/// The supervisor command for an instance: grouped, so that signals reach the whole tree it
/// starts; with a parent-death signal, so that a SIGKILLed procmux does not leave it running
/// (dropped at spawn time while a watchdog runs, which covers it); and without a shell when
/// the command needs none (see [`direct_argv`]).
pub fn command_for(spec: &InstanceSpec) -> Command {
    let program = match &spec.command {
        ProcessCommand::Shell { shell, command } => match direct_argv(shell, command) {
            Some(mut words) => Program::Exec {
                prog: words.remove(0).into(),
                args: words,
            },
            None => Program::Shell {
                shell: Shell::new(shell),
                command: command.clone(),
                args: Vec::new(),
            },
        },
        ProcessCommand::Exec { program, args } => Program::Exec {
            prog: program.into(),
            args: args.clone(),
        },
    };
    Command {
        program,
        options: SpawnOptions {
            grouped: true,
            parent_death_signal: Some(Signal::ForceStop),
            // What a leader that ends by itself leaves behind gets the instance's own stop.
            leftover_stop: Some(StopPolicy {
                signal: spec.stop_signal,
                grace: spec.stop_timeout,
            }),
            ..SpawnOptions::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::manifest::ProcessColor;
    use crate::mux::Color;

    #[test]
    fn every_manifest_colour_is_a_mux_colour() {
        for color in ProcessColor::ALL {
            assert!(
                Color::from_name(color.as_str()).is_some(),
                "{color:?} has no mux colour"
            );
        }
    }
}
