//! Shutting the fleet down: the graceful stop of everything in reverse dependency order, and
//! the second stop signal that kills at once.

use std::collections::HashSet;
use std::time::Instant;

use crate::supervisor::Signal;

use super::super::event::Action;
use super::super::messages::Message;
use super::instance::{AfterStop, Status};
use super::{Fleet, Phase};

impl Fleet {
    pub(super) fn on_signal(&mut self, signal: Signal, now: Instant, actions: &mut Vec<Action>) {
        match self.phase {
            Phase::Running => {
                actions.push(Action::Say(Message::StoppingOnSignal(signal)));
                self.shut_down(128 + signal.to_raw(), now, actions);
            }
            // Any second stop signal, whichever the first was: the message promised it.
            Phase::ShuttingDown {
                code,
                forced: false,
            } => {
                self.phase = Phase::ShuttingDown { code, forced: true };
                actions.push(Action::Say(Message::KillingOnSignal(signal)));
                for i in 0..self.instances.len() {
                    match &mut self.instances[i].status {
                        Status::Running { .. } | Status::Stopping { .. } => {
                            self.kill(i, now, actions);
                        }
                        Status::Starting { then } => {
                            *then = Some(AfterStop::Stay);
                            actions.push(Action::Cancel {
                                key: self.instances[i].key.clone(),
                            });
                        }
                        _ => {}
                    }
                }
            }
            Phase::ShuttingDown { .. } => {}
        }
    }

    /// Begins the graceful shutdown of everything, exiting with `code` at the end.
    pub(super) fn shut_down(&mut self, code: i32, now: Instant, actions: &mut Vec<Action>) {
        self.phase = Phase::ShuttingDown {
            code,
            forced: false,
        };
        self.pending_reload = None;
        for instance in &mut self.instances {
            match &mut instance.status {
                Status::Backoff => {
                    actions.push(instance.cancel_restart());
                    instance.status = Status::Ended;
                }
                Status::Waiting => instance.status = Status::Ended,
                Status::Stopping { then, .. } => *then = AfterStop::Stay,
                Status::Starting { then } => {
                    // Not spawned yet, most likely (a fleet still starting): cancel it rather
                    // than start it to stop it.
                    *then = Some(AfterStop::Stay);
                    actions.push(Action::Cancel {
                        key: instance.key.clone(),
                    });
                }
                Status::Idle | Status::Ended | Status::Running { .. } => {}
            }
        }
        self.shutdown_step(now, actions);
    }

    /// Sends its stop signal to every running instance that nothing running depends on any
    /// more: dependents stop first, each with its own grace, and independent instances stop
    /// in parallel.
    pub(super) fn shutdown_step(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if !matches!(self.phase, Phase::ShuttingDown { forced: false, .. }) {
            return;
        }
        let depended_on = self.processes_with_live_dependents();
        let free: Vec<usize> = (0..self.instances.len())
            .filter(|&i| matches!(self.instances[i].status, Status::Running { .. }))
            .filter(|&i| !depended_on.contains(self.instances[i].spec.process.as_str()))
            .collect();
        drop(depended_on);
        for i in free {
            self.stop(i, AfterStop::Stay, now, actions);
        }
    }

    /// The processes that an instance of another process, still running or starting, depends
    /// on: they stop after it. Gathered once per step, so that a step over 1,000 instances
    /// does not look at every pair of them.
    fn processes_with_live_dependents(&self) -> HashSet<&str> {
        self.instances
            .iter()
            .filter(|other| other.status.is_busy())
            .flat_map(|other| {
                let own = other.spec.process.as_str();
                other
                    .spec
                    .depends_on
                    .iter()
                    .map(|dependency| dependency.process.as_str())
                    .filter(move |&process| process != own)
            })
            .collect()
    }
}
