//! [`Fleet`]: the state of every process instance and every decision about them.
//!
//! Pure: [`Fleet::handle`] takes an [`Event`] and the current time and returns the
//! [`Action`]s to carry out; it never spawns, signals or sleeps. Each instance records what
//! happened to it (its [`Status`](instance::Status) and the facts its dependents look at)
//! beside what the user asked for (wanted, stopped by request), so that rules such as "one
//! ends, all stop" apply only to what ended by itself. The rules, file by file:
//!
//! - `start.rs`: which instances run (the selection, `autostart`, and transitively what they
//!   depend on, even `autostart = false`), and when: each starts as soon as every dependency
//!   meets its condition (`started`: spawned; `ready`: its check passed, or it has none and
//!   runs; `completed`: exited with code 0), in manifest order; one whose dependency ended
//!   before meeting its condition never starts, with a line saying why.
//! - `ending.rs`: spawns, readiness, endings. An instance that ends on its own is restarted
//!   if its policy covers the ending (with the backoff of [`restart`](super::restart));
//!   otherwise a watched one waits for the next change (unless watch restarts are off:
//!   `--no-watch`), a `completed` dependency that exited
//!   0 is done, one that may die (`can_die`) lets the rest carry on, and any other stops
//!   everything (foreman's rule). A readiness check that times out stops the instance, which
//!   then counts as failed with code 1.
//! - `shutdown.rs`: a stop signal, a closed output or `procmux stop` stop everything, in
//!   reverse dependency order (an instance gets its stop signal once everything that depends
//!   on it has stopped; independent ones stop in parallel, each with its own grace); a second
//!   stop signal of any kind kills everything at once.
//! - `reload.rs`: a reload applies [`diff`](super::diff) between the running manifest and the
//!   new one, and starts new or replaced instances only once every instance it stops has
//!   ended (so a renamed process finds its port free); a reload that arrives while one is
//!   still stopping waits, and only the newest waiting manifest is applied.
//! - `control.rs`: `restart`, `stop` and `status` from another terminal; a stop by request is
//!   not an ending that stops the stack, and a restart by request does not count against
//!   `max_restarts`.
//! - `watch.rs`: a change to a watched file restarts the process gracefully, is not a
//!   failure (it renews the restart budget), and pauses a process restarted by changes more
//!   than 10 times in 10 s until the next change after a quiet second.
//!
//! procmux exits once nothing runs, waits or will restart any more, and no instance stopped
//! by request or waiting for changes could be started again: with the code of the ending that
//! stopped the stack when it is not 0, else with the code of the first instance that ended
//! for good with a failure (`can_die` ones included), else 0.
//!
//! Decisions where the design is silent: a dependency that restarts later does not restart
//! its dependents, and those already started keep running; one still waiting for it to be
//! ready waits for its new run's check. An instance stopped by request keeps dependents that
//! wait for it waiting (it may be restarted); only an ending by itself blocks them.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::manifest::{InstanceSpec, Manifest};
use crate::supervisor::ProcessEnd;

use super::event::{Action, Event, InstanceKey};
use super::messages::Message;

mod control;
mod ending;
mod instance;
mod reload;
mod shutdown;
mod start;
mod status;
mod watch;

#[cfg(test)]
mod tests;

use instance::{Instance, Status};
pub use status::{InstanceState, InstanceStatus};

/// The exit code procmux gives when its output was closed: that of a SIGPIPE death.
pub const CLOSED_OUTPUT_EXIT_CODE: i32 = 128 + 13;
/// The exit code of a process that could not be spawned, as a shell gives for "not found".
pub const SPAWN_FAILURE_EXIT_CODE: i64 = 127;
/// The exit code of an instance whose readiness check timed out, or whose job task died.
pub const FAILED_EXIT_CODE: i64 = 1;

/// Every instance procmux knows of, and whether it is shutting down.
#[derive(Debug)]
pub struct Fleet {
    /// In manifest order. Instances that a reload removes leave the list once stopped.
    instances: Vec<Instance>,
    /// The manifest the instances follow (the last one applied).
    manifest: Manifest,
    /// Counts applied manifests, so the runner can tell when to re-read [`Fleet::manifest`].
    manifest_version: u64,
    /// The processes named on the command line; `None` means every autostart process.
    selection: Option<BTreeSet<String>>,
    phase: Phase,
    /// The exit code of the first instance that ended for good with a failure.
    first_failure: Option<i32>,
    /// A valid manifest that arrived while a reload was still stopping instances.
    pending_reload: Option<Manifest>,
    next_generation: u64,
    /// Control requests answered once their instances reach the state asked for.
    pending_replies: Vec<control::PendingReply>,
    /// Set once [`Action::Exit`] was returned, so it is returned only once.
    exited: bool,
    /// Whether changes to watched files restart processes; off, a watched process that ends
    /// follows the usual ending rules (a change that would bring it back is never noticed).
    watch_restarts: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    ShuttingDown { code: i32, forced: bool },
}

