//! Which instances run and when they start: the wanted set (the selection or `autostart`, and
//! transitively what those depend on) and the dependency gate.

use crate::manifest::{Condition, Dependency};
use std::collections::BTreeSet;

use super::super::event::Action;
use super::super::messages::Message;
use super::instance::Status;
use super::{Fleet, Phase};

/// Where an instance's dependencies stand.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Gate {
    /// Every dependency meets its condition.
    Open,
    /// Some do not yet (the unmet ones, in `depends_on` order).
    Waiting(Vec<(String, Condition)>),
    /// One never will: it ended for good before meeting its condition.
    Blocked(String),
}

impl Fleet {
    /// The processes that should run: the selection (or every process with an autostart
    /// instance) and, transitively, every process they depend on.
    pub(super) fn wanted_processes(&self) -> BTreeSet<String> {
        let roots: Vec<String> = match &self.selection {
            Some(names) => names.iter().cloned().collect(),
            None => self
                .manifest
                .processes
                .iter()
                .filter(|p| p.instances.iter().any(|i| i.autostart))
                .map(|p| p.name.clone())
                .collect(),
        };
        self.with_dependencies(roots)
    }

    /// `roots` and everything they depend on, transitively.
    pub(super) fn with_dependencies(&self, roots: Vec<String>) -> BTreeSet<String> {
        let mut wanted = BTreeSet::new();
        let mut todo = roots;
        while let Some(name) = todo.pop() {
            if !wanted.insert(name.clone()) {
                continue;
            }
            if let Some(process) = self.manifest.process(&name) {
                for instance in &process.instances {
                    todo.extend(instance.depends_on.iter().map(|d| d.process.clone()));
                }
            }
        }
        wanted
    }

    /// Starts every waiting instance whose gate is open, in manifest order; marks those that
    /// are blocked for good as ended, and says once what each waiting one waits for.
    pub(super) fn advance(&mut self, actions: &mut Vec<Action>) {
        if self.phase != Phase::Running {
            return;
        }
        let reloading = self.reload_in_progress();
        // A start can open the gate of a later instance (`started` conditions), and a block
        // can block another: go round until nothing changes.
        loop {
            let mut changed = false;
            for i in 0..self.instances.len() {
                if self.instances[i].status != Status::Waiting
                    || (reloading && self.instances[i].held_by_reload)
                {
                    continue;
                }
                match self.gate(i) {
                    Gate::Open => {
                        self.instances[i].held_by_reload = false;
                        actions.push(self.start_instance(i));
                        changed = true;
                    }
                    Gate::Blocked(because) => {
                        let instance = &mut self.instances[i];
                        instance.status = Status::Ended;
                        actions.push(Action::Say(Message::WillNotStart {
                            name: instance.name().to_owned(),
                            because,
                        }));
                        changed = true;
                    }
                    Gate::Waiting(on) => {
                        let instance = &mut self.instances[i];
                        if !instance.said_waiting {
                            instance.said_waiting = true;
                            actions.push(Action::Say(Message::Waiting {
                                name: instance.name().to_owned(),
                                on,
                            }));
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Where instance `i`'s dependencies stand.
    pub(super) fn gate(&self, i: usize) -> Gate {
        let mut unmet = Vec::new();
        for dependency in &self.instances[i].spec.depends_on {
            match self.dependency_state(dependency) {
                Gate::Open => {}
                Gate::Blocked(because) => return Gate::Blocked(because),
                Gate::Waiting(_) => unmet.push((dependency.process.clone(), dependency.condition)),
            }
        }
        if unmet.is_empty() {
            Gate::Open
        } else {
            Gate::Waiting(unmet)
        }
    }

    /// Whether every instance of the dependency's process meets its condition.
    fn dependency_state(&self, dependency: &Dependency) -> Gate {
        let mut waiting = false;
        for instance in self
            .instances
            .iter()
            .filter(|i| i.spec.process == dependency.process)
        {
            let met = match dependency.condition {
                Condition::Started => instance.spawned,
                Condition::Ready => instance.ready && instance.status.is_busy(),
                Condition::Completed => instance.completed && instance.status == Status::Ended,
            };
            if met {
                continue;
            }
            // Ended by itself for good: it will not meet the condition unless someone asks.
            if instance.status == Status::Ended
                && !instance.stopped_by_request
                && !instance.waiting_for_change
            {
                let name = instance.name();
                let because = match (dependency.condition, &instance.last_end) {
                    (Condition::Completed, Some(end)) if !end.is_success() => {
                        format!("{name} {}", exit_words(end))
                    }
                    (Condition::Started, _) => format!("{name} did not start"),
                    (Condition::Ready, Some(end)) => {
                        format!("{name} {} before it was ready", exit_words(end))
                    }
                    (condition, _) => format!("{name} ended before it was {}", condition.as_str()),
                };
                return Gate::Blocked(because);
            }
            waiting = true;
        }
        if waiting {
            Gate::Waiting(Vec::new())
        } else {
            Gate::Open
        }
    }

    pub(super) fn start_instance(&mut self, i: usize) -> Action {
        let instance = &mut self.instances[i];
        instance.status = Status::Starting { then: None };
        instance.said_waiting = false;
        Action::Start {
            spec: Box::new(instance.spec.clone()),
            generation: instance.generation,
        }
    }

    /// Makes instance `i` and, transitively, what it depends on wanted, and puts those that do
    /// not run in the waiting state (a restart by request of an idle or ended instance).
    pub(super) fn want_with_dependencies(&mut self, i: usize) {
        let names = self.with_dependencies(vec![self.instances[i].spec.process.clone()]);
        let own = self.instances[i].key.clone();
        for instance in &mut self.instances {
            let is_self = instance.key == own;
            if !is_self && !names.contains(&instance.spec.process) {
                continue;
            }
            // Other instances of the same process are not restarted by a request for one.
            if !is_self && instance.spec.process == own.process {
                continue;
            }
            if is_self || !instance.wanted || matches!(instance.status, Status::Idle) {
                instance.wanted = true;
                instance.stopped_by_request = false;
                if matches!(instance.status, Status::Idle | Status::Ended) {
                    if !is_self && instance.status == Status::Ended && instance.completed {
                        // A one-shot that completed stays done.
                        continue;
                    }
                    instance.status = Status::Waiting;
                    instance.waiting_for_change = false;
                }
            }
        }
    }
}

/// `exited with code 1`, `exited with signal SIGKILL`.
fn exit_words(end: &crate::supervisor::ProcessEnd) -> String {
    let line = Message::Exited {
        name: String::new(),
        end: *end,
    }
    .to_string();
    line.trim_start().to_owned()
}
