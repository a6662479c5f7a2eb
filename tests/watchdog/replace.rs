//! A watchdog that dies is reported and replaced, and the replacement knows everything; when
//! none can be started, procmux says so once and runs without one.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::custom::{Custom, Options};
use crate::procfs::{wait_for_watchdog, watchdogs_of};
use crate::support::{Procmux, code};

const WRAPPED: &str = "\
a: sh -c 'sleep 1000 & sleep 1000 & wait'
b: cd . && sleep 1000
";

/// SIGKILLs procmux's current watchdog, waits for the system line and returns the new pid.
fn kill_watchdog(procmux: &Procmux) -> i32 {
    // The one before (if any) was reaped before its replacement was announced.
    let old = wait_for_watchdog(procmux.pid().as_raw(), None);
    kill(Pid::from_raw(old), Signal::SIGKILL).unwrap();
    let prefix = format!("watchdog (pid {old}) died (killed by SIGKILL): started another (pid ");
    let line = procmux.wait_for_text(&prefix);
    let new: i32 = line
        .rsplit_once(&prefix)
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no new pid in {line:?}"));
    assert_ne!(new, old);
    // The line names procmux's only watchdog, and it runs.
    assert_eq!(wait_for_watchdog(procmux.pid().as_raw(), Some(old)), new);
    new
}

#[test]
fn a_killed_watchdog_is_replaced_and_the_replacement_cleans_up() {
    let mut procmux = Procmux::procfile(WRAPPED);
    procmux.wait_for_count("both starts", 2, |l| l.contains("started with pid"));
    procmux.wait_for_processes("sleep", 3);
    kill_watchdog(&procmux);
    // Twice: the replacement is watched like the first.
    kill_watchdog(&procmux);

    procmux.signal(Signal::SIGKILL);
    procmux.wait_exit();
    // Told by the replay, not by the spawns it never saw: procmux's cgroup where cgroups are
    // writable, the two instances' groups elsewhere.
    if crate::sigkill::tracked_by_cgroup(&procmux) {
        procmux.wait_for_text("sent SIGKILL to 0 process groups and 1 cgroup");
    } else {
        procmux.wait_for_text("sent SIGKILL to 2 process groups");
    }
    procmux.assert_no_survivors();
}

#[test]
fn a_replacement_watchdog_leaves_cleanly_on_ctrl_c() {
    let mut procmux = Procmux::procfile(WRAPPED);
    procmux.wait_for_count("both starts", 2, |l| l.contains("started with pid"));
    kill_watchdog(&procmux);
    procmux.signal(Signal::SIGINT);
    assert_eq!(code(procmux.wait_exit()), 130);
    procmux.assert_no_survivors();
    assert!(
        !procmux
            .lines()
            .iter()
            .any(|l| l.contains("without saying goodbye"))
    );
}

#[test]
fn without_a_watchdog_procmux_says_so_once_and_runs() {
    let mut procmux = Custom::start(Options {
        procfile: WRAPPED,
        env: &[("PROCMUX_TEST_WATCHDOG_EXE", "/nonexistent/procmux")],
        own_group: false,
    });
    procmux.wait_for_count("started with pid", 2);
    procmux.wait_for_count("cannot start the watchdog (No such file or directory", 1);
    assert!(watchdogs_of(procmux.pid()).is_empty());
    nix::sys::signal::kill(Pid::from_raw(procmux.pid()), Signal::SIGINT).unwrap();
    assert_eq!(procmux.wait_exit().code(), Some(130));
    procmux.assert_no_survivors();
    let lines = procmux.lines();
    assert_eq!(
        lines.iter().filter(|l| l.contains("watchdog")).count(),
        1,
        "{lines:#?}"
    );
}
