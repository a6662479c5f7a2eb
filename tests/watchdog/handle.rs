//! The `Watchdog` handle on its own: notices wait for a reporter; a dead watchdog is
//! replaced (at most five times a minute); one that stops reading is killed and replaced;
//! goodbye waits for its exit; a program that cannot start gives one notice.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use procmux::watchdog::{Death, NoReplacement, Notice, Untrackable, Watchdog};

use crate::procfs::wait_gone;
use crate::support::{DEADLINE, is_alive};

fn start() -> (Watchdog, mpsc::Receiver<Notice>) {
    let watchdog = Watchdog::start_program(Path::new(env!("CARGO_BIN_EXE_procmux")));
    let (tx, rx) = mpsc::channel();
    watchdog.set_reporter(move |notice| {
        let _ = tx.send(notice);
    });
    (watchdog, rx)
}

fn pid_of(watchdog: &Watchdog) -> i32 {
    watchdog.pid().expect("a watchdog runs") as i32
}

fn next(notices: &mpsc::Receiver<Notice>) -> Notice {
    notices.recv_timeout(DEADLINE).expect("a notice")
}

#[test]
fn a_dead_watchdog_is_replaced_and_goodbye_waits_for_the_last_one() {
    let (watchdog, notices) = start();
    let first = pid_of(&watchdog);
    watchdog.track_group(2_000_000_000).unwrap();
    kill(Pid::from_raw(first), Signal::SIGKILL).unwrap();
    let notice = next(&notices);
    let Notice::Replaced { old, cause, new } = &notice else {
        panic!("{notice:?}")
    };
    assert_eq!((*old as i32, cause), (first, &Death::Signal(9)));
    assert_eq!(Some(*new), watchdog.pid());
    assert!(
        notice
            .to_string()
            .starts_with(&format!("watchdog (pid {first}) died (killed by SIGKILL)"))
    );
    assert!(!is_alive(first), "reaped");

    let second = pid_of(&watchdog);
    assert!(watchdog.goodbye(DEADLINE), "goodbye timed out");
    assert!(!is_alive(second), "gone once goodbye returns");
    assert_eq!(watchdog.pid(), None);
    assert!(notices.try_recv().is_err(), "a goodbye is no death");
}

#[test]
fn a_watchdog_that_stops_reading_is_killed_and_replaced() {
    let (watchdog, notices) = start();
    let stuck = pid_of(&watchdog);
    kill(Pid::from_raw(stuck), Signal::SIGSTOP).unwrap();
    // Fill its pipe (1 MiB, or the 64 KiB default): every call still returns at once.
    let mut sent = 0;
    let notice = loop {
        watchdog.track_group(2_000_000_000).unwrap();
        watchdog.forget_group(2_000_000_000).unwrap();
        sent += 1;
        if let Ok(notice) = notices.try_recv() {
            break notice;
        }
        assert!(sent < 1_000_000, "no notice after {sent} pairs");
    };
    assert!(
        matches!(notice, Notice::Replaced { old, cause: Death::Stalled, .. } if old as i32 == stuck),
        "{notice:?}"
    );
    wait_gone(stuck, "the stuck watchdog");
    assert!(watchdog.goodbye(DEADLINE));
}

#[test]
fn a_watchdog_that_keeps_dying_is_given_up_after_five_replacements() {
    let (watchdog, notices) = start();
    for _ in 0..5 {
        let pid = pid_of(&watchdog);
        kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
        assert!(matches!(next(&notices), Notice::Replaced { .. }));
    }
    let last = pid_of(&watchdog);
    kill(Pid::from_raw(last), Signal::SIGKILL).unwrap();
    let notice = next(&notices);
    assert_eq!(
        notice,
        Notice::Lost {
            old: last as u32,
            cause: Death::Signal(9),
            why: NoReplacement::TooOften(6),
        }
    );
    assert_eq!(watchdog.pid(), None);
    // Tracking goes on quietly, and goodbye has nothing to wait for.
    watchdog.track_group(1234).unwrap();
    assert!(watchdog.goodbye(Duration::ZERO));
}

#[test]
fn a_watchdog_that_cannot_start_says_so_once_and_the_handle_still_works() {
    let watchdog = Watchdog::start_program(Path::new("/nonexistent/procmux"));
    assert_eq!(watchdog.pid(), None);
    watchdog.track_group(1234).unwrap();
    let (tx, rx) = mpsc::channel();
    // Notices from before the reporter was set are delivered when it is.
    watchdog.set_reporter(move |notice| {
        let _ = tx.send(notice);
    });
    let notice = rx.recv_timeout(DEADLINE).unwrap();
    assert!(matches!(notice, Notice::NotStarted { .. }), "{notice:?}");
    assert!(rx.try_recv().is_err());
    assert!(watchdog.goodbye(Duration::ZERO));
}

#[test]
fn what_kill_would_misread_cannot_be_tracked() {
    let watchdog = Watchdog::disabled();
    assert_eq!(watchdog.track_group(0), Err(Untrackable::Pgid(0)));
    assert_eq!(watchdog.track_group(1), Err(Untrackable::Pgid(1)));
    assert!(matches!(
        watchdog.track_cgroup(Path::new("relative")),
        Err(Untrackable::Relative(_))
    ));
    assert!(matches!(
        watchdog.forget_cgroup(Path::new("/a\nb")),
        Err(Untrackable::Newline(_))
    ));
}
