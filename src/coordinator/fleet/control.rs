//! Control requests from another terminal: `restart` and `stop` of processes or instances,
//! and `stop` of the whole stack. Names resolve to instances with did-you-mean; the answer
//! comes once the action is done (a restart once the new process runs, a stop once it ended).

use std::time::Instant;

use super::super::event::{Action, ControlOutcome, ControlVerb, InstanceKey};
use super::super::messages::Message;
use super::instance::{AfterStop, Status};
use super::{Fleet, Phase};

/// A request waiting for its instances.
#[derive(Debug)]
pub(super) struct PendingReply {
    pub(super) id: u64,
    what: Goal,
    /// Each instance with its spawn count when the request came.
    targets: Vec<(InstanceKey, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// Each target runs a process spawned after the request.
    Restarted,
    /// Each target has ended.
    Stopped,
}

impl Fleet {
    pub(super) fn on_control(
        &mut self,
        id: u64,
        verb: ControlVerb,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        if self.phase != Phase::Running {
            actions.push(Action::Reply {
                id,
                outcome: ControlOutcome::Failed("procmux is stopping everything".into()),
            });
            return;
        }
        match verb {
            ControlVerb::StopAll => {
                actions.push(Action::Say(Message::StoppingOnRequest));
                actions.push(Action::Reply {
                    id,
                    outcome: ControlOutcome::Done("stopping all processes".into()),
                });
                self.shut_down(
                    128 + crate::supervisor::Signal::Terminate.to_raw(),
                    now,
                    actions,
                );
            }
            ControlVerb::Restart(names) => self.on_names(id, &names, Goal::Restarted, now, actions),
            ControlVerb::Stop(names) => self.on_names(id, &names, Goal::Stopped, now, actions),
        }
    }

    /// Restarts or stops what `names` designate, answering once that is done; an unknown
    /// name changes nothing.
    fn on_names(
        &mut self,
        id: u64,
        names: &[String],
        goal: Goal,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let indices = match self.resolve(names) {
            Ok(indices) => indices,
            Err(message) => {
                actions.push(Action::Reply {
                    id,
                    outcome: ControlOutcome::UnknownName(message),
                });
                return;
            }
        };
        let targets = self.targets(&indices);
        for &i in &indices {
            match goal {
                Goal::Restarted => self.restart_by_request(i, now, actions),
                Goal::Stopped => self.stop_by_request(i, now, actions),
            }
        }
        self.pending_replies.push(PendingReply {
            id,
            what: goal,
            targets,
        });
    }

    fn targets(&self, indices: &[usize]) -> Vec<(InstanceKey, u64)> {
        indices
            .iter()
            .map(|&i| (self.instances[i].key.clone(), self.instances[i].spawns))
            .collect()
    }

    /// The instances that `names` designate: a process name means all its instances, an
    /// instance name (`web.2`, or `web.1` of a process with one instance) that instance. An
    /// unknown name is an error with the nearest name, and nothing is done.
    pub fn resolve(&self, names: &[String]) -> Result<Vec<usize>, String> {
        let mut found = Vec::new();
        for name in names {
            let matches: Vec<usize> = (0..self.instances.len())
                .filter(|&i| {
                    let instance = &self.instances[i];
                    instance.spec.process == *name
                        || instance.name() == name
                        || format!("{}.{}", instance.key.process, instance.key.index) == *name
                })
                .collect();
            if matches.is_empty() {
                let mut known: Vec<String> = self
                    .manifest
                    .processes
                    .iter()
                    .map(|p| p.name.clone())
                    .collect();
                known.extend(self.instances.iter().map(|i| i.name().to_owned()));
                known.dedup();
                let hint = crate::manifest::nearest(name, known.iter().map(String::as_str))
                    .map(|near| format!("; did you mean {near:?}?"))
                    .unwrap_or_else(|| format!(" (the processes are: {})", self.process_list()));
                return Err(format!("no process or instance named {name:?}{hint}"));
            }
            for i in matches {
                if !found.contains(&i) {
                    found.push(i);
                }
            }
        }
        Ok(found)
    }

