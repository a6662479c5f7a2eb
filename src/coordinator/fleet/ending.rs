//! Spawns, readiness and endings: what happens when an instance starts, becomes ready, fails
//! its check, or ends (by itself, or after a stop someone asked for).

use std::time::{Duration, Instant};

use crate::manifest::Condition;
use crate::supervisor::ProcessEnd;

use super::super::event::{Action, InstanceKey, TimerKey, TimerPurpose};
use super::super::messages::Message;
use super::super::restart::RestartDecision;
use super::instance::{AfterStop, Status};
use super::{FAILED_EXIT_CODE, Fleet, Phase, SPAWN_FAILURE_EXIT_CODE, failure};

impl Fleet {
    pub(super) fn on_spawned(
        &mut self,
        key: &InstanceKey,
        generation: u64,
        pid: u32,
        at: Instant,
        actions: &mut Vec<Action>,
    ) {
        let Some(i) = self.current(key, generation) else {
            return;
        };
        let Status::Starting { then } = self.instances[i].status.clone() else {
            return;
        };
        let instance = &mut self.instances[i];
        instance.status = Status::Running { since: at };
        instance.spawned = true;
        instance.spawns += 1;
        instance.pid = Some(pid);
        instance.completed = false;
        instance.leftovers_reported = false;
        instance.ready = instance.spec.ready.is_none();
        if let Some(check) = &instance.spec.ready {
            actions.push(Action::CheckReady {
                spec: Box::new(instance.spec.clone()),
                generation,
                check: Box::new(check.clone()),
            });
        }
        match (self.phase, then) {
            (Phase::ShuttingDown { forced: true, .. }, _) => {
                self.instances[i].status = Status::Stopping {
                    since: at,
                    grace: Duration::ZERO,
                    then: AfterStop::Stay,
                };
                actions.push(Action::Kill { key: key.clone() });
            }
            // The shutdown order decides when it gets its signal.
            (Phase::ShuttingDown { .. }, _) => {}
            (Phase::Running, Some(then)) => self.stop(i, then, at, actions),
            (Phase::Running, None) => {}
        }
    }

    pub(super) fn on_spawn_failed(
        &mut self,
        key: &InstanceKey,
        generation: u64,
        error: String,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let Some(i) = self.current(key, generation) else {
            return;
        };
        if !matches!(self.instances[i].status, Status::Starting { .. }) {
            return;
        }
        actions.push(Action::Say(Message::FailedToStart {
            name: self.instances[i].name().to_owned(),
            error,
        }));
        let then = match &self.instances[i].status {
            Status::Starting { then } => then.clone(),
            _ => None,
        };
        let end = failure(SPAWN_FAILURE_EXIT_CODE);
        match then {
            // A reload or request wanted it stopped anyway: carry that out.
            Some(then) if self.phase == Phase::Running => {
                self.instances[i].last_end = Some(end);
                self.after_stop(i, then, now, actions);
            }
            _ => self.on_own_end(i, end, Duration::ZERO, now, actions),
        }
    }

    pub(super) fn on_ready(
        &mut self,
        key: &InstanceKey,
        generation: u64,
        after: Duration,
        _now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let Some(i) = self.current(key, generation) else {
            return;
        };
        let instance = &mut self.instances[i];
        if !matches!(instance.status, Status::Running { .. }) || instance.ready {
            return;
        }
        instance.ready = true;
        let check = instance
            .spec
            .ready
            .as_ref()
            .map(|c| c.kind.to_string())
            .unwrap_or_default();
        actions.push(Action::Say(Message::Ready {
            name: instance.name().to_owned(),
            check,
            after,
        }));
    }

    pub(super) fn on_not_ready(
        &mut self,
        key: &InstanceKey,
        generation: u64,
        error: String,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let Some(i) = self.current(key, generation) else {
            return;
        };
        let instance = &self.instances[i];
        if !matches!(instance.status, Status::Running { .. }) || instance.ready {
            return;
        }
        actions.push(Action::Say(Message::NotReady {
            name: instance.name().to_owned(),
            timeout: instance
                .spec
                .ready
                .as_ref()
                .map_or(Duration::ZERO, |c| c.timeout),
            error,
        }));
        if self.phase == Phase::Running {
            self.stop(i, AfterStop::Fail, now, actions);
        }
    }

    pub(super) fn on_timer(&mut self, timer: &TimerKey, _now: Instant, actions: &mut Vec<Action>) {
        match timer.purpose {
            TimerPurpose::Restart => {
                if let Some(i) = self.current(&timer.key, timer.generation)
                    && self.instances[i].status == Status::Backoff
                    && self.phase == Phase::Running
                {
                    // Through the gate, like any start: it may wait for a dependency again.
                    self.instances[i].status = Status::Waiting;
                    let _ = actions;
                }
            }
        }
    }

    pub(super) fn on_exited(
        &mut self,
        key: &InstanceKey,
        generation: u64,
        end: ProcessEnd,
        at: Instant,
        killed: bool,
        actions: &mut Vec<Action>,
    ) {
        let Some(i) = self.current(key, generation) else {
            return;
        };
        let instance = &mut self.instances[i];
        let name = instance.name().to_owned();
        let quiet = std::mem::take(&mut instance.leftovers_reported);
        instance.last_end = Some(end);
        instance.ready = false;
        match instance.status.clone() {
            Status::Running { since } => {
                let line = if killed {
                    Message::KilledAtGrace {
                        name,
                        grace: instance.spec.stop_timeout,
                    }
                } else {
                    Message::Exited { name, end }
                };
                let line = (!quiet).then_some(line);
                let uptime = at.saturating_duration_since(since);
                self.on_own_end_saying(i, end, uptime, at, line, actions);
            }
            Status::Stopping { grace, then, .. } => {
                if !quiet || killed {
                    actions.push(Action::Say(if killed && grace > Duration::ZERO {
                        Message::KilledAtGrace { name, grace }
                    } else {
                        Message::Exited { name, end }
                    }));
                }
                self.after_stop(i, then, at, actions);
            }
            _ => {}
        }
    }

