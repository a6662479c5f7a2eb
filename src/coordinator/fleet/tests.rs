//! Unit tests of [`Fleet`]: every decision, with no process spawned and made-up instants.

use std::collections::BTreeMap;
use std::num::NonZeroI64;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::manifest::{
    InstanceSpec, Manifest, ProcessCommand, ProcessSpec, RestartPolicy, Settings,
};
use crate::supervisor::{ProcessEnd, Signal};

use super::super::event::{Action, Event, InstanceKey};
use super::Fleet;

fn spec(process: &str) -> InstanceSpec {
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

fn manifest(specs: Vec<InstanceSpec>) -> Manifest {
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
        },
        processes,
    }
}

fn key(process: &str) -> InstanceKey {
    InstanceKey {
        process: process.to_owned(),
        index: 1,
    }
}

fn code(n: i64) -> ProcessEnd {
    ProcessEnd::ExitError(NonZeroI64::new(n).expect("test codes are not zero"))
}

/// A fleet with its instances started and spawned; returns it with the generation of each.
struct Harness {
    fleet: Fleet,
    now: Instant,
    generations: BTreeMap<String, u64>,
}

impl Harness {
    fn running(specs: Vec<InstanceSpec>) -> Self {
        let mut harness = Self::new(specs, &[]);
        let started = harness.start();
        for action in started {
            if let Action::Start { spec, .. } = action {
                harness.spawned(&spec.process);
            }
        }
        harness
    }

    fn new(specs: Vec<InstanceSpec>, selection: &[&str]) -> Self {
        let selection: Vec<String> = selection.iter().map(|s| (*s).to_owned()).collect();
        Self {
            fleet: Fleet::new(manifest(specs), &selection),
            now: Instant::now(),
            generations: BTreeMap::new(),
        }
    }

    fn start(&mut self) -> Vec<Action> {
        let actions = self.fleet.start();
        self.note_generations(&actions);
        actions
    }

    fn note_generations(&mut self, actions: &[Action]) {
        for action in actions {
            if let Action::Start { spec, generation } = action {
                self.generations.insert(spec.process.clone(), *generation);
            }
        }
    }

    fn handle(&mut self, event: Event) -> Vec<Action> {
        let actions = self.fleet.handle(event, self.now);
        self.note_generations(&actions);
        actions
    }

    fn generation(&self, process: &str) -> u64 {
        self.generations[process]
    }

    fn spawned(&mut self, process: &str) -> Vec<Action> {
        let generation = self.generation(process);
        let at = self.now;
        self.handle(Event::Spawned {
            key: key(process),
            generation,
            at,
        })
    }

    fn exited(&mut self, process: &str, end: ProcessEnd) -> Vec<Action> {
        let generation = self.generation(process);
        let at = self.now;
        self.handle(Event::Exited {
            key: key(process),
            generation,
            end,
            at,
        })
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
    }
}

fn stop(process: &str) -> Action {
    Action::Stop {
        key: key(process),
        signal: Signal::Terminate,
        grace: Duration::from_secs(5),
    }
}

fn print(text: &str) -> Action {
    Action::Print(text.to_owned())
}

fn forget(process: &str) -> Action {
    Action::Forget { key: key(process) }
}

