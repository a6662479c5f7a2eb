//! As PID 1 (a container's init), every orphan in the namespace becomes procmux's child: the
//! orphan reaper collects them whatever the tracking, and jobs still see their own exits.
//!
//! The payload runs in this test binary again, as PID 1 of a new pid namespace made by
//! `unshare --pid --fork --mount-proc`; where that cannot be done (not root, no user
//! namespaces), the test says why and passes.

use std::process::Command;

use procmux::supervisor::tracking::Tracker;

use crate::harness::*;
use crate::support::*;

const PAYLOAD: &str = "PROCMUX_TEST_PID1_PAYLOAD";

fn unshare_works() -> Result<(), String> {
    let status = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .output()
        .map_err(|err| format!("cannot run unshare: {err}"))?;
    if status.status.success() {
        Ok(())
    } else {
        Err(format!(
            "unshare --pid --fork --mount-proc fails here: {}",
            String::from_utf8_lossy(&status.stderr).trim()
        ))
    }
}

/// Runs the payload as PID 1, with `PROCMUX_TRACKING` set to `tracking`.
fn as_pid_1(tracking: &str) {
    if let Err(reason) = unshare_works() {
        eprintln!("skipped: {reason}");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(exe)
        .args(["--ignored", "--exact", "pid1::payload"])
        .env(PAYLOAD, "1")
        .env("PROCMUX_TRACKING", tracking)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the PID 1 payload failed");
    assert!(stdout.contains("1 passed"), "the payload did not run");
}

#[test]
fn orphans_are_reaped_as_pid_1_with_cgroups() {
    as_pid_1("auto");
}

#[test]
fn orphans_are_reaped_as_pid_1_with_process_groups() {
    as_pid_1("group");
}

/// Zombies in the namespace (every process's parent is, in the end, PID 1: this test).
fn zombies() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rfind(')')
                    .is_some_and(|end| stat[end + 1..].trim_start().starts_with('Z'))
            })
        })
        .collect()
}

#[tokio::test]
#[ignore = "runs as PID 1 in a new pid namespace"]
async fn payload() {
    if std::env::var_os(PAYLOAD).is_none() {
        eprintln!("skipped: only runs as PID 1");
        return;
    }
    assert_eq!(std::process::id(), 1, "not PID 1");
    let tracker = Tracker::detect();
    eprintln!("{tracker}");
    assert!(tracker.reaps_orphans(), "{tracker:?}");
    assert!(!tracker.is_subreaper(), "PID 1 needs no subreaper");
    let mode = Mode::Tracked(tracker);
    let line = r#"for i in 1 2 3 4 5 6 7 8; do (sleep 0.05 &); (setsid sleep 0.05 &); done; echo ready; exec sleep 1000"#;
    let h = Harness::new(line, grouped(), &mode).await;
    h.start_ready().await;
    assert!(
        eventually(|| h.survivors().len() == 1).await,
        "orphans alive: {:?}",
        describe(&h.survivors())
    );
    assert!(
        eventually(|| zombies().is_empty()).await,
        "zombies: {:?}",
        zombies()
    );
    within("stop", h.job.stop()).await;
    h.assert_no_survivors().await;

    // A job whose group holds an orphan still ends, once the orphan is reaped.
    crate::ownership::exit_is_reported_once_the_group_is_empty(&mode).await;
    assert!(
        eventually(|| zombies().is_empty()).await,
        "zombies: {:?}",
        zombies()
    );
}
