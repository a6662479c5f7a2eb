//! Dependencies and readiness: the gate, blocked dependents, completed one-shots, failed
//! checks, the wanted set, and shutdown in reverse dependency order.

use super::*;

use crate::manifest::Condition::{Completed, Ready, Started};

#[test]
fn a_dependent_waits_for_its_dependency_to_be_ready() {
    let mut harness = Harness::new(vec![needs("web", &[("db", Ready)]), checked("db")], &[]);
    let actions = harness.start();
    assert_eq!(starts(&actions), ["db"]);
    assert_eq!(said(&actions), ["web waiting for db (ready)"]);
    let actions = harness.spawned("db");
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::CheckReady { .. })),
        "{actions:?}"
    );
    assert_eq!(starts(&actions), Vec::<String>::new());
    let actions = harness.ready("db");
    assert_eq!(
        said(&actions),
        ["db is ready (tcp 127.0.0.1:5432 after 1.3s)"]
    );
    assert_eq!(starts(&actions), ["web"]);
}

#[test]
fn without_a_check_ready_means_started() {
    let mut harness = Harness::new(vec![needs("web", &[("db", Ready)]), spec("db")], &[]);
    assert_eq!(starts(&harness.start()), ["db"]);
    assert_eq!(starts(&harness.spawned("db")), ["web"]);
}

#[test]
fn started_is_met_at_the_spawn_and_completed_at_exit_0() {
    let mut harness = Harness::new(
        vec![
            needs("web", &[("migrate", Completed), ("db", Started)]),
            checked("db"),
            spec("migrate"),
        ],
        &[],
    );
    assert_eq!(starts(&harness.start()), ["db", "migrate"]);
    harness.spawned("db");
    assert!(starts(&harness.spawned("migrate")).is_empty());
    let actions = harness.exited("migrate", ProcessEnd::Success);
    // A one-shot others wait to complete may exit 0: nothing stops.
    assert_eq!(said(&actions), ["migrate exited with code 0",]);
    assert_eq!(starts(&actions), ["web"]);
    assert!(stops(&actions).is_empty());
}

#[test]
fn a_completed_dependency_that_fails_blocks_its_dependents_and_stops_the_stack() {
    let mut harness = Harness::new(
        vec![
            needs("web", &[("migrate", Completed)]),
            spec("migrate"),
            spec("db"),
        ],
        &[],
    );
    assert_eq!(starts(&harness.start()), ["migrate", "db"]);
    harness.spawned("migrate");
    harness.spawned("db");
    let actions = harness.exited("migrate", code(2));
    assert_eq!(
        said(&actions),
        [
            "migrate exited with code 2",
            "migrate ended: stopping all processes",
        ]
    );
    assert_eq!(stops(&actions), ["db"]);
    let actions = harness.exited("db", TERMINATED);
    assert_eq!(exit(&actions), Some(2));
}

#[test]
fn a_dependency_that_may_die_ending_early_blocks_only_its_dependents() {
    let mut db = checked("db");
    db.can_die = true;
    let mut harness = Harness::new(vec![needs("web", &[("db", Ready)]), db, spec("other")], &[]);
    harness.start();
    harness.spawned("db");
    harness.spawned("other");
    let actions = harness.exited("db", code(1));
    assert_eq!(
        said(&actions),
        [
            "db exited with code 1",
            "web will not start: db exited with code 1 before it was ready",
        ]
    );
    assert!(stops(&actions).is_empty());
}

#[test]
fn a_check_that_times_out_stops_the_process_which_counts_as_failed() {
    let mut harness = Harness::new(vec![checked("db"), spec("web")], &[]);
    harness.start();
    harness.spawned("db");
    harness.spawned("web");
    let generation = harness.generation("db");
    let actions = harness.handle(Event::NotReady {
        key: key("db"),
        generation,
        error: "connection refused".into(),
    });
    assert_eq!(
        said(&actions),
        ["db did not become ready within 1m (last attempt: connection refused)"]
    );
    assert_eq!(stops(&actions), ["db"]);
    let actions = harness.exited("db", TERMINATED);
    assert_eq!(stops(&actions), ["web"]);
    let actions = harness.exited("web", TERMINATED);
    assert_eq!(exit(&actions), Some(1));
}

