//! Start order, endings, restarts, signals, exit codes.

use super::*;

#[test]
fn starts_autostart_instances_in_manifest_order() {
    let mut manual = spec("manual");
    manual.autostart = false;
    let mut harness = Harness::new(vec![spec("web"), manual, spec("worker")], &[]);
    assert_eq!(starts(&harness.start()), ["web", "worker"]);
}

#[test]
fn named_processes_start_even_without_autostart_and_alone() {
    let mut manual = spec("manual");
    manual.autostart = false;
    let mut harness = Harness::new(vec![spec("web"), manual, spec("worker")], &["manual"]);
    assert_eq!(starts(&harness.start()), ["manual"]);
}

#[test]
fn one_process_ending_stops_the_others_and_gives_its_code() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let actions = harness.exited("web", code(3));
    assert_eq!(
        said(&actions),
        [
            "web exited with code 3",
            "web ended: stopping all processes"
        ]
    );
    assert_eq!(stops(&actions), ["worker"]);
    let actions = harness.exited("worker", TERMINATED);
    assert_eq!(said(&actions), ["worker exited with signal SIGTERM"]);
    assert_eq!(exit(&actions), Some(3));
}

#[test]
fn a_process_killed_by_a_signal_gives_128_plus_n() {
    let mut harness = Harness::running(vec![spec("web")]);
    let actions = harness.exited("web", ProcessEnd::ExitSignal(Signal::ForceStop));
    assert_eq!(exit(&actions), Some(137));
}

#[test]
fn can_die_lets_the_rest_run_and_its_failure_is_the_code_at_the_end() {
    let mut dies = spec("dies");
    dies.can_die = true;
    let mut also = spec("also");
    also.can_die = true;
    let mut harness = Harness::running(vec![dies, also]);
    let actions = harness.exited("dies", code(4));
    assert_eq!(said(&actions), ["dies exited with code 4"]);
    assert_eq!(exit(&actions), None);
    let actions = harness.exited("also", ProcessEnd::Success);
    assert_eq!(exit(&actions), Some(4));
}

#[test]
fn a_can_die_failure_is_the_code_when_a_clean_ending_stops_the_stack() {
    let mut dies = spec("dies");
    dies.can_die = true;
    let mut harness = Harness::running(vec![dies, spec("quick"), spec("web")]);
    harness.exited("dies", code(4));
    // quick exits 0, which stops the stack: the code is the earlier failure, not 0.
    harness.exited("quick", ProcessEnd::Success);
    let actions = harness.exited("web", TERMINATED);
    assert_eq!(exit(&actions), Some(4));
}

#[test]
fn a_can_die_process_that_cannot_start_gives_127_at_the_end() {
    let mut ghost = spec("ghost");
    ghost.can_die = true;
    let mut harness = Harness::new(vec![ghost, spec("web")], &[]);
    harness.start();
    harness.spawned("web");
    let generation = harness.generation("ghost");
    harness.handle(Event::SpawnFailed {
        key: key("ghost"),
        generation,
        error: "ghost: command not found".into(),
    });
    let actions = harness.exited("web", ProcessEnd::Success);
    assert_eq!(exit(&actions), Some(127));
}

#[test]
fn every_process_succeeding_gives_0() {
    let mut one = spec("one");
    one.can_die = true;
    let mut harness = Harness::running(vec![one]);
    let actions = harness.exited("one", ProcessEnd::Success);
    assert_eq!(exit(&actions), Some(0));
}

#[test]
fn a_signal_stops_everything_with_128_plus_n_and_a_second_of_any_kind_kills() {
    for (first, second) in [
        (Signal::Interrupt, Signal::Interrupt),
        (Signal::Hangup, Signal::Hangup),
        (Signal::Quit, Signal::Terminate),
    ] {
        let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
        let actions = harness.handle(Event::Signal(first));
        assert_eq!(
            said(&actions),
            [format!(
                "received {first}: stopping all processes (send it again to kill them at once)"
            )]
        );
        assert_eq!(stops(&actions), ["web", "worker"]);
        let actions = harness.handle(Event::Signal(second));
        assert_eq!(
            said(&actions),
            [format!("received {second} again: killing all processes")]
        );
        assert!(actions.contains(&Action::Kill { key: key("web") }));
        assert!(actions.contains(&Action::Kill { key: key("worker") }));
        // A third signal changes nothing.
        assert_eq!(harness.handle(Event::Signal(second)), []);
        harness.exited("web", ProcessEnd::ExitSignal(Signal::ForceStop));
        let actions = harness.exited("worker", ProcessEnd::ExitSignal(Signal::ForceStop));
        assert_eq!(exit(&actions), Some(128 + first.to_raw()));
    }
}

