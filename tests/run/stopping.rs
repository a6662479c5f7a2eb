//! Stopping: signals to procmux, per-process stop signals and grace, the second Ctrl-C, a
//! closed stdout; and after each of them, no survivor, grandchildren included.

use std::io::Read;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::support::{Procmux, Start, code};

/// Two processes that each leave two grandchildren in their group.
const ORPHANS: &str = "\
a: sh -c 'sleep 1000 & sleep 1000 & wait'
b: sh -c 'sleep 1000 & sleep 1000 & wait'
";

fn stop_orphans_with(signal: Signal, expected_code: i32) {
    let mut procmux = Procmux::procfile(ORPHANS);
    procmux.wait_for_processes("sleep", 4);
    procmux.signal(signal);
    let status = procmux.wait_exit();
    assert_eq!(code(status), expected_code, "{:#?}", procmux.lines());
    procmux.assert_no_survivors();
}

#[test]
fn sigint_stops_everything_grandchildren_included() {
    stop_orphans_with(Signal::SIGINT, 130);
}

#[test]
fn sigterm_stops_everything_grandchildren_included() {
    stop_orphans_with(Signal::SIGTERM, 143);
}

#[test]
fn sighup_stops_everything_grandchildren_included() {
    stop_orphans_with(Signal::SIGHUP, 129);
}

#[test]
fn one_process_ending_stops_the_others_grandchildren_included() {
    let mut procmux = Procmux::procfile(&format!("{ORPHANS}quick: sh -c 'sleep 0.3; exit 0'\n"));
    let status = procmux.wait_exit();
    assert_eq!(code(status), 0, "{:#?}", procmux.lines());
    procmux.wait_for_text("quick exited with code 0");
    procmux.assert_no_survivors();
}

#[test]
fn a_closed_stdout_stops_everything_cleanly() {
    let mut procmux = Procmux::start_with(Start {
        file: "Procfile",
        manifest: "talker: sh -c 'while true; do echo hello; sleep 0.05; done'\n\
                   quiet: sh -c 'sleep 1000 & sleep 1000 & wait'\n",
        args: &[],
        read_stdout: false,
        files: &[],
    });
    let mut stdout = procmux.take_stdout();
    let mut first = [0u8; 64];
    let read = stdout.read(&mut first).unwrap();
    assert!(read > 0);
    procmux.wait_for_processes("sleep", 2);
    drop(stdout);
    let status = procmux.wait_exit();
    let lines = procmux.lines();
    assert!(
        !lines.iter().any(|l| l.contains("panicked")),
        "procmux panicked: {lines:#?}"
    );
    assert!(status.code().is_some(), "died of a signal: {status:?}");
    procmux.assert_no_survivors();
}

/// A process that ignores TERM and INT, in its own group with a grandchild.
const STUBBORN: &str = "trap '' TERM INT; sleep 1000 & while true; do sleep 1; done";

#[test]
fn a_process_that_ignores_its_stop_signal_is_killed_at_its_grace() {
    let grace = Duration::from_secs(2);
    let mut procmux = Procmux::toml(&format!(
        "[processes.stubborn]\ncommand = \"{STUBBORN}\"\nstop_timeout = \"2s\"\n\n\
         [processes.polite]\ncommand = \"sleep 1000\"\n"
    ));
    procmux.wait_for_processes("sleep", 3);
    let sent = Instant::now();
    procmux.signal(Signal::SIGINT);
    let status = procmux.wait_exit();
    let took = sent.elapsed();
    assert_eq!(code(status), 130);
    assert!(took >= grace, "killed before its grace: {took:?}");
    assert!(
        took < grace + Duration::from_secs(3),
        "killed long after its grace: {took:?}"
    );
    procmux.wait_for_text("stubborn did not stop within 2s");
    procmux.assert_no_survivors();
}

#[test]
fn each_process_gets_its_own_stop_signal() {
    // This one ignores TERM and exits on INT: stopped with INT, it ends well before its grace.
    let mut procmux = Procmux::toml(
        "[processes.int-only]\n\
         command = \"trap '' TERM; trap 'echo got INT; exit 0' INT; while true; do sleep 0.1; done\"\n\
         stop_signal = \"INT\"\n\
         stop_timeout = \"60s\"\n",
    );
    procmux.wait_for_processes("sleep", 1);
    let sent = Instant::now();
    procmux.signal(Signal::SIGTERM);
    procmux.wait_for_text("int-only | got INT");
    let status = procmux.wait_exit();
    assert_eq!(code(status), 143);
    assert!(
        sent.elapsed() < Duration::from_secs(30),
        "waited for the grace"
    );
    procmux.assert_no_survivors();
}

#[test]
fn a_second_ctrl_c_kills_at_once() {
    let mut procmux = Procmux::toml(&format!(
        "[processes.stubborn]\ncommand = \"{STUBBORN}\"\nstop_timeout = \"60s\"\n"
    ));
    procmux.wait_for_processes("sleep", 2);
    procmux.signal(Signal::SIGINT);
    procmux.wait_for_text("stopping");
    let second = Instant::now();
    procmux.signal(Signal::SIGINT);
    let status = procmux.wait_exit();
    assert!(
        second.elapsed() < Duration::from_secs(10),
        "the second Ctrl-C did not kill at once"
    );
    assert_eq!(code(status), 130);
    procmux.assert_no_survivors();
}

#[test]
fn a_sigkilled_procmux_takes_its_direct_children_along() {
    // Plain-word commands run directly, so each sleep is a direct child of procmux, the
    // process the parent-death signal is set on.
    let mut procmux = Procmux::procfile("a: sleep 1000\nb: sleep 1000\n");
    procmux.wait_for_processes("sleep", 2);
    procmux.signal(Signal::SIGKILL);
    let status = procmux.wait_exit();
    assert_eq!(status.code(), None, "procmux was not killed: {status:?}");
    procmux.assert_no_survivors();
}

#[test]
fn a_ctrl_c_while_a_large_fleet_starts_stops_it_and_leaves_nothing() {
    let mut procmux =
        Procmux::toml("[processes.many]\ncommand = \"sleep 1000\"\ninstances = 300\n");
    // As soon as the first has started, many more are still to come.
    procmux.wait_for_text("many.1 started with pid");
    procmux.signal(Signal::SIGINT);
    let status = procmux.wait_exit();
    assert_eq!(code(status), 130, "{:#?}", procmux.lines().last());
    procmux.assert_no_survivors();
}
