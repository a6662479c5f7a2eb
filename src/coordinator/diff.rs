//! The difference between two manifests, per instance: what a reload must add, restart and
//! remove. Pure: `diff(old, new)` looks at nothing but its arguments.
//!
//! Instances are matched by [`InstanceKey`] (process name and instance number), so a renamed
//! process is a removal plus an addition, and scaling `web` from 2 to 3 instances adds `web.3`
//! without touching `web.1` and `web.2`. Two specs are the same when everything that affects
//! the running process is equal: command, cwd, environment after expansion, stop signal and
//! grace, restart policy and so on. The display name is left out of that comparison: going
//! from one instance (`web`) to two (`web.1`, `web.2`) does not restart the first one, which
//! keeps the label it was started with until it next starts.

use std::collections::BTreeMap;

use crate::manifest::{InstanceSpec, Manifest};

use super::event::InstanceKey;

/// What a reload changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadPlan {
    /// Instances that are new, in manifest order.
    pub added: Vec<InstanceSpec>,
    /// Instances whose effective spec changed (the new specs), in manifest order.
    pub changed: Vec<InstanceSpec>,
    /// Instances that are gone, in the old manifest's order.
    pub removed: Vec<InstanceKey>,
    /// Instances whose only change is their display name (the new specs).
    pub relabeled: Vec<InstanceSpec>,
}

impl ReloadPlan {
    /// Whether the reload changes nothing that runs.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// Compares two manifests instance by instance.
pub fn diff(old: &Manifest, new: &Manifest) -> ReloadPlan {
    let old_specs: BTreeMap<InstanceKey, &InstanceSpec> = old
        .instances()
        .map(|spec| (InstanceKey::of(spec), spec))
        .collect();
    let new_keys: std::collections::BTreeSet<InstanceKey> =
        new.instances().map(InstanceKey::of).collect();

    let mut plan = ReloadPlan::default();
    for spec in new.instances() {
        match old_specs.get(&InstanceKey::of(spec)) {
            None => plan.added.push(spec.clone()),
            Some(old_spec) if !old_spec.runs_same_as(spec) => plan.changed.push(spec.clone()),
            Some(old_spec) if old_spec.display_name != spec.display_name => {
                plan.relabeled.push(spec.clone());
            }
            Some(_) => {}
        }
    }
    plan.removed = old
        .instances()
        .map(InstanceKey::of)
        .filter(|key| !new_keys.contains(key))
        .collect();
    plan
}