    /// An instance ended without being asked to: restart it, let it be, or stop everything.
    pub(super) fn on_own_end(
        &mut self,
        i: usize,
        end: ProcessEnd,
        uptime: Duration,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        self.on_own_end_saying(i, end, uptime, now, None, actions);
    }

    /// [`on_own_end`](Self::on_own_end), saying `line` (its exit line) first, or instead of it
    /// a watched process's `exited ...; waiting for changes`.
    fn on_own_end_saying(
        &mut self,
        i: usize,
        end: ProcessEnd,
        uptime: Duration,
        now: Instant,
        line: Option<Message>,
        actions: &mut Vec<Action>,
    ) {
        let spec = &self.instances[i].spec;
        // What the restart policy will say, asked of a copy of the tracker.
        let mut tracker = self.instances[i].restarts;
        let waits_for_change = self.watch_restarts
            && !spec.watch.is_empty()
            && self.phase == Phase::Running
            && !tracker
                .on_exit(spec.restart, spec.max_restarts, end.is_success(), uptime)
                .is_restart();
        if let Some(line) = line
            && !waits_for_change
        {
            actions.push(Action::Say(line));
        }
        self.instances[i].last_end = Some(end);
        self.instances[i].completed = end.is_success();
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
        let name = instance.name().to_owned();
        match decision {
            RestartDecision::Restart {
                delay,
                attempt,
                limit,
            } => {
                instance.status = Status::Backoff;
                instance.restart_count += 1;
                actions.push(Action::Say(Message::Restarting {
                    name,
                    delay,
                    attempt,
                    limit,
                }));
                actions.push(Action::StartTimer {
                    timer: TimerKey {
                        key: instance.key.clone(),
                        generation: instance.generation,
                        purpose: TimerPurpose::Restart,
                    },
                    delay,
                });
                return;
            }
            RestartDecision::GaveUp { restarts } => {
                actions.push(Action::Say(Message::GaveUp {
                    name: name.clone(),
                    restarts,
                }));
            }
            RestartDecision::NotCovered => {}
        }
        instance.status = Status::Ended;
        actions.push(Action::Forget {
            key: instance.key.clone(),
        });
        let can_die = instance.spec.can_die;
        let process = instance.spec.process.clone();
        if waits_for_change {
            // A compile error or a crash: the next save brings it back; the stack stays up.
            self.instances[i].waiting_for_change = true;
            actions.push(Action::Say(Message::WaitingForChanges { name, end }));
            return;
        }
        self.record_failure(&end);
        let one_shot = end.is_success() && self.is_completed_dependency(&process);
        if !(can_die || one_shot) {
            actions.push(Action::Say(Message::StoppingAfterExit { name }));
            self.shut_down(super::exit_code(&end), now, actions);
        }
    }

    /// Whether some instance depends on `process` with `completed`.
    fn is_completed_dependency(&self, process: &str) -> bool {
        self.instances.iter().any(|i| {
            i.spec
                .depends_on
                .iter()
                .any(|d| d.process == process && d.condition == Condition::Completed)
        })
    }

    /// Sends instance `i` its stop signal; `then` says what follows its end.
    pub(super) fn stop(
        &mut self,
        i: usize,
        then: AfterStop,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
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

    /// Kills instance `i` at once (a second stop signal).
    pub(super) fn kill(&mut self, i: usize, now: Instant, actions: &mut Vec<Action>) {
        let instance = &mut self.instances[i];
        instance.status = Status::Stopping {
            since: now,
            grace: Duration::ZERO,
            then: AfterStop::Stay,
        };
        actions.push(Action::Kill {
            key: instance.key.clone(),
        });
    }

    pub(super) fn after_stop(
        &mut self,
        i: usize,
        then: AfterStop,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let key = self.instances[i].key.clone();
        match then {
            AfterStop::Stay => {
                actions.push(Action::Forget { key });
                self.instances[i].status = Status::Ended;
            }
            AfterStop::Remove => {
                actions.push(Action::Forget { key });
                self.instances.remove(i);
            }
            AfterStop::Replace(spec) => {
                actions.push(Action::Forget { key });
                self.replace_spec(i, *spec);
                self.instances[i].held_by_reload = true;
                self.instances[i].status =
                    if self.phase == Phase::Running && self.instances[i].wanted {
                        Status::Waiting
                    } else {
                        Status::Idle
                    };
            }
            AfterStop::Restart => {
                // The same job runs again: not forgotten.
                self.instances[i].status = if self.phase == Phase::Running {
                    Status::Waiting
                } else {
                    Status::Ended
                };
            }
            AfterStop::Fail => {
                let end = failure(FAILED_EXIT_CODE);
                self.on_own_end(i, end, Duration::ZERO, now, actions);
            }
        }
        if !self.reload_in_progress()
            && let Some(manifest) = self.pending_reload.take()
        {
            self.apply_reload(manifest, now, actions);
        }
    }
}