fn started_processes(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Start { spec, .. } => Some(spec.display_name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn starts_autostart_instances_in_manifest_order() {
    let mut manual = spec("manual");
    manual.autostart = false;
    let mut harness = Harness::new(vec![spec("web"), manual, spec("worker")], &[]);
    assert_eq!(started_processes(&harness.start()), ["web", "worker"]);
}

#[test]
fn named_processes_start_even_without_autostart_and_alone() {
    let mut manual = spec("manual");
    manual.autostart = false;
    let mut harness = Harness::new(vec![spec("web"), manual, spec("worker")], &["manual"]);
    assert_eq!(started_processes(&harness.start()), ["manual"]);
}

#[test]
fn one_process_ending_stops_the_others_and_gives_its_code() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let actions = harness.exited("web", code(3));
    assert_eq!(
        actions,
        [
            print("web exited with code 3"),
            forget("web"),
            print("web ended: stopping all processes"),
            stop("worker"),
        ]
    );
    let actions = harness.exited("worker", ProcessEnd::ExitSignal(Signal::Terminate));
    assert_eq!(
        actions,
        [
            print("worker exited with signal SIGTERM"),
            forget("worker"),
            Action::Exit(3)
        ]
    );
}

#[test]
fn a_process_killed_by_a_signal_gives_128_plus_n() {
    let mut harness = Harness::running(vec![spec("web")]);
    let actions = harness.exited("web", ProcessEnd::ExitSignal(Signal::ForceStop));
    assert_eq!(actions.last(), Some(&Action::Exit(137)));
}

#[test]
fn can_die_lets_the_rest_run_and_its_failure_is_the_code_at_the_end() {
    let mut dies = spec("dies");
    dies.can_die = true;
    let mut also = spec("also");
    also.can_die = true;
    let mut harness = Harness::running(vec![dies, also]);
    let actions = harness.exited("dies", code(4));
    assert_eq!(actions, [print("dies exited with code 4"), forget("dies")]);
    let actions = harness.exited("also", ProcessEnd::Success);
    assert_eq!(actions.last(), Some(&Action::Exit(4)));
}

#[test]
fn every_process_succeeding_gives_0() {
    let mut one = spec("one");
    one.can_die = true;
    let mut harness = Harness::running(vec![one]);
    let actions = harness.exited("one", ProcessEnd::Success);
    assert_eq!(actions.last(), Some(&Action::Exit(0)));
}

#[test]
fn a_signal_stops_everything_with_128_plus_n_and_a_second_kills() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let actions = harness.handle(Event::Signal(Signal::Interrupt));
    assert_eq!(
        actions,
        [
            print("received SIGINT: stopping all processes (again to kill at once)"),
            stop("web"),
            stop("worker"),
        ]
    );
    let actions = harness.handle(Event::Signal(Signal::Interrupt));
    assert_eq!(
        actions,
        [
            print("received SIGINT again: killing all processes"),
            Action::Kill { key: key("web") },
            Action::Kill { key: key("worker") },
        ]
    );
    // A third signal changes nothing.
    assert_eq!(harness.handle(Event::Signal(Signal::Interrupt)), []);
    harness.exited("web", ProcessEnd::ExitSignal(Signal::ForceStop));
    let actions = harness.exited("worker", ProcessEnd::ExitSignal(Signal::ForceStop));
    assert_eq!(actions.last(), Some(&Action::Exit(130)));
}

#[test]
fn sigterm_and_sighup_give_143_and_129() {
    for (signal, expected) in [(Signal::Terminate, 143), (Signal::Hangup, 129)] {
        let mut harness = Harness::running(vec![spec("web")]);
        harness.handle(Event::Signal(signal));
        let actions = harness.exited("web", ProcessEnd::ExitSignal(Signal::Terminate));
        assert_eq!(actions.last(), Some(&Action::Exit(expected)));
    }
}

#[test]
fn an_exit_at_the_grace_by_sigkill_says_so() {
    let mut harness = Harness::running(vec![spec("web")]);
    harness.handle(Event::Signal(Signal::Interrupt));
    harness.advance(Duration::from_secs(5));
    let actions = harness.exited("web", ProcessEnd::ExitSignal(Signal::ForceStop));
    assert_eq!(
        actions[0],
        print("web did not stop within 5s; killed with SIGKILL")
    );
}

#[test]
fn a_closed_output_stops_everything_with_141() {
    let mut harness = Harness::running(vec![spec("web")]);
    let actions = harness.handle(Event::OutputClosed);
    assert!(actions.contains(&stop("web")));
    let actions = harness.exited("web", ProcessEnd::ExitSignal(Signal::Terminate));
    assert_eq!(actions.last(), Some(&Action::Exit(141)));
}