    fn process_list(&self) -> String {
        self.manifest
            .processes
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn restart_by_request(&mut self, i: usize, now: Instant, actions: &mut Vec<Action>) {
        let name = self.instances[i].name().to_owned();
        match self.instances[i].status.clone() {
            Status::Running { .. } => {
                actions.push(Action::Say(Message::Requested {
                    name,
                    what: "restarting",
                }));
                self.stop(i, AfterStop::Restart, now, actions);
            }
            Status::Starting { .. } => {
                self.instances[i].status = Status::Starting {
                    then: Some(AfterStop::Restart),
                };
            }
            Status::Stopping { then, since, grace } => {
                // A reload's replacement or removal stays what it is.
                if !then.is_reload() {
                    self.instances[i].status = Status::Stopping {
                        since,
                        grace,
                        then: AfterStop::Restart,
                    };
                }
            }
            Status::Backoff => {
                let instance = &mut self.instances[i];
                actions.push(instance.cancel_restart());
                instance.status = Status::Waiting;
            }
            Status::Idle | Status::Ended | Status::Waiting => {
                actions.push(Action::Say(Message::Requested {
                    name,
                    what: "starting",
                }));
                self.want_with_dependencies(i);
            }
        }
        let instance = &mut self.instances[i];
        instance.wanted = true;
        instance.stopped_by_request = false;
        instance.waiting_for_change = false;
        // Asked for by a person, not a failure: the budget starts over, and so does the
        // loop protection of watched changes.
        instance.restarts = Default::default();
        instance.watch.reset();
    }

    fn stop_by_request(&mut self, i: usize, now: Instant, actions: &mut Vec<Action>) {
        let instance = &mut self.instances[i];
        instance.wanted = false;
        instance.stopped_by_request = true;
        instance.waiting_for_change = false;
        let name = instance.name().to_owned();
        match instance.status.clone() {
            Status::Running { .. } => {
                actions.push(Action::Say(Message::Requested {
                    name,
                    what: "stopping",
                }));
                self.stop(i, AfterStop::Stay, now, actions);
            }
            Status::Starting { .. } => {
                instance.status = Status::Starting {
                    then: Some(AfterStop::Stay),
                };
            }
            Status::Stopping { then, since, grace } => {
                if !then.is_reload() {
                    instance.status = Status::Stopping {
                        since,
                        grace,
                        then: AfterStop::Stay,
                    };
                }
            }
            Status::Backoff => {
                actions.push(instance.cancel_restart());
                instance.status = Status::Idle;
            }
            Status::Waiting => instance.status = Status::Idle,
            Status::Idle | Status::Ended => {}
        }
    }

    /// Answers the requests whose instances reached their goal, or can no longer.
    pub(super) fn answer_replies(&mut self, actions: &mut Vec<Action>) {
        let mut still = Vec::new();
        for pending in std::mem::take(&mut self.pending_replies) {
            match self.progress(&pending) {
                None => still.push(pending),
                Some(outcome) => actions.push(Action::Reply {
                    id: pending.id,
                    outcome,
                }),
            }
        }
        self.pending_replies = still;
    }

    /// The outcome of a request once every target is settled, else `None`.
    fn progress(&self, pending: &PendingReply) -> Option<ControlOutcome> {
        let mut done = Vec::new();
        let mut failed = Vec::new();
        for (key, spawns_then) in &pending.targets {
            let Some(i) = self.find(key) else {
                // Removed by a reload meanwhile.
                continue;
            };
            let instance = &self.instances[i];
            match pending.what {
                Goal::Restarted => match &instance.status {
                    Status::Running { .. } if instance.spawns > *spawns_then => {
                        let pid = instance
                            .pid
                            .map_or_else(String::new, |p| format!(" (pid {p})"));
                        done.push(format!("{}{pid}", instance.name()));
                    }
                    // The request moved it out of these states: back in one means it failed
                    // to start, will not start, or was stopped meanwhile.
                    Status::Ended | Status::Idle => failed.push(instance.name().to_owned()),
                    _ => return None,
                },
                Goal::Stopped => {
                    if instance.status.is_busy() {
                        return None;
                    }
                    done.push(instance.name().to_owned());
                }
            }
        }
        Some(match (pending.what, failed.is_empty()) {
            (Goal::Restarted, true) => {
                ControlOutcome::Done(format!("restarted {}", done.join(", ")))
            }
            (Goal::Restarted, false) => ControlOutcome::Failed(format!(
                "{} did not start again (see procmux's output)",
                failed.join(", ")
            )),
            (Goal::Stopped, _) => ControlOutcome::Done(format!("stopped {}", done.join(", "))),
        })
    }
}