#[test]
fn a_failed_check_follows_the_restart_policy() {
    let mut db = checked("db");
    db.restart = RestartPolicy::OnFailure;
    let mut harness = Harness::new(vec![db, spec("web")], &[]);
    harness.start();
    harness.spawned("db");
    harness.spawned("web");
    let generation = harness.generation("db");
    harness.handle(Event::NotReady {
        key: key("db"),
        generation,
        error: "connection refused".into(),
    });
    let actions = harness.exited("db", TERMINATED);
    assert_eq!(said(&actions)[1], "db restarting in 100 ms (restart 1)");
    assert!(stops(&actions).is_empty());
}

#[test]
fn naming_a_process_runs_what_it_depends_on_and_nothing_else() {
    let mut db = spec("db");
    db.autostart = false;
    let mut harness = Harness::new(
        vec![needs("web", &[("db", Ready)]), db, spec("worker")],
        &["web"],
    );
    assert_eq!(starts(&harness.start()), ["db"]);
    assert_eq!(starts(&harness.spawned("db")), ["web"]);
}

#[test]
fn an_autostart_process_pulls_in_a_manual_dependency() {
    let mut db = spec("db");
    db.autostart = false;
    let mut harness = Harness::new(vec![needs("web", &[("db", Started)]), db], &[]);
    assert_eq!(starts(&harness.start()), ["db"]);
}

#[test]
fn a_dependency_that_restarts_does_not_restart_its_dependents() {
    let mut db = spec("db");
    db.restart = RestartPolicy::Always;
    let mut harness = Harness::running(vec![db, needs("web", &[("db", Ready)])]);
    harness.spawned("web");
    let actions = harness.exited("db", code(1));
    assert!(stops(&actions).is_empty());
    harness.restart_due("db");
    let actions = harness.spawned("db");
    assert!(starts(&actions).is_empty() && stops(&actions).is_empty());
}

#[test]
fn shutdown_goes_in_reverse_dependency_order() {
    let mut harness = Harness::new(
        vec![
            spec("db"),
            needs("api", &[("db", Started)]),
            needs("web", &[("api", Started)]),
            spec("cache"),
        ],
        &[],
    );
    harness.start();
    harness.spawned("db");
    harness.spawned("cache");
    harness.spawned("api");
    harness.spawned("web");
    let actions = harness.handle(Event::Signal(Signal::Interrupt));
    // Independent ones in parallel; the chain from its end.
    assert_eq!(stops(&actions), ["web", "cache"]);
    assert_eq!(
        stops(&harness.exited("cache", TERMINATED)),
        Vec::<String>::new()
    );
    assert_eq!(stops(&harness.exited("web", TERMINATED)), ["api"]);
    assert_eq!(stops(&harness.exited("api", TERMINATED)), ["db"]);
    assert_eq!(exit(&harness.exited("db", TERMINATED)), Some(130));
}

#[test]
fn a_second_signal_kills_even_what_waits_for_its_dependents() {
    let mut harness = Harness::running(vec![spec("db"), needs("web", &[("db", Started)])]);
    harness.spawned("web");
    harness.handle(Event::Signal(Signal::Interrupt));
    let actions = harness.handle(Event::Signal(Signal::Interrupt));
    assert!(actions.contains(&Action::Kill { key: key("db") }));
    assert!(actions.contains(&Action::Kill { key: key("web") }));
}

#[test]
fn waiting_instances_never_start_once_shutting_down() {
    let mut harness = Harness::new(vec![checked("db"), needs("web", &[("db", Ready)])], &[]);
    harness.start();
    harness.spawned("db");
    harness.handle(Event::Signal(Signal::Interrupt));
    let actions = harness.ready("db");
    assert!(starts(&actions).is_empty());
}
