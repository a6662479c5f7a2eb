//! [`Fleet`]: the state of every process instance and the decisions about them.
//!
//! Pure: [`Fleet::handle`] takes an [`Event`] and the current time and returns the
//! [`Action`]s to carry out; it never spawns, signals or sleeps. The rules it applies:
//!
//! - Start order is manifest order; only autostart instances of the selected processes start.
//! - An instance that ends on its own is restarted if its policy covers the ending (with the
//!   backoff of [`restart`](super::restart)). Otherwise, if it may die (`can_die`), the rest
//!   carry on; if not, everything stops (foreman's rule) and procmux exits with its code.
//! - A signal to procmux stops everything gracefully (exit code 128 + N); a second SIGINT or
//!   SIGTERM kills every group at once. A closed output stops everything too (exit 141, the
//!   code of a process killed by SIGPIPE, as `yes | head` gives).
//! - When nothing runs any more, procmux exits: with the code of the ending that caused the
//!   shutdown, else with the code of the first instance that failed, else 0.
//! - A reload applies [`diff`] between the running manifest and the new one; a reload that
//!   arrives while the previous one is still stopping instances waits for it, and only the
//!   newest waiting manifest is applied (it contains every earlier edit).
//!
//! `reload.rs` holds the reload transitions, `shutdown.rs` the shutdown ones, `tests.rs`
//! the table of decisions.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::manifest::{InstanceSpec, Manifest};
use crate::supervisor::{ProcessEnd, Signal};

use super::event::{Action, Event, InstanceKey};
use super::messages;
use super::restart::{RestartDecision, RestartTracker};

mod reload;
mod shutdown;

/// The exit code procmux gives when its output was closed: that of a SIGPIPE death.
pub const CLOSED_OUTPUT_EXIT_CODE: i32 = 128 + 13;
/// The exit code of a process that could not be spawned, as a shell gives for "not found".
pub const SPAWN_FAILURE_EXIT_CODE: i64 = 127;

/// Every instance procmux knows of, and whether it is shutting down.
#[derive(Debug)]
pub struct Fleet {
    /// In start order. Instances that a reload removes leave the list once stopped.
    instances: Vec<Instance>,
    /// The manifest the instances follow (the last one applied).
    manifest: Manifest,
    /// The processes named on the command line; `None` means all autostart processes.
    selection: Option<BTreeSet<String>>,
    phase: Phase,
    /// The exit code of the first instance that failed and was allowed to (`can_die`).
    first_failure: Option<i32>,
    /// A valid manifest that arrived while a reload was still stopping instances.
    pending_reload: Option<Manifest>,
    next_generation: u64,
    /// Set once [`Action::Exit`] was returned, so it is returned only once.
    exited: bool,
}

#[derive(Debug)]
struct Instance {
    key: InstanceKey,
    spec: InstanceSpec,
    /// Which job of this instance is current; events from other jobs are stale.
    generation: u64,
    status: Status,
    restarts: RestartTracker,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    /// Defined but not started (not autostart, or not selected).
    Idle,
    /// A start was asked for; `then` is what to do once it has spawned, if a reload or a
    /// shutdown wants it stopped meanwhile.
    Starting {
        then: Option<AfterStop>,
    },
    Running {
        since: Instant,
    },
    /// Waiting for its restart delay.
    Backoff,
    /// A graceful stop was sent.
    Stopping {
        since: Instant,
        grace: Duration,
        then: AfterStop,
    },
    /// Ended and will not run again unless a reload changes it.
    Ended,
}

/// What follows a stop.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AfterStop {
    /// Nothing: it stays ended (shutdown).
    Stay,
    /// Start it again with this spec (a reload changed it).
    Replace(Box<InstanceSpec>),
    /// Forget it (a reload removed it).
    Remove,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    ShuttingDown { code: i32, forced: bool },
}

impl Fleet {
    /// A fleet for this manifest; `selection` names the processes to run (empty: all).
    pub fn new(manifest: Manifest, selection: &[String]) -> Self {
        let selection = (!selection.is_empty()).then(|| selection.iter().cloned().collect());
        let mut fleet = Self {
            instances: Vec::new(),
            manifest,
            selection,
            phase: Phase::Running,
            first_failure: None,
            pending_reload: None,
            next_generation: 0,
            exited: false,
        };
        let specs: Vec<InstanceSpec> = fleet.manifest.instances().cloned().collect();
        for spec in specs {
            let generation = fleet.new_generation();
            fleet.instances.push(Instance {
                key: InstanceKey::of(&spec),
                spec,
                generation,
                status: Status::Idle,
                restarts: RestartTracker::default(),
            });
        }
        fleet
    }

