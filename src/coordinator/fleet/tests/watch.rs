//! Restarts on file change: a graceful restart that is no failure, a crashed watched process
//! waiting for the next change, loop protection.

use super::*;

fn watched(process: &str) -> InstanceSpec {
    let mut spec = spec(process);
    spec.watch = vec!["src/**/*.rs".into()];
    spec
}

fn changed(harness: &mut Harness, process: &str, path: &str) -> Vec<Action> {
    harness.handle(Event::FilesChanged {
        process: process.into(),
        paths: vec![path.into()],
        more: 0,
    })
}

#[test]
fn a_change_restarts_only_its_process_gracefully() {
    let mut harness = Harness::running(vec![watched("api"), spec("web")]);
    let actions = changed(&mut harness, "api", "src/main.rs");
    assert_eq!(stops(&actions), ["api"]);
    assert_eq!(said(&actions), ["api restarting: src/main.rs changed"]);
    let actions = harness.exited("api", TERMINATED);
    assert_eq!(starts(&actions), ["api"]);
    assert!(stops(&actions).is_empty());
    // A change to a process that does not watch does nothing.
    assert_eq!(changed(&mut harness, "web", "src/main.rs"), []);
}

#[test]
fn a_crashed_watched_process_waits_for_the_next_change() {
    let mut harness = Harness::running(vec![watched("api"), spec("web")]);
    let actions = harness.exited("api", code(101));
    assert_eq!(
        said(&actions),
        ["api exited with code 101; waiting for changes"]
    );
    assert!(stops(&actions).is_empty());
    assert_eq!(exit(&actions), None);
    let actions = changed(&mut harness, "api", "src/lib.rs");
    assert_eq!(starts(&actions), ["api"]);
}

#[test]
fn without_watch_restarts_a_crashed_watched_process_ends_like_any_other() {
    // --no-watch: no change will ever bring it back, so it must not wait for one.
    let mut harness = Harness::new(vec![watched("api"), spec("web")], &[]);
    harness.fleet.set_watch_restarts(false);
    for name in starts(&harness.start()) {
        harness.spawned(&name);
    }
    let actions = harness.exited("api", code(101));
    assert_eq!(
        said(&actions),
        [
            "api exited with code 101",
            "api ended: stopping all processes"
        ]
    );
    assert_eq!(stops(&actions), ["web"]);
    let actions = harness.exited("web", TERMINATED);
    assert_eq!(exit(&actions), Some(101));
}

#[test]
fn watch_restarts_beyond_max_restarts_still_happen() {
    let mut api = watched("api");
    api.restart = RestartPolicy::OnFailure;
    api.max_restarts = Some(1);
    let mut harness = Harness::running(vec![api, spec("web")]);
    for _ in 0..5 {
        harness.advance(Duration::from_secs(3));
        assert_eq!(stops(&changed(&mut harness, "api", "src/a.rs")), ["api"]);
        harness.exited("api", TERMINATED);
        harness.spawned("api");
    }
    // The change renewed the budget: a crash now is restart 1 of 1.
    let actions = harness.exited("api", code(1));
    assert_eq!(
        said(&actions)[1],
        "api restarting in 100 ms (restart 1 of 1)"
    );
}

#[test]
fn a_restart_loop_is_paused_until_a_change_after_a_quiet_second() {
    let mut harness = Harness::running(vec![watched("api"), spec("web")]);
    for _ in 0..10 {
        harness.advance(Duration::from_millis(200));
        assert_eq!(stops(&changed(&mut harness, "api", "src/gen.rs")), ["api"]);
        harness.exited("api", TERMINATED);
        harness.spawned("api");
    }
    harness.advance(Duration::from_millis(200));
    let actions = changed(&mut harness, "api", "src/gen.rs");
    assert!(stops(&actions).is_empty());
    assert!(said(&actions)[0].contains("paused until the next change"));
    harness.advance(Duration::from_millis(500));
    assert_eq!(changed(&mut harness, "api", "src/gen.rs"), []);
    harness.advance(Duration::from_millis(1500));
    assert_eq!(stops(&changed(&mut harness, "api", "src/main.rs")), ["api"]);
}

#[test]
fn a_reload_that_removes_watch_ends_the_wait_for_changes() {
    let mut dies = watched("api");
    dies.can_die = true;
    let mut harness = Harness::running(vec![dies, spec("web")]);
    harness.exited("api", code(1));
    let mut unwatched = spec("api");
    unwatched.can_die = true;
    harness.handle(reloaded(vec![unwatched, spec("web")]));
    // Only web is left: once it ends, procmux exits (with api's failure).
    assert_eq!(exit(&harness.exited("web", ProcessEnd::Success)), Some(1));
}
