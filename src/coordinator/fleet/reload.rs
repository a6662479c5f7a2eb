//! Applying a reloaded manifest to the fleet: the plan of [`diff`], instance by instance, and
//! the queue of reloads that arrive while one is still stopping instances.

use std::time::Instant;

use crate::manifest::{InstanceSpec, Manifest};

use super::super::diff::diff;
use super::super::event::{Action, InstanceKey};
use super::super::messages;
use super::super::restart::RestartTracker;
use super::{AfterStop, Fleet, Instance, Status};

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
                removed_names.push(self.instances[i].spec.display_name.clone());
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
                if !matches!(self.instances[i].status, Status::Running { .. }) {
                    self.instances[i]
                        .spec
                        .display_name
                        .clone_from(&spec.display_name);
                }
            }
        }
        for spec in &plan.added {
            let generation = self.new_generation();
            let position = self.insertion_point(&manifest, spec);
            self.instances.insert(
                position,
                Instance {
                    key: InstanceKey::of(spec),
                    spec: spec.clone(),
                    generation,
                    status: Status::Idle,
                    restarts: RestartTracker::default(),
                },
            );
            if self.should_run(spec) {
                actions.push(self.start_instance(position));
            }
        }
        actions.push(Action::Print(messages::reload_summary(
            &plan.added.iter().map(display).collect::<Vec<_>>(),
            &plan.changed.iter().map(display).collect::<Vec<_>>(),
            &removed_names,
        )));
        self.manifest = manifest;
    }

    /// Stops an instance for a reload, or applies `then` at once if it is not running.
    fn retire(&mut self, i: usize, then: AfterStop, now: Instant, actions: &mut Vec<Action>) {
        match &mut self.instances[i].status {
            Status::Running { .. } => self.stop(i, then, now, actions),
            Status::Starting { then: after } => *after = Some(then),
            Status::Stopping { then: after, .. } => *after = then,
            Status::Idle | Status::Ended | Status::Backoff => match then {
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
                    self.instances[i].status = Status::Idle;
                    if self.should_run(&self.instances[i].spec) {
                        actions.push(self.start_instance(i));
                    }
                }
                AfterStop::Stay => {}
            },
        }
    }

    /// Where a new instance goes so that the list keeps the new manifest's order.
    fn insertion_point(&self, manifest: &Manifest, spec: &InstanceSpec) -> usize {
        let order: Vec<InstanceKey> = manifest.instances().map(InstanceKey::of).collect();
        let rank = |key: &InstanceKey| order.iter().position(|k| k == key);
        let new_rank = rank(&InstanceKey::of(spec));
        self.instances
            .iter()
            .position(|instance| rank(&instance.key) > new_rank)
            .unwrap_or(self.instances.len())
    }

    pub(super) fn replace_spec(&mut self, i: usize, spec: InstanceSpec) {
        let generation = self.new_generation();
        let instance = &mut self.instances[i];
        instance.spec = spec;
        instance.generation = generation;
        instance.restarts = RestartTracker::default();
    }

    pub(super) fn reload_in_progress(&self) -> bool {
        self.instances.iter().any(|i| match &i.status {
            Status::Stopping { then, .. } => *then != AfterStop::Stay,
            Status::Starting { then } => then.as_ref().is_some_and(|t| *t != AfterStop::Stay),
            _ => false,
        })
    }
}
