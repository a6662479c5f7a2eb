//! The watchdog shrugs off stop signals sent to it; a Ctrl-C to procmux is a clean exit that
//! takes the watchdog along without it killing anything.

use std::time::Instant;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::procfs::{stat, status_field, wait_for_watchdog, wait_gone};
use crate::support::{DEADLINE, Procmux, code};

const ORPHANS: &str = "\
a: sh -c 'sleep 1000 & sleep 1000 & wait'
b: cd . && sleep 1000
";

/// The signals a terminal or a stray `kill` sends, which must not end or stop it.
const SHRUGGED: [Signal; 5] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGTSTP,
    Signal::SIGQUIT,
];

#[test]
fn the_watchdog_ignores_stop_signals_and_still_cleans_up() {
    let mut procmux = Procmux::procfile(ORPHANS);
    procmux.wait_for_count("both starts", 2, |l| l.contains("started with pid"));
    procmux.wait_for_processes("sleep", 3);
    let watchdog = wait_for_watchdog(procmux.pid().as_raw(), None);

    for signal in SHRUGGED {
        kill(Pid::from_raw(watchdog), signal).unwrap();
    }
    // Blocked signals stay pending: seeing all of them there proves each arrived and was
    // neither acted on nor lost, with no need to wait and hope.
    let wanted: u64 = SHRUGGED
        .iter()
        .map(|signal| 1u64 << (*signal as i32 - 1))
        .sum();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let pending = status_field(watchdog, "ShdPnd")
            .and_then(|hex| u64::from_str_radix(&hex, 16).ok())
            .unwrap_or(0);
        if pending & wanted == wanted {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pending {pending:x}, wanted {wanted:x}"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // Asleep in read(2) again once it is done with whatever woke it (on a loaded machine it
    // may be seen running for a moment); a stopped watchdog would stay `T`.
    loop {
        let state = stat(watchdog).expect("the watchdog is alive")[0].clone();
        if state == "S" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watchdog should sleep in read(2), not be stopped: state {state}"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }

    procmux.signal(Signal::SIGKILL);
    procmux.wait_exit();
    procmux.wait_for_text("ended without saying goodbye");
    procmux.assert_no_survivors();
}

#[test]
fn ctrl_c_is_a_clean_exit_and_the_watchdog_leaves_without_killing() {
    let mut procmux = Procmux::procfile(ORPHANS);
    procmux.wait_for_count("both starts", 2, |l| l.contains("started with pid"));
    procmux.wait_for_processes("sleep", 3);
    let watchdog = wait_for_watchdog(procmux.pid().as_raw(), None);

    procmux.signal(Signal::SIGINT);
    let status = procmux.wait_exit();
    assert_eq!(code(status), 130, "{:#?}", procmux.lines());
    // procmux waits for its watchdog to exit, and reaps it.
    wait_gone(watchdog, "the watchdog");
    procmux.assert_no_survivors();
    let lines = procmux.lines();
    assert!(
        !lines.iter().any(|l| l.contains("watchdog")),
        "a clean exit says nothing about the watchdog: {lines:#?}"
    );
}

#[test]
fn procmux_ending_by_itself_says_goodbye_too() {
    // foreman's rule: one ends, all stop; the exit is clean, so nothing is swept.
    let mut procmux = Procmux::procfile("done: sh -c 'exit 3'\nlong: sh -c 'sleep 1000 & wait'\n");
    let status = procmux.wait_exit();
    assert_eq!(code(status), 3, "{:#?}", procmux.lines());
    procmux.assert_no_survivors();
    let lines = procmux.lines();
    assert!(!lines.iter().any(|l| l.contains("watchdog")), "{lines:#?}");
}