#[test]
fn an_exit_at_the_grace_says_it_was_killed() {
    let mut harness = Harness::running(vec![spec("web")]);
    harness.handle(Event::Signal(Signal::Interrupt));
    let actions = harness.ended("web", ProcessEnd::ExitSignal(Signal::Terminate), true);
    assert_eq!(
        said(&actions),
        ["web did not stop within 5s; killed with SIGKILL"]
    );
}

#[test]
fn leftovers_are_reported_at_the_leader_end_and_the_final_end_adds_nothing() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let generation = harness.generation("web");
    let actions = harness.handle(Event::Leftovers {
        key: key("web"),
        generation,
        end: ProcessEnd::Success,
        count: 2,
    });
    assert_eq!(
        said(&actions),
        ["web exited with code 0; stopping 2 leftover processes"]
    );
    let actions = harness.exited("web", ProcessEnd::Success);
    assert_eq!(said(&actions), ["web ended: stopping all processes"]);
}

#[test]
fn a_closed_output_stops_everything_with_141() {
    let mut harness = Harness::running(vec![spec("web")]);
    let actions = harness.handle(Event::OutputClosed);
    assert!(actions.contains(&stop("web")));
    let actions = harness.exited("web", TERMINATED);
    assert_eq!(exit(&actions), Some(141));
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
            said(&actions),
            [
                "flaky exited with code 1".to_owned(),
                format!("flaky restarting in {delay} ms (restart {attempt} of 2)"),
            ]
        );
        assert!(actions.contains(&Action::StartTimer {
            timer: TimerKey {
                key: key("flaky"),
                generation,
                purpose: TimerPurpose::Restart
            },
            delay: Duration::from_millis(delay),
        }));
        let actions = harness.restart_due("flaky");
        assert!(
            matches!(&actions[..], [Action::Start { generation: g, .. }] if *g == generation),
            "{actions:?}"
        );
        harness.spawned("flaky");
    }
    let actions = harness.exited("flaky", code(1));
    assert_eq!(
        said(&actions),
        [
            "flaky exited with code 1",
            "flaky gave up after 2 restarts",
            "flaky ended: stopping all processes"
        ]
    );
    assert_eq!(stops(&actions), ["web"]);
}

#[test]
fn a_shutdown_cancels_a_pending_restart() {
    let mut flaky = spec("flaky");
    flaky.restart = RestartPolicy::Always;
    let mut harness = Harness::running(vec![flaky]);
    harness.exited("flaky", code(1));
    let actions = harness.handle(Event::Signal(Signal::Interrupt));
    assert!(actions.iter().any(|a| matches!(a, Action::CancelTimer(_))));
    assert_eq!(exit(&actions), Some(130));
    assert_eq!(harness.restart_due("flaky"), []);
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
        error: "ghost: command not found".into(),
    });
    assert_eq!(
        said(&actions)[0],
        "ghost failed to start: ghost: command not found"
    );
    assert!(actions.contains(&stop("web")));
    let actions = harness.exited("web", TERMINATED);
    assert_eq!(exit(&actions), Some(127));
}

#[test]
fn a_process_spawned_during_shutdown_is_stopped_at_once() {
    let mut harness = Harness::new(vec![spec("web")], &[]);
    harness.start();
    let actions = harness.handle(Event::Signal(Signal::Interrupt));
    assert!(
        stops(&actions).is_empty(),
        "nothing to stop yet: {actions:?}"
    );
    assert_eq!(stops(&harness.spawned("web")), ["web"]);
}

#[test]
fn a_job_that_dies_counts_as_ended_with_code_1() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let generation = harness.generation("web");
    let actions = harness.handle(Event::JobDied {
        key: key("web"),
        generation,
        reason: "its task panicked".into(),
    });
    assert_eq!(
        said(&actions)[0],
        "web's job ended unexpectedly (its task panicked): its processes were killed"
    );
    assert_eq!(stops(&actions), ["worker"]);
    let actions = harness.exited("worker", TERMINATED);
    assert_eq!(exit(&actions), Some(1));
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
        killed: false,
    });
    assert_eq!(actions, []);
}

#[test]
fn a_shutdown_cancels_starts_not_spawned_yet() {
    let mut harness = Harness::new(vec![spec("web"), spec("worker")], &[]);
    harness.start();
    harness.spawned("web");
    let actions = harness.handle(Event::Signal(Signal::Interrupt));
    assert!(actions.contains(&Action::Cancel { key: key("worker") }));
    assert_eq!(stops(&actions), ["web"]);
    let generation = harness.generation("worker");
    assert_eq!(
        exit(&harness.handle(Event::StartCancelled {
            key: key("worker"),
            generation
        })),
        None
    );
    assert_eq!(exit(&harness.exited("web", TERMINATED)), Some(130));
}
