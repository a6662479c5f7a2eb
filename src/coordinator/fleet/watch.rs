//! Restarts on file change: a change to a watched file restarts the process gracefully (its
//! own stop signal and grace), is not a failure (the restart budget starts over), brings back
//! a watched process that ended, and a process restarted by changes too often is paused (it
//! probably writes the files it watches) until a change comes after a quiet time (the
//! [`LoopGuard`](crate::watch::LoopGuard) rule, one per instance).

use std::time::Instant;

use crate::watch::Verdict;

use super::super::event::Action;
use super::super::messages::Message;
use super::instance::{AfterStop, Status};
use super::{Fleet, Phase};

impl Fleet {
    pub(super) fn on_files_changed(
        &mut self,
        process: &str,
        paths: &[std::path::PathBuf],
        more: usize,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        if self.phase != Phase::Running {
            return;
        }
        let more = more + paths.len().saturating_sub(1);
        for i in 0..self.instances.len() {
            if self.instances[i].spec.process != process
                || !self.instances[i].wanted
                || self.instances[i].spec.watch.is_empty()
            {
                continue;
            }
            // Shown relative to the cwd the globs are relative to.
            let path = paths.first().map_or_else(String::new, |path| {
                let cwd = &self.instances[i].spec.cwd;
                path.strip_prefix(cwd).unwrap_or(path).display().to_string()
            });
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
                    actions.push(instance.cancel_restart());
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
        match self.instances[i].watch.on_change(now) {
            Verdict::Restart => true,
            Verdict::Ignore => false,
            Verdict::Pause => {
                actions.push(Action::Say(Message::WatchPaused {
                    name: self.instances[i].name().to_owned(),
                    path: path.to_owned(),
                }));
                false
            }
        }
    }
}