    /// The actions that start every instance that should run, in manifest order.
    pub fn start(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        for i in 0..self.instances.len() {
            if self.should_run(&self.instances[i].spec) {
                actions.push(self.start_instance(i));
            }
        }
        self.check_done(&mut actions);
        actions
    }

    /// The display name of an instance, if it is known.
    pub fn display_name(&self, key: &InstanceKey) -> Option<&str> {
        self.find(key)
            .map(|i| self.instances[i].spec.display_name.as_str())
    }

    /// Decides what follows an event.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        match event {
            Event::Spawned {
                key,
                generation,
                at,
            } => self.on_spawned(&key, generation, at, &mut actions),
            Event::SpawnFailed {
                key,
                generation,
                error,
            } => {
                if let Some(i) = self.current(&key, generation)
                    && matches!(self.instances[i].status, Status::Starting { .. })
                {
                    let name = &self.instances[i].spec.display_name;
                    actions.push(Action::Print(messages::failed_to_start(name, &error)));
                    let end = ProcessEnd::ExitError(
                        SPAWN_FAILURE_EXIT_CODE.try_into().expect("127 is not zero"),
                    );
                    self.on_own_end(i, end, Duration::ZERO, now, &mut actions);
                }
            }
            Event::Exited {
                key,
                generation,
                end,
                at,
            } => self.on_exited(&key, generation, end, at, &mut actions),
            Event::RestartDue { key, generation } => {
                if let Some(i) = self.current(&key, generation)
                    && self.instances[i].status == Status::Backoff
                    && self.phase == Phase::Running
                {
                    actions.push(self.start_instance(i));
                }
            }
            Event::Signal(signal) => self.on_signal(signal, now, &mut actions),
            Event::OutputClosed => {
                if self.phase == Phase::Running {
                    actions.push(Action::Print(messages::stopping_on_closed_output().into()));
                    self.shut_down(CLOSED_OUTPUT_EXIT_CODE, now, &mut actions);
                }
            }
            Event::ManifestChanged(result) => match *result {
                Err(error) => {
                    actions.push(Action::Print(messages::reload_failed().into()));
                    actions.extend(error.lines().map(|line| Action::Print(line.to_owned())));
                }
                Ok(manifest) => {
                    if self.phase == Phase::Running {
                        if self.reload_in_progress() {
                            self.pending_reload = Some(manifest);
                        } else {
                            self.apply_reload(manifest, now, &mut actions);
                        }
                    }
                }
            },
        }
        self.check_done(&mut actions);
        actions
    }

    fn on_spawned(
        &mut self,
        key: &InstanceKey,
        generation: u64,
        at: Instant,
        actions: &mut Vec<Action>,
    ) {
        let Some(i) = self.current(key, generation) else {
            return;
        };
        let Status::Starting { then } = self.instances[i].status.clone() else {
            return;
        };
        self.instances[i].status = Status::Running { since: at };
        match (self.phase, then) {
            (Phase::ShuttingDown { forced: true, .. }, _) => {
                self.instances[i].status = Status::Stopping {
                    since: at,
                    grace: Duration::ZERO,
                    then: AfterStop::Stay,
                };
                actions.push(Action::Kill { key: key.clone() });
            }
            (Phase::ShuttingDown { .. }, _) => self.stop(i, AfterStop::Stay, at, actions),
            (Phase::Running, Some(then)) => self.stop(i, then, at, actions),
            (Phase::Running, None) => {}
        }
    }

    fn on_exited(
        &mut self,
        key: &InstanceKey,
        generation: u64,
        end: ProcessEnd,
        at: Instant,
        actions: &mut Vec<Action>,
    ) {
        let Some(i) = self.current(key, generation) else {
            return;
        };
        let name = self.instances[i].spec.display_name.clone();
        match self.instances[i].status.clone() {
            Status::Running { since } => {
                actions.push(Action::Print(messages::exited(&name, &end)));
                self.on_own_end(i, end, at.saturating_duration_since(since), at, actions);
            }
            Status::Stopping { since, grace, then } => {
                let killed = end == ProcessEnd::ExitSignal(Signal::ForceStop)
                    && grace > Duration::ZERO
                    && at.saturating_duration_since(since) >= grace;
                actions.push(Action::Print(if killed {
                    messages::killed_at_grace(&name, grace)
                } else {
                    messages::exited(&name, &end)
                }));
                self.after_stop(i, then, at, actions);
            }
            _ => {}
        }
    }

    /// An instance ended without being asked to: restart it, let it be, or stop everything.
    fn on_own_end(
        &mut self,
        i: usize,
        end: ProcessEnd,
        uptime: Duration,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        if self.phase != Phase::Running {
            self.instances[i].status = Status::Ended;
            actions.push(Action::Forget {
                key: self.instances[i].key.clone(),
            });
            return;
        }
        let instance = &mut self.instances[i];
        let decision = instance.restarts.on_exit(
            instance.spec.restart,
            instance.spec.max_restarts,
            end.is_success(),
            uptime,
        );
        let name = instance.spec.display_name.clone();
        match decision {
            RestartDecision::Restart {
                delay,
                attempt,
                limit,
            } => {
                instance.status = Status::Backoff;
                actions.push(Action::Print(messages::restarting(
                    &name, delay, attempt, limit,
                )));
                actions.push(Action::ScheduleRestart {
                    key: instance.key.clone(),
                    generation: instance.generation,
                    delay,
                });
                return;
            }
            RestartDecision::GaveUp { restarts } => {
                actions.push(Action::Print(messages::gave_up(&name, restarts)));
            }
            RestartDecision::NotCovered => {}
        }
        instance.status = Status::Ended;
        actions.push(Action::Forget {
            key: instance.key.clone(),
        });
        let code = exit_code(&end);
        if instance.spec.can_die {
            if !end.is_success() && self.first_failure.is_none() {
                self.first_failure = Some(code);
            }
        } else {
            actions.push(Action::Print(messages::stopping_after_exit(&name)));
            self.shut_down(code, now, actions);
        }
    }

    fn stop(&mut self, i: usize, then: AfterStop, now: Instant, actions: &mut Vec<Action>) {
        let instance = &mut self.instances[i];
        instance.status = Status::Stopping {
            since: now,
            grace: instance.spec.stop_timeout,
            then,
        };
        actions.push(Action::Stop {
            key: instance.key.clone(),
            signal: instance.spec.stop_signal,
            grace: instance.spec.stop_timeout,
        });
    }

    fn after_stop(&mut self, i: usize, then: AfterStop, now: Instant, actions: &mut Vec<Action>) {
        let key = self.instances[i].key.clone();
        actions.push(Action::Forget { key });
        match then {
            AfterStop::Stay => self.instances[i].status = Status::Ended,
            AfterStop::Remove => {
                self.instances.remove(i);
            }
            AfterStop::Replace(spec) => {
                self.replace_spec(i, *spec);
                if self.phase == Phase::Running && self.should_run(&self.instances[i].spec) {
                    actions.push(self.start_instance(i));
                } else {
                    self.instances[i].status = Status::Idle;
                }
            }
        }
        if !self.reload_in_progress()
            && let Some(manifest) = self.pending_reload.take()
        {
            self.apply_reload(manifest, now, actions);
        }
    }

    fn start_instance(&mut self, i: usize) -> Action {
        let instance = &mut self.instances[i];
        instance.status = Status::Starting { then: None };
        Action::Start {
            spec: Box::new(instance.spec.clone()),
            generation: instance.generation,
        }
    }

    /// Emits [`Action::Exit`] once nothing runs any more.
    fn check_done(&mut self, actions: &mut Vec<Action>) {
        if self.exited {
            return;
        }
        let busy = |status: &Status| {
            matches!(
                status,
                Status::Starting { .. } | Status::Running { .. } | Status::Stopping { .. }
            )
        };
        let code = match self.phase {
            Phase::ShuttingDown { code, .. } => {
                if self.instances.iter().any(|i| busy(&i.status)) {
                    return;
                }
                code
            }
            Phase::Running => {
                if self
                    .instances
                    .iter()
                    .any(|i| busy(&i.status) || i.status == Status::Backoff)
                {
                    return;
                }
                self.first_failure.unwrap_or(0)
            }
        };
        self.exited = true;
        actions.push(Action::Exit(code));
    }

    fn should_run(&self, spec: &InstanceSpec) -> bool {
        match &self.selection {
            Some(names) => names.contains(&spec.process),
            None => spec.autostart,
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

/// procmux's exit code for an ending: the process's code, or 128 + N for signal N.
pub fn exit_code(end: &ProcessEnd) -> i32 {
    i32::try_from(end.exit_code()).unwrap_or(1)
}

#[cfg(test)]
mod tests;
