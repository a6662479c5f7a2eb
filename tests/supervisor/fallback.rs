//! The fallback path: process groups plus the child subreaper, forced with the documented test
//! hook `PROCMUX_TRACKING=group`.
//!
//! Becoming a subreaper, and the orphan reaper that comes with it, are process-wide, and
//! tests run as threads of one process; so these run in a child process: this test binary
//! again, with the variable set and only the payload tests selected. The orphan sweep and the
//! reaper stress test act on every orphan of the process, so they run one at a time.

use std::process::Command;

/// Set in the child process that runs the payload.
pub const PAYLOAD: &str = "PROCMUX_TEST_FALLBACK_PAYLOAD";

fn run_payload(filter: &str, threads: &str) {
    let exe = std::env::current_exe().unwrap();
    let output = Command::new(exe)
        .args(["--ignored", "--test-threads", threads, filter])
        .env("PROCMUX_TRACKING", "group")
        .env(PAYLOAD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(output.status.success(), "the fallback payload failed");
    assert!(
        !stdout.contains("running 0 tests"),
        "the payload filter matched nothing"
    );
}

#[test]
fn the_fallback_path_in_a_process_of_its_own() {
    run_payload("fallback::payload::parallel::", "4");
}

#[test]
fn orphan_reaping_and_the_sweep_in_a_process_of_their_own() {
    run_payload("fallback::serial::", "1");
}

/// The tests that run in the child process (ignored unless asked for, and no-ops outside it).
mod payload {
    use std::sync::Arc;

    use procmux::supervisor::tracking::{Tracker, Tracking};

    use crate::harness::Mode;

    /// The fallback tracker, detected from the environment as procmux does; `None` outside
    /// the payload process.
    pub fn fallback_mode() -> Option<Mode> {
        if std::env::var_os(super::PAYLOAD).is_none() {
            eprintln!("skipped: only runs in the fallback payload process");
            return None;
        }
        let tracker: Arc<Tracker> = Tracker::detect();
        assert_eq!(
            tracker.tracking(),
            &Tracking::ProcessGroup {
                reason: "PROCMUX_TRACKING=group".into()
            }
        );
        assert_eq!(
            tracker.to_string(),
            "processes tracked by process group (PROCMUX_TRACKING=group)"
        );
        assert!(tracker.is_subreaper() && tracker.reaps_orphans());
        Some(Mode::Tracked(tracker))
    }

    macro_rules! in_fallback_mode {
        ($($name:ident),* $(,)?) => {
            $(
                #[tokio::test]
                #[ignore = "runs in the fallback payload process"]
                async fn $name() {
                    if let Some(mode) = super::fallback_mode() {
                        crate::ownership::$name(&mode).await;
                    }
                }
            )*
        };
    }

    pub mod parallel {
        in_fallback_mode!(
            trap_behind_a_wrapper_completes_within_the_grace,
            trap_that_does_not_exit_prints_then_dies_at_the_grace,
            ignoring_term_behind_a_wrapper_dies_at_the_grace,
            leftovers_of_a_leader_that_exited_are_stopped_gracefully,
            leftovers_get_the_stop_signal_and_sigcont,
            leftovers_that_ignore_it_die_at_the_grace,
            a_stopped_child_stops_without_the_whole_grace,
            a_stopped_leader_stops_without_the_whole_grace,
            restart_waits_for_the_old_port,
            exit_is_reported_once_the_group_is_empty,
            stop_kills_everything,
            draining_leftovers_are_signalled_and_die_with_the_task,
        );
    }
}

#[path = "fallback/serial.rs"]
mod serial;
