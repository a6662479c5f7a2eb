//! Applying a reloaded manifest to the fleet: the plan of [`diff`], instance by instance; new
//! and replaced instances held until every instance the reload stops has ended; and the queue
//! of reloads that arrive while one is still stopping instances.

use std::time::Instant;

use crate::manifest::{InstanceSpec, Manifest};

use super::super::diff::diff;
use super::super::event::{Action, InstanceKey};
use super::super::messages::Message;
use super::super::restart::RestartTracker;
use super::Fleet;
use super::instance::{AfterStop, Instance, Status};

impl Fleet {
    pub(super) fn apply_reload(
        &mut self,
        manifest: Manifest,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let plan = diff(&self.manifest, &manifest);
        let display = |spec: &InstanceSpec| spec.display_name.clone();
        let mut removed_names = Vec::new();
        for key in &plan.removed {
            if let Some(i) = self.find(key) {
                removed_names.push(self.instances[i].name().to_owned());
                self.retire(i, AfterStop::Remove, now, actions);
            }
        }
        for spec in &plan.changed {
            if let Some(i) = self.find(&InstanceKey::of(spec)) {
                self.retire(i, AfterStop::Replace(Box::new(spec.clone())), now, actions);
            }
        }
        for spec in &plan.relabeled {
            if let Some(i) = self.find(&InstanceKey::of(spec)) {
                // A running process keeps the label it started with; the next start uses
                // the new one.
                if !self.instances[i].status.is_busy() {
                    self.instances[i]
                        .spec
                        .display_name
                        .clone_from(&spec.display_name);
                }
            }
        }
        // Watch globs change without a restart. One that waited for a change to its files
        // and watches none any more has simply ended.
        for spec in manifest.instances() {
            if let Some(i) = self.find(&InstanceKey::of(spec)) {
                let instance = &mut self.instances[i];
                instance.spec.watch.clone_from(&spec.watch);
                instance.spec.watch_ignore.clone_from(&spec.watch_ignore);
                if spec.watch.is_empty() && std::mem::take(&mut instance.waiting_for_change) {
                    let end = instance.last_end;
                    if let Some(end) = end {
                        self.record_failure(&end);
                    }
                }
            }
        }
        let old = std::mem::replace(&mut self.manifest, manifest);
        self.manifest_version += 1;
        let wanted = self.wanted_processes();
        for spec in &plan.added {
            let generation = self.new_generation();
            let position = self.insertion_point(spec);
            let mut instance = Instance::new(spec.clone(), generation);
            if wanted.contains(&spec.process) {
                instance.wanted = true;
                instance.held_by_reload = true;
                instance.status = Status::Waiting;
            }
            self.instances.insert(position, instance);
        }
        // A process that became needed (a new dependency on it) starts too.
        for instance in &mut self.instances {
            if wanted.contains(&instance.spec.process)
                && !instance.wanted
                && !instance.stopped_by_request
                && instance.status == Status::Idle
            {
                instance.wanted = true;
                instance.held_by_reload = true;
                instance.status = Status::Waiting;
            }
        }
        drop(old);
        actions.push(Action::Say(Message::ReloadSummary {
            added: plan.added.iter().map(display).collect(),
            changed: plan.changed.iter().map(display).collect(),
            removed: removed_names,
        }));
    }

    /// Stops an instance for a reload, or applies `then` at once if it is not running.
    fn retire(&mut self, i: usize, then: AfterStop, now: Instant, actions: &mut Vec<Action>) {
        match &mut self.instances[i].status {
            Status::Running { .. } => self.stop(i, then, now, actions),
            Status::Starting { then: after } => *after = Some(then),
            Status::Stopping { then: after, .. } => *after = then,
            Status::Idle | Status::Ended | Status::Backoff | Status::Waiting => {
                if self.instances[i].status == Status::Backoff {
                    actions.push(self.instances[i].cancel_restart());
                }
                match then {
                    AfterStop::Remove => {
                        actions.push(Action::Forget {
                            key: self.instances[i].key.clone(),
                        });
                        self.instances.remove(i);
                    }
                    AfterStop::Replace(spec) => {
                        actions.push(Action::Forget {
                            key: self.instances[i].key.clone(),
                        });
                        self.replace_spec(i, *spec);
                        let instance = &mut self.instances[i];
                        instance.held_by_reload = true;
                        // Changed while it did not run (it crashed, or waits): the new spec
                        // gets its chance, unless it was stopped by request.
                        instance.status = if instance.wanted && !instance.stopped_by_request {
                            Status::Waiting
                        } else {
                            Status::Idle
                        };
                    }
                    AfterStop::Stay | AfterStop::Restart | AfterStop::Fail => {}
                }
            }
        }
    }

    /// Where a new instance goes so that the list keeps the (new) manifest's order.
    fn insertion_point(&self, spec: &InstanceSpec) -> usize {
        let order: Vec<InstanceKey> = self.manifest.instances().map(InstanceKey::of).collect();
        let rank = |key: &InstanceKey| order.iter().position(|k| k == key);
        let new_rank = rank(&InstanceKey::of(spec));
        self.instances
            .iter()
            .position(|instance| rank(&instance.key) > new_rank)
            .unwrap_or(self.instances.len())
    }

    pub(super) fn replace_spec(&mut self, i: usize, spec: InstanceSpec) {
        let generation = self.new_generation();
        self.instances[i].renew(spec, generation);
        self.instances[i].restarts = RestartTracker::default();
    }

    /// Whether a reload is still stopping instances it removes or replaces.
    pub(super) fn reload_in_progress(&self) -> bool {
        self.instances.iter().any(|i| match &i.status {
            Status::Stopping { then, .. } => then.is_reload(),
            Status::Starting { then } => then.as_ref().is_some_and(AfterStop::is_reload),
            _ => false,
        })
    }
}
