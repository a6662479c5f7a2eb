//! Unit tests of [`Fleet`]: every decision, with no process spawned and made-up instants. The
//! harness plays the runner: it hands events in and keeps the generation of each start.

use std::collections::BTreeMap;
use std::num::NonZeroI64;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::manifest::{
    Condition, Dependency, InstanceSpec, Manifest, ProcessCommand, ProcessSpec, ReadyCheck,
    ReadyKind, RestartPolicy, Settings,
};
use crate::supervisor::{ProcessEnd, Signal};

use super::super::event::{
    Action, ControlOutcome, ControlVerb, Event, InstanceKey, Reloaded, TimerKey, TimerPurpose,
};
use super::Fleet;

mod basics;
mod control;
mod dependencies;
mod reload;
mod watch;

pub(super) fn spec(process: &str) -> InstanceSpec {
    InstanceSpec {
        process: process.to_owned(),
        index: 1,
        display_name: process.to_owned(),
        command: ProcessCommand::Shell {
            shell: "sh".into(),
            command: format!("run {process}"),
        },
        cwd: PathBuf::from("/project"),
        env: BTreeMap::new(),
        stop_signal: Signal::Terminate,
        stop_timeout: Duration::from_secs(5),
        restart: RestartPolicy::No,
        max_restarts: None,
        can_die: false,
        autostart: true,
        color: None,
        depends_on: Vec::new(),
        ready: None,
        watch: Vec::new(),
        watch_ignore: Vec::new(),
    }
}

/// `spec` depending on `(process, condition)` pairs.
pub(super) fn needs(process: &str, on: &[(&str, Condition)]) -> InstanceSpec {
    let mut spec = spec(process);
    spec.depends_on = on
        .iter()
        .map(|(name, condition)| Dependency {
            process: (*name).to_owned(),
            condition: *condition,
        })
        .collect();
    spec
}

/// `spec` with a tcp readiness check.
pub(super) fn checked(process: &str) -> InstanceSpec {
    let mut spec = spec(process);
    spec.ready = Some(ReadyCheck {
        kind: ReadyKind::Tcp {
            host: "127.0.0.1".into(),
            port: 5432,
        },
        initial_delay: Duration::ZERO,
        interval: Duration::from_millis(250),
        attempt_timeout: Duration::from_secs(1),
        timeout: Duration::from_secs(60),
    });
    spec
}

pub(super) fn manifest(specs: Vec<InstanceSpec>) -> Manifest {
    let mut processes: Vec<ProcessSpec> = Vec::new();
    for spec in specs {
        match processes.iter_mut().find(|p| p.name == spec.process) {
            Some(process) => process.instances.push(spec),
            None => processes.push(ProcessSpec {
                name: spec.process.clone(),
                index: processes.len(),
                instances: vec![spec],
            }),
        }
    }
    Manifest {
        settings: Settings {
            root: PathBuf::from("/project"),
            timestamps: None,
            watch_debounce: Duration::from_millis(100),
            env: BTreeMap::new(),
        },
        processes,
    }
}

pub(super) fn reloaded(specs: Vec<InstanceSpec>) -> Event {
    Event::ManifestChanged(Box::new(Ok(Reloaded {
        manifest: manifest(specs),
        warnings: Vec::new(),
    })))
}

pub(super) fn key(process: &str) -> InstanceKey {
    InstanceKey {
        process: process.to_owned(),
        index: 1,
    }
}

pub(super) fn code(n: i64) -> ProcessEnd {
    ProcessEnd::ExitError(NonZeroI64::new(n).expect("test codes are not zero"))
}

pub(super) const TERMINATED: ProcessEnd = ProcessEnd::ExitSignal(Signal::Terminate);

/// A fleet and the generation of each instance's last start.
pub(super) struct Harness {
    pub(super) fleet: Fleet,
    pub(super) now: Instant,
    generations: BTreeMap<String, u64>,
    pid: u32,
    next_id: u64,
}