#[test]
fn on_failure_restarts_with_backoff_and_the_same_job() {
    let mut flaky = spec("flaky");
    flaky.restart = RestartPolicy::OnFailure;
    flaky.max_restarts = Some(2);
    let mut harness = Harness::running(vec![flaky, spec("web")]);
    let generation = harness.generation("flaky");
    for (attempt, delay) in [(1, 100), (2, 200)] {
        let actions = harness.exited("flaky", code(1));
        assert_eq!(
            actions,
            [
                print("flaky exited with code 1"),
                print(&format!(
                    "flaky restarting in {delay} ms (restart {attempt} of 2)"
                )),
                Action::ScheduleRestart {
                    key: key("flaky"),
                    generation,
                    delay: Duration::from_millis(delay),
                },
            ]
        );
        let actions = harness.handle(Event::RestartDue {
            key: key("flaky"),
            generation,
        });
        assert!(matches!(&actions[..], [Action::Start { generation: g, .. }] if *g == generation));
        harness.spawned("flaky");
    }
    let actions = harness.exited("flaky", code(1));
    assert_eq!(
        actions,
        [
            print("flaky exited with code 1"),
            print("flaky gave up after 2 restarts"),
            forget("flaky"),
            print("flaky ended: stopping all processes"),
            stop("web"),
        ]
    );
}

#[test]
fn a_shutdown_cancels_a_pending_restart() {
    let mut flaky = spec("flaky");
    flaky.restart = RestartPolicy::Always;
    let mut harness = Harness::running(vec![flaky]);
    harness.exited("flaky", code(1));
    let actions = harness.handle(Event::Signal(Signal::Interrupt));
    assert_eq!(actions.last(), Some(&Action::Exit(130)));
    let generation = harness.generation("flaky");
    let late = harness.handle(Event::RestartDue {
        key: key("flaky"),
        generation,
    });
    assert_eq!(late, []);
}

#[test]
fn a_failed_spawn_counts_as_exit_127() {
    let mut harness = Harness::new(vec![spec("ghost"), spec("web")], &[]);
    harness.start();
    harness.spawned("web");
    let generation = harness.generation("ghost");
    let actions = harness.handle(Event::SpawnFailed {
        key: key("ghost"),
        generation,
        error: "No such file or directory".into(),
    });
    assert_eq!(
        actions[0],
        print("ghost failed to start: No such file or directory")
    );
    assert!(actions.contains(&stop("web")));
    let actions = harness.exited("web", ProcessEnd::ExitSignal(Signal::Terminate));
    assert_eq!(actions.last(), Some(&Action::Exit(127)));
}

#[test]
fn a_process_spawned_during_shutdown_is_stopped_at_once() {
    let mut harness = Harness::new(vec![spec("web")], &[]);
    harness.start();
    let actions = harness.handle(Event::Signal(Signal::Interrupt));
    assert_eq!(actions.len(), 1, "nothing to stop yet: {actions:?}");
    assert_eq!(harness.spawned("web"), [stop("web")]);
}

#[test]
fn events_from_a_replaced_job_are_ignored() {
    let mut harness = Harness::running(vec![spec("web")]);
    let stale = harness.generation("web") + 1000;
    let actions = harness.handle(Event::Exited {
        key: key("web"),
        generation: stale,
        end: code(1),
        at: harness.now,
    });
    assert_eq!(actions, []);
}

