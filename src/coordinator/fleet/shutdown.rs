//! Shutting the fleet down: the graceful stop of everything, and the second Ctrl-C that kills
//! at once.

use std::time::{Duration, Instant};

use crate::supervisor::Signal;

use super::super::event::Action;
use super::super::messages;
use super::{AfterStop, Fleet, Phase, Status};

impl Fleet {
    pub(super) fn on_signal(&mut self, signal: Signal, now: Instant, actions: &mut Vec<Action>) {
        match self.phase {
            Phase::Running => {
                actions.push(Action::Print(messages::stopping_on_signal(signal)));
                self.shut_down(128 + signal.to_raw(), now, actions);
            }
            Phase::ShuttingDown {
                code,
                forced: false,
            } if matches!(signal, Signal::Interrupt | Signal::Terminate) => {
                self.phase = Phase::ShuttingDown { code, forced: true };
                actions.push(Action::Print(messages::killing_on_signal(signal)));
                for instance in &mut self.instances {
                    if matches!(
                        instance.status,
                        Status::Running { .. } | Status::Stopping { .. }
                    ) {
                        instance.status = Status::Stopping {
                            since: now,
                            grace: Duration::ZERO,
                            then: AfterStop::Stay,
                        };
                        actions.push(Action::Kill {
                            key: instance.key.clone(),
                        });
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
        for i in 0..self.instances.len() {
            match &mut self.instances[i].status {
                Status::Running { .. } => self.stop(i, AfterStop::Stay, now, actions),
                Status::Backoff => self.instances[i].status = Status::Ended,
                Status::Stopping { then, .. } => *then = AfterStop::Stay,
                Status::Starting { then } => *then = Some(AfterStop::Stay),
                Status::Idle | Status::Ended => {}
            }
        }
    }
}