impl Harness {
    /// A fleet with what starts at once started and spawned.
    pub(super) fn running(specs: Vec<InstanceSpec>) -> Self {
        let mut harness = Self::new(specs, &[]);
        let started = harness.start();
        for name in starts(&started) {
            harness.spawned(&name);
        }
        harness
    }

    pub(super) fn new(specs: Vec<InstanceSpec>, selection: &[&str]) -> Self {
        let selection: Vec<String> = selection.iter().map(|s| (*s).to_owned()).collect();
        Self {
            fleet: Fleet::new(manifest(specs), &selection),
            now: Instant::now(),
            generations: BTreeMap::new(),
            pid: 100,
            next_id: 1,
        }
    }

    pub(super) fn start(&mut self) -> Vec<Action> {
        let actions = self.fleet.start();
        self.note(&actions);
        actions
    }

    fn note(&mut self, actions: &[Action]) {
        for action in actions {
            if let Action::Start { spec, generation } = action {
                self.generations.insert(spec.process.clone(), *generation);
            }
        }
    }

    pub(super) fn handle(&mut self, event: Event) -> Vec<Action> {
        let actions = self.fleet.handle(event, self.now);
        self.note(&actions);
        actions
    }

    pub(super) fn generation(&self, process: &str) -> u64 {
        self.generations[process]
    }

    pub(super) fn spawned(&mut self, process: &str) -> Vec<Action> {
        let generation = self.generation(process);
        self.pid += 1;
        let (pid, at) = (self.pid, self.now);
        self.handle(Event::Spawned {
            key: key(process),
            generation,
            pid,
            at,
        })
    }

    pub(super) fn exited(&mut self, process: &str, end: ProcessEnd) -> Vec<Action> {
        self.ended(process, end, false)
    }

    pub(super) fn ended(&mut self, process: &str, end: ProcessEnd, killed: bool) -> Vec<Action> {
        let generation = self.generation(process);
        let at = self.now;
        self.handle(Event::Exited {
            key: key(process),
            generation,
            end,
            at,
            killed,
        })
    }

    pub(super) fn ready(&mut self, process: &str) -> Vec<Action> {
        let generation = self.generation(process);
        self.handle(Event::Ready {
            key: key(process),
            generation,
            after: Duration::from_millis(1300),
        })
    }

    pub(super) fn restart_due(&mut self, process: &str) -> Vec<Action> {
        let generation = self.generation(process);
        self.handle(Event::Timer(TimerKey {
            key: key(process),
            generation,
            purpose: TimerPurpose::Restart,
        }))
    }

    /// Sends a control request; returns its id and the actions.
    pub(super) fn control(&mut self, verb: ControlVerb) -> (u64, Vec<Action>) {
        let id = self.next_id;
        self.next_id += 1;
        (id, self.handle(Event::Control { id, verb }))
    }

    pub(super) fn advance(&mut self, by: Duration) {
        self.now += by;
    }
}

/// The display names started by these actions, in order.
pub(super) fn starts(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Start { spec, .. } => Some(spec.display_name.clone()),
            _ => None,
        })
        .collect()
}

/// The instances sent a graceful stop, in order.
pub(super) fn stops(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Stop { key, .. } => Some(key.process.clone()),
            _ => None,
        })
        .collect()
}

/// The system lines, as the terminal shows them.
pub(super) fn said(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Say(message) => Some(message.to_string()),
            _ => None,
        })
        .collect()
}

/// The exit code, if the actions exit.
pub(super) fn exit(actions: &[Action]) -> Option<i32> {
    actions.iter().find_map(|a| match a {
        Action::Exit(code) => Some(*code),
        _ => None,
    })
}

/// The answer to request `id`, if given.
pub(super) fn reply(actions: &[Action], id: u64) -> Option<ControlOutcome> {
    actions.iter().find_map(|a| match a {
        Action::Reply { id: i, outcome } if *i == id => Some(outcome.clone()),
        _ => None,
    })
}

pub(super) fn stop(process: &str) -> Action {
    Action::Stop {
        key: key(process),
        signal: Signal::Terminate,
        grace: Duration::from_secs(5),
    }
}
