//! Restarts on file change: a change to a watched file restarts the process gracefully (its
//! own stop signal and grace), is not a failure (the restart budget starts over), brings back
//! a watched process that ended, and a process restarted by changes more than
//! [`LOOP_LIMIT`] times within [`LOOP_SPAN`] is paused (it probably writes the files it
//! watches) until a change comes after [`LOOP_QUIET`] without any.

use std::time::{Duration, Instant};

use super::super::event::{Action, TimerKey, TimerPurpose};
use super::super::messages::Message;
use super::instance::{AfterStop, Status};
use super::{Fleet, Phase, at_least};

/// More restarts by change than this within [`LOOP_SPAN`] pause the process.
pub const LOOP_LIMIT: usize = 10;
/// The span of the loop protection.
pub const LOOP_SPAN: Duration = Duration::from_secs(10);
/// A paused process resumes on a change that follows this long without changes.
pub const LOOP_QUIET: Duration = Duration::from_secs(1);

impl Fleet {
    pub(super) fn on_files_changed(
        &mut self,
        process: &str,
        paths: &[String],
        more: usize,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        if self.phase != Phase::Running {
            return;
        }
        let path = paths.first().cloned().unwrap_or_default();
        let more = more + paths.len().saturating_sub(1);
        for i in 0..self.instances.len() {
            if self.instances[i].spec.process != process
                || !self.instances[i].wanted
                || self.instances[i].spec.watch.is_empty()
            {
                continue;
            }
            if !self.loop_guard_allows(i, &path, now, actions) {
                continue;
            }
            let name = self.instances[i].name().to_owned();
            let acted = match self.instances[i].status.clone() {
                Status::Running { .. } => {
                    self.stop(i, AfterStop::Restart, now, actions);
                    true
                }
                Status::Starting { then: None } => {
                    self.instances[i].status = Status::Starting {
                        then: Some(AfterStop::Restart),
                    };
                    true
                }
                Status::Backoff => {
                    let instance = &mut self.instances[i];
                    actions.push(Action::CancelTimer(TimerKey {
                        key: instance.key.clone(),
                        generation: instance.generation,
                        purpose: TimerPurpose::Restart,
                    }));
                    instance.status = Status::Waiting;
                    true
                }
                Status::Ended => {
                    self.instances[i].status = Status::Waiting;
                    true
                }
                Status::Starting { .. }
                | Status::Stopping { .. }
                | Status::Waiting
                | Status::Idle => false,
            };
            if acted {
                let instance = &mut self.instances[i];
                instance.waiting_for_change = false;
                instance.restarts = Default::default();
                instance.watch.restarts.push_back(now);
                actions.push(Action::Say(Message::ChangedRestarting {
                    name,
                    path: path.clone(),
                    more,
                }));
            }
        }
    }

    /// The loop protection: whether a change may restart instance `i` now.
    fn loop_guard_allows(
        &mut self,
        i: usize,
        path: &str,
        now: Instant,
        actions: &mut Vec<Action>,
    ) -> bool {
        let name = self.instances[i].name().to_owned();
        let record = &mut self.instances[i].watch;
        let previous = record.last_change.replace(now);
        if record.paused {
            let quiet = previous.is_none_or(|last| at_least(now, last, LOOP_QUIET));
            if !quiet {
                return false;
            }
            record.paused = false;
            record.restarts.clear();
        }
        while record
            .restarts
            .front()
            .is_some_and(|&at| at_least(now, at, LOOP_SPAN))
        {
            record.restarts.pop_front();
        }
        if record.restarts.len() >= LOOP_LIMIT {
            record.paused = true;
            actions.push(Action::Say(Message::WatchPaused {
                name,
                path: path.to_owned(),
            }));
            return false;
        }
        true
    }
}
