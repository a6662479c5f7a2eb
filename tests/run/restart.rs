//! Restart policies: on-failure with growing delays up to `max_restarts`, always, and
//! `can_die` letting the rest run.

use nix::sys::signal::Signal;

use crate::support::{Procmux, code};

#[test]
fn on_failure_restarts_with_growing_delays_then_gives_up() {
    let mut procmux = Procmux::toml(
        "[processes.flaky]\ncommand = \"echo run; exit 1\"\nrestart = \"on-failure\"\nmax_restarts = 3\n\n\
         [processes.long]\ncommand = \"sleep 1000\"\n",
    );
    let status = procmux.wait_exit();
    assert_eq!(code(status), 1, "{:#?}", procmux.lines());
    let lines = procmux.lines();
    let restarts: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("flaky restarting in"))
        .collect();
    assert_eq!(restarts.len(), 3, "{lines:#?}");
    assert!(restarts[0].ends_with("flaky restarting in 100 ms (restart 1 of 3)"));
    assert!(restarts[1].ends_with("flaky restarting in 200 ms (restart 2 of 3)"));
    assert!(restarts[2].ends_with("flaky restarting in 400 ms (restart 3 of 3)"));
    assert_eq!(lines.iter().filter(|l| *l == "flaky  | run").count(), 4);
    procmux.wait_for_text("flaky gave up after 3 restarts");
    procmux.assert_no_survivors();
}

#[test]
fn always_restarts_a_clean_exit_with_a_new_pid() {
    let mut procmux = Procmux::toml(
        "[processes.cycle]\ncommand = [\"true\"]\nrestart = \"always\"\nmax_restarts = 2\n\n\
         [processes.long]\ncommand = \"sleep 1000\"\n",
    );
    let started =
        procmux.wait_for_count("three starts", 3, |l| l.contains("cycle started with pid"));
    let mut pids: Vec<&str> = started
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    pids.dedup();
    assert_eq!(pids.len(), 3, "{started:?}");
    assert_eq!(code(procmux.wait_exit()), 0);
    procmux.assert_no_survivors();
}

#[test]
fn can_die_lets_the_rest_run() {
    let mut procmux = Procmux::toml(
        "[processes.dies]\ncommand = \"sleep 0.2; exit 4\"\ncan_die = true\n\n\
         [processes.ticker]\ncommand = \"i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done\"\n",
    );
    procmux.wait_for_text("dies exited with code 4");
    // Ten ticks take a second: they only all arrive if the ticker outlived the other's ending.
    procmux.wait_for("the tenth tick", |l| l == "ticker | tick 10");
    assert!(!procmux.has_exited(), "{:#?}", procmux.lines());
    procmux.signal(Signal::SIGINT);
    assert_eq!(code(procmux.wait_exit()), 130);
    procmux.assert_no_survivors();
}
