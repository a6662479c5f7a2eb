//! Requests from another terminal: restart, stop, stop everything, status, names.

use super::*;

use crate::coordinator::InstanceState;

#[test]
fn restart_stops_and_starts_and_answers_once_the_new_process_runs() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let (id, actions) = harness.control(ControlVerb::Restart(vec!["web".into()]));
    assert_eq!(stops(&actions), ["web"]);
    assert_eq!(said(&actions), ["web restarting (requested)"]);
    assert_eq!(reply(&actions, id), None);
    let actions = harness.exited("web", TERMINATED);
    assert_eq!(starts(&actions), ["web"]);
    assert!(
        stops(&actions).is_empty(),
        "a restart by request stopped the stack"
    );
    assert_eq!(reply(&actions, id), None);
    let actions = harness.spawned("web");
    assert!(matches!(
        reply(&actions, id),
        Some(ControlOutcome::Done(text)) if text.starts_with("restarted web (pid ")
    ));
}

#[test]
fn stop_keeps_the_stack_running_and_restart_brings_it_back() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let (id, actions) = harness.control(ControlVerb::Stop(vec!["worker".into()]));
    assert_eq!(stops(&actions), ["worker"]);
    let actions = harness.exited("worker", TERMINATED);
    assert!(stops(&actions).is_empty());
    assert_eq!(exit(&actions), None);
    assert_eq!(
        reply(&actions, id),
        Some(ControlOutcome::Done("stopped worker".into()))
    );
    let status = harness.fleet.status(harness.now);
    assert_eq!(status[1].state, InstanceState::Stopped);
    assert_eq!(status[0].state, InstanceState::Running);
    let (id, actions) = harness.control(ControlVerb::Restart(vec!["worker".into()]));
    assert_eq!(starts(&actions), ["worker"]);
    let actions = harness.spawned("worker");
    assert!(matches!(reply(&actions, id), Some(ControlOutcome::Done(_))));
}

#[test]
fn a_restart_by_request_does_not_use_up_max_restarts() {
    let mut web = spec("web");
    web.restart = RestartPolicy::OnFailure;
    web.max_restarts = Some(1);
    let mut harness = Harness::running(vec![web]);
    for _ in 0..3 {
        harness.control(ControlVerb::Restart(vec!["web".into()]));
        harness.exited("web", TERMINATED);
        harness.spawned("web");
    }
    let actions = harness.exited("web", code(1));
    assert_eq!(
        said(&actions)[1],
        "web restarting in 100 ms (restart 1 of 1)"
    );
}

#[test]
fn restart_starts_an_idle_process_with_what_it_depends_on() {
    let mut db = spec("db");
    db.autostart = false;
    let mut admin = needs("admin", &[("db", Condition::Started)]);
    admin.autostart = false;
    let mut harness = Harness::running(vec![db, admin, spec("web")]);
    let (id, actions) = harness.control(ControlVerb::Restart(vec!["admin".into()]));
    assert_eq!(starts(&actions), ["db"]);
    assert_eq!(starts(&harness.spawned("db")), ["admin"]);
    let actions = harness.spawned("admin");
    assert!(matches!(reply(&actions, id), Some(ControlOutcome::Done(_))));
}

#[test]
fn an_unknown_name_changes_nothing_and_suggests() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let (id, actions) = harness.control(ControlVerb::Restart(vec!["web".into(), "wroker".into()]));
    assert!(stops(&actions).is_empty());
    assert_eq!(
        reply(&actions, id),
        Some(ControlOutcome::UnknownName(
            "no process or instance named \"wroker\"; did you mean \"worker\"?".into()
        ))
    );
}

#[test]
fn instance_names_address_one_instance() {
    let mut one = spec("web");
    one.display_name = "web.1".into();
    let mut two = spec("web");
    two.index = 2;
    two.display_name = "web.2".into();
    let mut harness = Harness::new(vec![one, two], &[]);
    harness.start();
    assert_eq!(harness.fleet.resolve(&["web.2".into()]), Ok(vec![1]));
    assert_eq!(harness.fleet.resolve(&["web".into()]), Ok(vec![0, 1]));
}

#[test]
fn stop_everything_is_sigterm() {
    let mut harness = Harness::running(vec![spec("web")]);
    let (id, actions) = harness.control(ControlVerb::StopAll);
    assert_eq!(said(&actions), ["stop requested: stopping all processes"]);
    assert!(matches!(reply(&actions, id), Some(ControlOutcome::Done(_))));
    assert_eq!(exit(&harness.exited("web", TERMINATED)), Some(143));
}

#[test]
fn status_shows_states_pids_and_restarts() {
    let mut manual = spec("manual");
    manual.autostart = false;
    let mut harness = Harness::new(
        vec![
            checked("db"),
            needs("web", &[("db", Condition::Ready)]),
            manual,
        ],
        &[],
    );
    harness.start();
    harness.spawned("db");
    let status = harness.fleet.status(harness.now);
    let states: Vec<InstanceState> = status.iter().map(|s| s.state).collect();
    assert_eq!(
        states,
        [
            InstanceState::Running,
            InstanceState::Waiting,
            InstanceState::Idle
        ]
    );
    assert!(status[0].pid.is_some());
    harness.ready("db");
    harness.advance(Duration::from_secs(3));
    let status = harness.fleet.status(harness.now);
    assert_eq!(status[0].state, InstanceState::Ready);
    assert_eq!(status[0].uptime, Some(Duration::from_secs(3)));
    assert_eq!(status[1].state, InstanceState::Starting);
}
