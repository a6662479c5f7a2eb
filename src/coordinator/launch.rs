//! [`Jobs`]: the supervisor jobs behind the instances, and the side effects of [`Action`]s
//! on them.
//!
//! Each instance generation gets one job. Its hooks do the wiring: the spawn hook sets the
//! cwd, the environment and the pipes; the spawned hook prints `started with pid N` and hands
//! the child's stdout and stderr to the multiplexer; the exit hook reports the ending as an
//! [`Event::Exited`]. A restart after a crash starts the same job again; a reload that changes
//! an instance replaces its job.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinHandle;

use crate::manifest::{InstanceSpec, ProcessCommand};
use crate::mux::{self, Mux};
use crate::supervisor::Signal;
use crate::supervisor::command::{Command, Program, Shell, SpawnOptions};
use crate::supervisor::job::{CommandState, Job, start_job};
use crate::watchdog::Watchdog;

use super::event::{Action, Event, InstanceKey};
use super::messages;
use super::plain::direct_argv;

/// How long procmux waits at exit for the last output of its children: their pipes close when
/// their groups are gone, unless a process escaped its group and still holds one.
const OUTPUT_DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// How long procmux waits at exit for its own output to be written. Only a stalled output
/// (a paused terminal, a pager that does not read) takes this long; then exiting beats
/// hanging with every child already stopped.
const OUTPUT_FLUSH_LIMIT: Duration = Duration::from_secs(10);

/// How long an ending waits for the last output of its process before it is reported, so that
/// `web exited with code 3` comes after web's last lines. Pipes reach EOF as soon as the
/// process is gone, unless something it started still holds them; this bounds that case.
const EXIT_OUTPUT_WAIT: Duration = Duration::from_millis(100);

/// The jobs of the running instances.
pub struct Jobs {
    entries: HashMap<InstanceKey, Entry>,
    mux: Mux,
    events: UnboundedSender<Event>,
    /// Cloned into every output pump; when every clone is gone, every pump has finished.
    pumps_alive: mpsc::Sender<()>,
    pumps_done: mpsc::Receiver<()>,
    /// Told each instance's process group when it is spawned and when it has ended.
    watchdog: Watchdog,
}

struct Entry {
    job: Job,
    task: JoinHandle<()>,
    generation: u64,
    /// The pid (and, as group leader, the process group id) of the current process.
    pid: Arc<AtomicU32>,
    /// The last error the job reported, to explain a failed spawn.
    last_error: Arc<Mutex<Option<String>>>,
}

impl Jobs {
    /// No jobs yet; events from jobs go to `events`, output to `mux`, process groups to
    /// `watchdog`.
    pub fn new(mux: Mux, events: UnboundedSender<Event>, watchdog: Watchdog) -> Self {
        let (pumps_alive, pumps_done) = mpsc::channel(1);
        Self {
            entries: HashMap::new(),
            mux,
            events,
            pumps_alive,
            pumps_done,
            watchdog,
        }
    }