impl Fleet {
    /// A fleet for this manifest; `selection` names the processes to run (empty: every
    /// autostart process), which also runs what they depend on.
    pub fn new(manifest: Manifest, selection: &[String]) -> Self {
        let selection = (!selection.is_empty()).then(|| selection.iter().cloned().collect());
        let mut fleet = Self {
            instances: Vec::new(),
            manifest,
            manifest_version: 0,
            selection,
            phase: Phase::Running,
            first_failure: None,
            pending_reload: None,
            next_generation: 0,
            pending_replies: Vec::new(),
            exited: false,
            watch_restarts: true,
        };
        let specs: Vec<InstanceSpec> = fleet.manifest.instances().cloned().collect();
        for spec in specs {
            let generation = fleet.new_generation();
            fleet.instances.push(Instance::new(spec, generation));
        }
        fleet
    }

    /// The actions that start what should run: those with nothing to wait for at once, in
    /// manifest order, and a line for each that waits.
    pub fn start(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        let wanted = self.wanted_processes();
        for instance in &mut self.instances {
            if wanted.contains(&instance.spec.process) {
                instance.wanted = true;
                instance.status = Status::Waiting;
            }
        }
        self.advance(&mut actions);
        self.check_done(&mut actions);
        actions
    }

    /// Whether changes to watched files restart processes (on unless `--no-watch`, or the
    /// watcher could not start): off, a watched process that ends does not wait for a change.
    pub fn set_watch_restarts(&mut self, on: bool) {
        self.watch_restarts = on;
    }

    /// The manifest the fleet follows now.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Changes each time a reloaded manifest is applied.
    pub fn manifest_version(&self) -> u64 {
        self.manifest_version
    }

    /// The display name of an instance, if it is known.
    pub fn display_name(&self, key: &InstanceKey) -> Option<&str> {
        self.find(key).map(|i| self.instances[i].name())
    }

    /// The display names of every instance, in order (to size the prefix column).
    pub fn display_names(&self) -> impl Iterator<Item = &str> {
        self.instances.iter().map(Instance::name)
    }

    /// How many instances the fleet knows.
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// Whether the fleet knows no instance.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// The key of instance number `i` (in manifest order).
    pub fn key_at(&self, i: usize) -> Option<InstanceKey> {
        self.instances.get(i).map(|instance| instance.key.clone())
    }

    /// The spec an instance runs with now.
    pub fn spec(&self, key: &InstanceKey) -> Option<&InstanceSpec> {
        self.find(key).map(|i| &self.instances[i].spec)
    }

    /// The longest stop grace of any instance (what procmux gives leftovers at exit).
    pub fn longest_grace(&self) -> std::time::Duration {
        self.instances
            .iter()
            .map(|i| i.spec.stop_timeout)
            .max()
            .unwrap_or_default()
    }

    /// Whether the fleet is stopping everything.
    pub fn is_shutting_down(&self) -> bool {
        matches!(self.phase, Phase::ShuttingDown { .. })
    }

