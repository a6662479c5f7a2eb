//! A new job for an instance and its hooks: the spawn hook (cwd, environment, stdin, pipes),
//! the spawned hook (the watchdog at once; the `started` line, the `log` check's tap, the
//! output pumps and the `Spawned` event when the start's turn comes), the exit hook (once the
//! start's turn came and the pipes drained), the leftovers hook, the error handler, and the
//! task that notices a job task's death.
//!
//! A process's output waits in its pipes until its turn: the pumps start only after its
//! `started` line, which waits for the starts before it (see `start_order.rs`), a matter of
//! a spawn or two.

use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::manifest::{InstanceSpec, ReadyKind};
use crate::mux::{self, PumpHandle, Tap};
use crate::supervisor::job::{CommandState, start_job_with};
use crate::supervisor::setup::ChildSetup;

use super::super::event::{Event, InstanceKey};
use super::super::messages::Message;
use super::{Entry, Jobs, Outcome, PIPE_QUIET_LIMIT, lock};

/// The output pumps of the current process.
#[derive(Default)]
struct Pumps {
    /// Started when the start's turn came.
    handles: Vec<PumpHandle>,
    /// Resolves when the start's turn has come (or can no longer come): only then are the
    /// handles there to wait for.
    turn: Option<oneshot::Receiver<()>>,
}

impl Jobs {
    pub(super) fn new_entry(
        &mut self,
        spec: &InstanceSpec,
        key: InstanceKey,
        generation: u64,
    ) -> Entry {
        let (command, arg0) = self.resolved_command(spec);
        let (job, task) = start_job_with(Arc::new(command), Arc::clone(&self.tracker));
        let pid = Arc::new(AtomicU32::new(0));
        let spawns = Arc::new(AtomicU64::new(0));
        let cancelled = Arc::new(AtomicBool::new(false));
        let stop: Arc<Mutex<Option<(Instant, Duration)>>> = Arc::default();
        let last_error = Arc::new(Mutex::new(None));
        let deleted = Arc::new(AtomicBool::new(false));

        // Declared rather than set on the command, so that the job can spawn by vfork (see
        // `supervisor::setup`).
        let setup = ChildSetup {
            arg0: arg0.map(OsString::from),
            cwd: Some(spec.cwd.clone()),
            env: Arc::new(
                spec.env
                    .iter()
                    .map(|(key, value)| (key.into(), value.into()))
                    .collect(),
            ),
            stdin: self.stdin.as_ref().map(|pipe| Arc::clone(&pipe.read)),
        };
        drop(job.set_spawn_hook(move |command, _| {
            command.wrap(setup.clone());
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
        // The group the watchdog was told of for the current process (0: none).
        let told_watchdog = Arc::new(AtomicU32::new(0));
        let spawned_told = told_watchdog.clone();
        let cgroups_watched = self.cgroups_watched;
        let spawned_count = spawns.clone();
        let log_tap: Arc<Mutex<Option<Tap>>> = Arc::default();
        let spawned_tap = log_tap.clone();
        let log_text = match spec.ready.as_ref().map(|check| &check.kind) {
            Some(ReadyKind::Log { text }) => Some(text.clone()),
            _ => None,
        };
        let spawned_key = key.clone();
        // The pumps of the current process, which its exit waits for.
        let pumps: Arc<Mutex<Pumps>> = Arc::default();
        let spawned_pumps = pumps.clone();
        let watchdog = self.watchdog.clone();
        let spawned_outcome: Arc<Mutex<Option<Outcome>>> = Arc::default();
        let outcome_slot = spawned_outcome.clone();
        drop(job.set_spawned_hook(move |child, context| {
            let at = Instant::now();
            let child_pid = child.id().unwrap_or(0);
            spawned_pid.store(child_pid, Ordering::Relaxed);
            spawned_count.fetch_add(1, Ordering::SeqCst);
            // First, so that from here on a SIGKILLed procmux leaves nothing of this group.
            // The instance leads its own group, so its pid is the group id (0 if it has no
            // pid, which cannot be tracked and has nothing to kill). Not needed for a run in
            // its own cgroup: the watchdog kills procmux's whole cgroup, and telling it of
            // each group woke it twice per process (a twentieth of a stop of 1,000).
            let in_watched_cgroup =
                cgroups_watched && context.run.is_some_and(|run| run.cgroup.is_some());
            if !in_watched_cgroup && watchdog.track_group(child_pid).is_ok() {
                spawned_told.store(child_pid, Ordering::Relaxed);
            }
            let stdout = child.stdout().take();
            let stderr = child.stderr().take();
            let (turn_came, turn) = oneshot::channel();
            *lock(&spawned_pumps) = Pumps {
                handles: Vec::new(),
                turn: Some(turn),
            };
            let (mux, name, source, events) =
                (mux.clone(), name.clone(), source.clone(), events.clone());
            let (log_text, log_tap, pumps, key) = (
                log_text.clone(),
                spawned_tap.clone(),
                spawned_pumps.clone(),
                spawned_key.clone(),
            );
            let outcome = move || {
                // First, so that once the `started` line can be seen, the loop has the event
                // ahead of any request that line prompts (`procmux status` says `running`).
                // The loop takes it only after this closure, tap and pumps in place.
                let _ = events.send(Event::Spawned {
                    key,
                    generation,
                    pid: child_pid,
                    at,
                });
                // Queued before the pumps start, so it comes before the child's first line.
                mux.system(
                    &Message::Started {
                        name,
                        pid: child_pid,
                    }
                    .to_string(),
                );
                // Before the pumps start, so the check cannot miss the first line.
                if let Some(text) = &log_text {
                    *lock(&log_tap) = Some(source.tap(text));
                }
                let mut handles = Vec::with_capacity(2);
                if let Some(stdout) = stdout {
                    handles.push(mux::spawn_pump(stdout, source.clone()));
                }
                if let Some(stderr) = stderr {
                    handles.push(mux::spawn_pump(stderr, source.stderr()));
                }
                lock(&pumps).handles = handles;
                let _ = turn_came.send(());
            };
            *lock(&outcome_slot) = Some(Box::new(outcome));
        }));

        let events = self.events.clone();
        let exit_key = key.clone();
        let exit_told = told_watchdog.clone();
        let exit_stop = stop.clone();
        let watchdog = self.watchdog.clone();
        drop(job.set_exit_hook(move |context| {
            if let CommandState::Finished {
                status, finished, ..
            } = context.current
            {
                // The job has reaped its process and what it owned: nothing is left to kill.
                let told = exit_told.swap(0, Ordering::Relaxed);
                if told != 0 {
                    let _ = watchdog.forget_group(told);
                }
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
                let turn = lock(&pumps).turn.take();
                let pumps = pumps.clone();
                let events = events.clone();
                tokio::spawn(async move {
                    // A process may end before its start's turn came: its pumps (and its
                    // `started` line, and the `Spawned` event) come first.
                    if let Some(turn) = turn {
                        let _ = turn.await;
                    }
                    let handles = std::mem::take(&mut lock(&pumps).handles);
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
            spawned_outcome,
        }
    }
}