    /// Carries out one action ([`Action::Exit`] is the runner's, and ignored here).
    pub async fn execute(&mut self, action: Action) {
        match action {
            Action::Start { spec, generation } => self.start(*spec, generation).await,
            Action::ScheduleRestart {
                key,
                generation,
                delay,
            } => {
                let events = self.events.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = events.send(Event::RestartDue { key, generation });
                });
            }
            Action::Stop { key, signal, grace } => {
                if let Some(entry) = self.entries.get(&key) {
                    // The exit hook reports the ending; nothing to wait for here.
                    drop(entry.job.stop_with_signal(signal, grace));
                }
            }
            Action::Kill { key } => {
                if let Some(entry) = self.entries.get(&key) {
                    kill_group_now(entry);
                }
            }
            Action::Forget { key } => {
                if let Some(entry) = self.entries.remove(&key) {
                    drop(entry.job.delete());
                }
            }
            Action::Print(message) => self.mux.system(&message),
            Action::Exit(_) => {}
        }
    }

    async fn start(&mut self, spec: InstanceSpec, generation: u64) {
        let key = InstanceKey::of(&spec);
        let entry = match self.entries.remove(&key) {
            Some(entry) if entry.generation == generation => entry,
            old => {
                if let Some(old) = old {
                    drop(old.job.delete_now());
                }
                self.new_entry(&spec, key.clone(), generation)
            }
        };
        // The spawned hook records the pid; if it has not run once the start ticket resolved,
        // the spawn failed (a process that spawned and exited at once still ran the hook).
        entry.pid.store(0, Ordering::Relaxed);
        entry.job.start().await;
        if entry.pid.load(Ordering::Relaxed) == 0 {
            let error = entry
                .last_error
                .lock()
                .ok()
                .and_then(|mut slot| slot.take())
                .unwrap_or_else(|| "unknown error".to_owned());
            let _ = self.events.send(Event::SpawnFailed {
                key: key.clone(),
                generation,
                error,
            });
        }
        self.entries.insert(key, entry);
    }

    fn new_entry(&self, spec: &InstanceSpec, key: InstanceKey, generation: u64) -> Entry {
        let (job, task) = start_job(Arc::new(command_for(spec)));
        let pid = Arc::new(AtomicU32::new(0));
        let last_error = Arc::new(Mutex::new(None));

        let cwd = spec.cwd.clone();
        let env = spec.env.clone();
        drop(job.set_spawn_hook(move |command, _| {
            command
                .command_mut()
                .current_dir(&cwd)
                .envs(&env)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
        }));

        let source = self.mux.source(
            &spec.display_name,
            spec.color.and_then(|c| mux::Color::from_name(c.as_str())),
        );
        let name = spec.display_name.clone();
        let mux = self.mux.clone();
        let events = self.events.clone();
        let pumps_alive = self.pumps_alive.clone();
        let spawned_pid = pid.clone();
        let spawned_key = key.clone();
        // The pumps of the current process, which its exit waits for.
        let pumps: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let spawned_pumps = pumps.clone();
        let watchdog = self.watchdog.clone();
        drop(job.set_spawned_hook(move |child, _| {
            let child_pid = child.id().unwrap_or(0);
            spawned_pid.store(child_pid, Ordering::Relaxed);
            // First, so that from here on a SIGKILLed procmux leaves nothing of this group.
            // The instance leads its own group, so its pid is the group id (0 if it has no
            // pid, which cannot be tracked and has nothing to kill).
            let _ = watchdog.track_group(child_pid);
            // Printed before the pumps start, so it comes before the child's first line.
            mux.system(&messages::started(&name, child_pid));
            let mut handles = Vec::with_capacity(2);
            if let Some(stdout) = child.stdout().take() {
                handles.push(spawn_pump(stdout, source.clone(), pumps_alive.clone()));
            }
            if let Some(stderr) = child.stderr().take() {
                handles.push(spawn_pump(stderr, source.clone(), pumps_alive.clone()));
            }
            if let Ok(mut slot) = spawned_pumps.lock() {
                *slot = handles;
            }
            let _ = events.send(Event::Spawned {
                key: spawned_key.clone(),
                generation,
                at: Instant::now(),
            });
        }));

        let events = self.events.clone();
        let exit_key = key;
        let watchdog = self.watchdog.clone();
        let exit_pid = pid.clone();
        drop(job.set_exit_hook(move |context| {
            if let CommandState::Finished {
                status, finished, ..
            } = context.current
            {
                // The job has reaped its process and swept its group: nothing is left to kill.
                let _ = watchdog.forget_group(exit_pid.load(Ordering::Relaxed));
                let ended = Event::Exited {
                    key: exit_key.clone(),
                    generation,
                    end: *status,
                    at: *finished,
                };
                let handles = pumps
                    .lock()
                    .map(|mut slot| std::mem::take(&mut *slot))
                    .unwrap_or_default();
                let events = events.clone();
                tokio::spawn(async move {
                    let last_output = async {
                        for handle in handles {
                            let _ = handle.await;
                        }
                    };
                    let _ = tokio::time::timeout(EXIT_OUTPUT_WAIT, last_output).await;
                    let _ = events.send(ended);
                });
            }
        }));

        let slot = last_error.clone();
        drop(job.set_error_handler(move |error| {
            if let (Some(error), Ok(mut slot)) = (error.get(), slot.lock()) {
                *slot = Some(error.to_string());
            }
        }));

        Entry {
            job,
            task,
            generation,
            pid,
            last_error,
        }
    }

    /// Deletes every job and waits for the last output to be written.
    pub async fn finish(mut self) {
        for (_, entry) in self.entries.drain() {
            entry.job.delete_now().await;
            let _ = entry.task.await;
        }
        drop(self.pumps_alive);
        // Every pump holds a clone of `pumps_alive`; recv gives None once they have all ended.
        let _ = tokio::time::timeout(OUTPUT_DRAIN_LIMIT, self.pumps_done.recv()).await;
        let _ = tokio::time::timeout(OUTPUT_FLUSH_LIMIT, self.mux.flush()).await;
    }
}

fn spawn_pump(
    reader: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    source: mux::Source,
    alive: mpsc::Sender<()>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        mux::pump(reader, source).await;
        drop(alive);
    })
}

/// SIGKILL to the instance's whole process group, without waiting in the job's queue (where a
/// pending graceful stop would hold a kill back until its grace ran out).
fn kill_group_now(entry: &Entry) {
    let pid = entry.pid.load(Ordering::Relaxed);
    if pid == 0 || !entry.job.is_running() {
        return;
    }
    // The job has not reaped its child while it still runs, so the pid, which is also the
    // group id, cannot have been reused.
    #[cfg(unix)]
    if let Ok(pgid) = i32::try_from(pid) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// The supervisor command for an instance: grouped, so that signals reach the whole tree it
/// starts; with a parent-death signal, so that a SIGKILLed procmux does not leave it running;
/// and without a shell when the command needs none (see [`direct_argv`]).
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