#[test]
fn a_reload_restarts_only_the_changed_instance_after_it_stopped() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let mut changed = spec("worker");
    changed.command = ProcessCommand::Shell {
        shell: "sh".into(),
        command: "run worker --fast".into(),
    };
    let actions = harness.handle(Event::ManifestChanged(Box::new(Ok(manifest(vec![
        spec("web"),
        changed.clone(),
    ])))));
    assert_eq!(actions, [stop("worker"), print("reload: ~worker")]);
    let old_generation = harness.generation("worker");
    let actions = harness.exited("worker", ProcessEnd::ExitSignal(Signal::Terminate));
    assert_eq!(actions[0], print("worker exited with signal SIGTERM"));
    assert_eq!(actions[1], forget("worker"));
    match &actions[2..] {
        [Action::Start { spec, generation }] => {
            assert_eq!(**spec, changed);
            assert_ne!(*generation, old_generation);
        }
        other => panic!("expected the new worker to start: {other:?}"),
    }
}

#[test]
fn a_reload_adds_and_removes_instances() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let actions = harness.handle(Event::ManifestChanged(Box::new(Ok(manifest(vec![
        spec("web"),
        spec("api"),
    ])))));
    assert_eq!(actions[0], stop("worker"));
    assert_eq!(started_processes(&actions), ["api"]);
    assert_eq!(actions.last(), Some(&print("reload: +api -worker")));
    let actions = harness.exited("worker", ProcessEnd::ExitSignal(Signal::Terminate));
    assert_eq!(
        actions,
        [print("worker exited with signal SIGTERM"), forget("worker")]
    );
    assert_eq!(harness.fleet.display_name(&key("worker")), None);
}

#[test]
fn an_invalid_reload_prints_the_error_and_changes_nothing() {
    let mut harness = Harness::running(vec![spec("web")]);
    let actions = harness.handle(Event::ManifestChanged(Box::new(Err(
        "error: unknown key\n  --> procmux.toml:2:1".into(),
    ))));
    assert_eq!(
        actions,
        [
            print("reload: the manifest is invalid; keeping everything as it runs"),
            print("error: unknown key"),
            print("  --> procmux.toml:2:1"),
        ]
    );
}

#[test]
fn a_reload_during_a_reload_waits_and_applies_the_newest_once() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let mut worker2 = spec("worker");
    worker2.stop_timeout = Duration::from_secs(9);
    harness.handle(Event::ManifestChanged(Box::new(Ok(manifest(vec![
        spec("web"),
        worker2.clone(),
    ])))));
    let mut web2 = spec("web");
    web2.stop_timeout = Duration::from_secs(7);
    let mut web3 = spec("web");
    web3.stop_timeout = Duration::from_secs(8);
    for web in [web2, web3.clone()] {
        let queued = harness.handle(Event::ManifestChanged(Box::new(Ok(manifest(vec![
            web,
            worker2.clone(),
        ])))));
        assert_eq!(queued, [], "applied while the previous reload was busy");
    }
    let actions = harness.exited("worker", ProcessEnd::ExitSignal(Signal::Terminate));
    assert_eq!(started_processes(&actions), ["worker"]);
    assert_eq!(actions[actions.len() - 2], stop("web"));
    assert_eq!(actions.last(), Some(&print("reload: ~web")));
    harness.spawned("worker");
    let actions = harness.exited("web", ProcessEnd::ExitSignal(Signal::Terminate));
    match &actions[2..] {
        [Action::Start { spec, .. }] => assert_eq!(**spec, web3),
        other => panic!("expected web to start with the newest spec: {other:?}"),
    }
}

#[test]
fn a_reload_can_restart_a_process_that_had_ended() {
    let mut dies = spec("dies");
    dies.can_die = true;
    let mut harness = Harness::running(vec![dies.clone(), spec("web")]);
    harness.exited("dies", code(1));
    dies.command = ProcessCommand::Shell {
        shell: "sh".into(),
        command: "fixed".into(),
    };
    let actions = harness.handle(Event::ManifestChanged(Box::new(Ok(manifest(vec![
        dies,
        spec("web"),
    ])))));
    assert_eq!(started_processes(&actions), ["dies"]);
}
