//! Hot reload: only changed instances restart, new ones start once the old ones ended, the
//! queue of reloads, warnings, errors.

use super::*;

fn with_command(process: &str, command: &str) -> InstanceSpec {
    let mut spec = spec(process);
    spec.command = ProcessCommand::Shell {
        shell: "sh".into(),
        command: command.into(),
    };
    spec
}

#[test]
fn a_reload_restarts_only_the_changed_instance_after_it_stopped() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let changed = with_command("worker", "run worker --fast");
    let actions = harness.handle(reloaded(vec![spec("web"), changed.clone()]));
    assert_eq!(stops(&actions), ["worker"]);
    assert_eq!(said(&actions), ["reload: ~worker"]);
    let old_generation = harness.generation("worker");
    let actions = harness.exited("worker", TERMINATED);
    assert_eq!(said(&actions), ["worker exited with signal SIGTERM"]);
    assert!(actions.contains(&Action::Forget { key: key("worker") }));
    match actions.iter().find(|a| matches!(a, Action::Start { .. })) {
        Some(Action::Start { spec, generation }) => {
            assert_eq!(**spec, changed);
            assert_ne!(*generation, old_generation);
        }
        other => panic!("expected the new worker to start: {other:?}"),
    }
}

#[test]
fn a_renamed_process_starts_only_once_the_old_one_has_ended() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let actions = harness.handle(reloaded(vec![spec("web"), spec("api")]));
    assert_eq!(stops(&actions), ["worker"]);
    assert!(
        starts(&actions).is_empty(),
        "api started beside the old worker"
    );
    assert_eq!(said(&actions), ["reload: +api -worker"]);
    let actions = harness.exited("worker", TERMINATED);
    assert_eq!(starts(&actions), ["api"]);
    assert_eq!(harness.fleet.display_name(&key("worker")), None);
}

#[test]
fn replacements_wait_for_every_instance_the_reload_stops() {
    // Inserting a process shifts the ports of those after it: none of the new ones may start
    // while an old one still holds its port.
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let actions = harness.handle(reloaded(vec![
        with_command("web", "new web"),
        with_command("worker", "new worker"),
    ]));
    assert_eq!(stops(&actions), ["web", "worker"]);
    assert!(starts(&harness.exited("web", TERMINATED)).is_empty());
    assert_eq!(
        starts(&harness.exited("worker", TERMINATED)),
        ["web", "worker"]
    );
}

#[test]
fn an_invalid_reload_prints_the_error_and_changes_nothing() {
    let mut harness = Harness::running(vec![spec("web")]);
    let actions = harness.handle(Event::ManifestChanged(Box::new(Err(
        "error: unknown key\n  --> procmux.toml:2:1\n".into(),
    ))));
    assert_eq!(
        said(&actions),
        [
            "reload: the manifest is invalid; keeping everything as it runs\n\
          error: unknown key\n  --> procmux.toml:2:1"
        ]
    );
    assert!(stops(&actions).is_empty());
}

#[test]
fn the_warnings_of_a_reload_come_with_its_summary() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let actions = harness.handle(Event::ManifestChanged(Box::new(Ok(Reloaded {
        manifest: manifest(vec![spec("web")]),
        warnings: vec!["ignored line: not a `name: command` entry at Procfile:2:1".into()],
    }))));
    assert_eq!(
        said(&actions),
        [
            "warning: ignored line: not a `name: command` entry at Procfile:2:1",
            "reload: -worker"
        ]
    );
}

#[test]
fn a_reload_during_a_reload_waits_and_applies_the_newest_once() {
    let mut harness = Harness::running(vec![spec("web"), spec("worker")]);
    let mut worker2 = spec("worker");
    worker2.stop_timeout = Duration::from_secs(9);
    harness.handle(reloaded(vec![spec("web"), worker2.clone()]));
    let mut web2 = spec("web");
    web2.stop_timeout = Duration::from_secs(7);
    let mut web3 = spec("web");
    web3.stop_timeout = Duration::from_secs(8);
    for web in [web2, web3.clone()] {
        let queued = harness.handle(reloaded(vec![web, worker2.clone()]));
        assert_eq!(queued, [], "applied while the previous reload was busy");
    }
    let actions = harness.exited("worker", TERMINATED);
    // The queued reload begins at once and holds the new worker until web has stopped too.
    assert_eq!(stops(&actions), ["web"]);
    assert_eq!(
        said(&actions).last().map(String::as_str),
        Some("reload: ~web")
    );
    let actions = harness.exited("web", TERMINATED);
    let specs: Vec<&InstanceSpec> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Start { spec, .. } => Some(&**spec),
            _ => None,
        })
        .collect();
    assert_eq!(specs, [&web3, &worker2]);
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
    let actions = harness.handle(reloaded(vec![dies, spec("web")]));
    assert_eq!(starts(&actions), ["dies"]);
}

#[test]
fn an_added_dependent_waits_for_its_dependency() {
    let mut harness = Harness::running(vec![checked("db")]);
    let actions = harness.handle(reloaded(vec![
        checked("db"),
        needs("web", &[("db", Condition::Ready)]),
    ]));
    assert!(starts(&actions).is_empty());
    assert_eq!(
        said(&actions),
        ["reload: +web", "web waiting for db (ready)"]
    );
    assert_eq!(starts(&harness.ready("db")), ["web"]);
}

#[test]
fn editing_watch_globs_restarts_nothing() {
    let mut harness = Harness::running(vec![spec("web")]);
    let mut watched = spec("web");
    watched.watch = vec!["src/**".into()];
    let actions = harness.handle(reloaded(vec![watched]));
    assert_eq!(said(&actions), ["reload: no changes"]);
    // And the new globs are in force.
    let actions = harness.handle(Event::FilesChanged {
        process: "web".into(),
        paths: vec!["src/main.rs".into()],
        more: 0,
    });
    assert_eq!(stops(&actions), ["web"]);
}
