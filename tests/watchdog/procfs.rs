//! `/proc` readers for the watchdog tests: find procmux's watchdog by its cmdline, and read
//! its state, CPU ticks, memory, file descriptors, group and session.

use std::thread;
use std::time::{Duration, Instant};

use crate::support::{DEADLINE, is_alive};

/// The watchdog's command line, NUL-separated as in `/proc/PID/cmdline`.
pub const WATCHDOG_CMDLINE: &[u8] = b"procmux\0__watchdog\0";

/// The fields of `/proc/PID/stat` after the command name: `[0]` is the state, `[1]` the
/// parent, `[2]` the process group, `[3]` the session, `[11]` and `[12]` user and system
/// ticks.
pub fn stat(pid: i32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = text.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// The live children of `parent` whose cmdline is the watchdog's.
pub fn watchdogs_of(parent: i32) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Some(fields) = stat(pid) else { continue };
        if fields[1] != parent.to_string() || fields[0] == "Z" {
            continue;
        }
        if std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == WATCHDOG_CMDLINE) {
            found.push(pid);
        }
    }
    found
}

/// Waits for `parent` to have exactly one watchdog, other than `not`, and returns its pid.
pub fn wait_for_watchdog(parent: i32, not: Option<i32>) -> i32 {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let found: Vec<i32> = watchdogs_of(parent)
            .into_iter()
            .filter(|pid| Some(*pid) != not)
            .collect();
        if let [pid] = found[..] {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "procmux (pid {parent}) has no watchdog: {found:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until `pid` is gone (or a zombie), panicking at the deadline.
pub fn wait_gone(pid: i32, what: &str) {
    let deadline = Instant::now() + DEADLINE;
    while is_alive(pid) {
        assert!(
            Instant::now() < deadline,
            "{what} (pid {pid}) is still alive"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// A `Name:  value` line of `/proc/PID/status`, as text.
pub fn status_field(pid: i32, field: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .map(|value| value.trim().to_owned())
}

/// A `Name:  N kB` line of `/proc/PID/status` or `/proc/PID/smaps_rollup`, in KiB.
pub fn kib(pid: i32, file: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/{file}"))
}

/// The open file descriptors of `pid`, each with what it points to.
pub fn fds(pid: i32) -> Vec<(i32, String)> {
    let mut fds: Vec<(i32, String)> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| {
                    let fd = entry.file_name().to_string_lossy().parse().ok()?;
                    let target = std::fs::read_link(entry.path()).ok()?;
                    Some((fd, target.to_string_lossy().into_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    fds.sort();
    fds
}