    /// Decides what follows an event.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        match event {
            Event::Spawned {
                key,
                generation,
                pid,
                at,
            } => self.on_spawned(&key, generation, pid, at, &mut actions),
            Event::SpawnFailed {
                key,
                generation,
                error,
            } => self.on_spawn_failed(&key, generation, error, now, &mut actions),
            Event::StartCancelled { key, generation } => {
                if let Some(i) = self.current(&key, generation)
                    && matches!(self.instances[i].status, Status::Starting { .. })
                {
                    self.instances[i].status = Status::Ended;
                }
            }
            Event::Leftovers {
                key,
                generation,
                end,
                count,
            } => {
                if let Some(i) = self.current(&key, generation)
                    && self.instances[i].status.is_busy()
                {
                    let instance = &mut self.instances[i];
                    instance.leftovers_reported = true;
                    actions.push(Action::Say(Message::Leftovers {
                        name: instance.name().to_owned(),
                        end,
                        count,
                    }));
                }
            }
            Event::Exited {
                key,
                generation,
                end,
                at,
                killed,
            } => self.on_exited(&key, generation, end, at, killed, &mut actions),
            Event::JobDied {
                key,
                generation,
                reason,
            } => {
                if let Some(i) = self.current(&key, generation) {
                    actions.push(Action::Say(Message::JobDied {
                        name: self.instances[i].name().to_owned(),
                        reason,
                    }));
                    let end = failure(FAILED_EXIT_CODE);
                    self.on_exited(&key, generation, end, now, false, &mut actions);
                }
            }
            Event::Timer(timer) => self.on_timer(&timer, now, &mut actions),
            Event::Ready {
                key,
                generation,
                after,
            } => self.on_ready(&key, generation, after, now, &mut actions),
            Event::NotReady {
                key,
                generation,
                error,
            } => self.on_not_ready(&key, generation, error, now, &mut actions),
            Event::Signal(signal) => self.on_signal(signal, now, &mut actions),
            Event::OutputClosed => {
                if self.phase == Phase::Running {
                    actions.push(Action::Say(Message::StoppingOnClosedOutput));
                    self.shut_down(CLOSED_OUTPUT_EXIT_CODE, now, &mut actions);
                }
            }
            Event::ManifestChanged(result) => match *result {
                Err(error) => actions.push(Action::Say(Message::ReloadFailed(error))),
                Ok(reloaded) => {
                    if self.phase == Phase::Running {
                        actions.extend(
                            reloaded
                                .warnings
                                .into_iter()
                                .map(|w| Action::Say(Message::Warning(w))),
                        );
                        if self.reload_in_progress() {
                            self.pending_reload = Some(reloaded.manifest);
                        } else {
                            self.apply_reload(reloaded.manifest, now, &mut actions);
                        }
                    }
                }
            },
            Event::ManifestRemoved(path) => actions.push(Action::Say(Message::ManifestRemoved(
                path.display().to_string(),
            ))),
            Event::FilesChanged {
                process,
                paths,
                more,
            } => self.on_files_changed(&process, &paths, more, now, &mut actions),
            Event::Control { id, verb } => self.on_control(id, verb, now, &mut actions),
        }
        self.settle(now, &mut actions);
        actions
    }

    /// After any event: start what may start, answer what is answered, stop what the
    /// shutdown order allows, and exit when nothing is left.
    fn settle(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if self.phase == Phase::Running {
            self.advance(actions);
        } else {
            self.shutdown_step(now, actions);
        }
        self.answer_replies(actions);
        self.check_done(actions);
    }

    /// Emits [`Action::Exit`] once nothing runs, waits, or could be started again.
    fn check_done(&mut self, actions: &mut Vec<Action>) {
        if self.exited {
            return;
        }
        let code = match self.phase {
            Phase::ShuttingDown { code, .. } => {
                if self.instances.iter().any(|i| i.status.is_busy()) {
                    return;
                }
                if code != 0 { code } else { self.failure_code() }
            }
            Phase::Running => {
                let alive = |i: &Instance| {
                    i.status.is_busy()
                        || matches!(i.status, Status::Backoff | Status::Waiting)
                        || i.stopped_by_request
                        || i.waiting_for_change
                };
                if self.instances.iter().any(alive) {
                    return;
                }
                self.failure_code()
            }
        };
        self.exited = true;
        for pending in self.pending_replies.drain(..) {
            actions.push(Action::Reply {
                id: pending.id,
                outcome: super::event::ControlOutcome::Failed("procmux is exiting".into()),
            });
        }
        actions.push(Action::Exit(code));
    }

    /// The code to exit with when no ending gave one: the first failure that ended for good,
    /// else that of a watched process still waiting for a fix, else 0.
    fn failure_code(&self) -> i32 {
        self.first_failure
            .or_else(|| {
                self.instances
                    .iter()
                    .filter(|i| i.waiting_for_change)
                    .filter_map(|i| i.last_end)
                    .find(|end| !end.is_success())
                    .map(|end| exit_code(&end))
            })
            .unwrap_or(0)
    }

    fn record_failure(&mut self, end: &ProcessEnd) {
        if !end.is_success() && self.first_failure.is_none() {
            self.first_failure = Some(exit_code(end));
        }
    }

    fn find(&self, key: &InstanceKey) -> Option<usize> {
        self.instances.iter().position(|i| &i.key == key)
    }

    fn current(&self, key: &InstanceKey, generation: u64) -> Option<usize> {
        self.find(key)
            .filter(|i| self.instances[*i].generation == generation)
    }

    fn new_generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }
}

/// A failure with exit code `code` (not 0).
fn failure(code: i64) -> ProcessEnd {
    ProcessEnd::ExitError(std::num::NonZeroI64::new(code).unwrap_or(std::num::NonZeroI64::MIN))
}

/// procmux's exit code for an ending: the process's code, or 128 + N for signal N.
pub fn exit_code(end: &ProcessEnd) -> i32 {
    i32::try_from(end.exit_code()).unwrap_or(1)
}
