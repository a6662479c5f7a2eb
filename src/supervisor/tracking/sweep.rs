//! The shutdown sweep: stopping the children of procmux that no job owns (orphans reparented
//! to procmux as a subreaper or PID 1), with a stop signal and then SIGKILL at a deadline.

use std::collections::HashSet;
use std::time::Duration;

use nix::sys::signal::{Signal as NixSignal, kill, killpg};
use nix::unistd::Pid;
use tokio::time::Instant;

use super::procfs;
use super::registry::registry;
use crate::supervisor::Signal;

/// How long the sweep waits for SIGKILLed orphans to be reaped before giving up.
const AFTER_KILL: Duration = Duration::from_secs(5);

/// Re-checks this often between reaping rounds, in case an exit is collected elsewhere.
const BACKSTOP: Duration = Duration::from_millis(100);

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// The processes that got the stop signal (and SIGCONT).
    pub signalled: Vec<u32>,
    /// The processes still alive at the deadline, which got SIGKILL.
    pub killed: Vec<u32>,
    /// The processes still alive after SIGKILL (stuck in the kernel): empty unless something
    /// is very wrong.
    pub survivors: Vec<u32>,
}

/// The live children of procmux that nobody waits for: orphans.
fn orphans() -> Vec<procfs::Stat> {
    let me = nix::unistd::getpid().as_raw();
    let registry = registry();
    procfs::children(me)
        .into_iter()
        .filter(|child| {
            !child.is_dead() && u32::try_from(child.pid).is_ok_and(|p| !registry.is_known(p))
        })
        .collect()
}

/// Sends `signal` to an orphan, and to its process group when it leads one (a daemon that
/// called `setsid` took its children along into its own group).
fn send(orphan: &procfs::Stat, signal: NixSignal) {
    let pid = Pid::from_raw(orphan.pid);
    if orphan.pgrp == orphan.pid {
        let _ = killpg(pid, signal);
    }
    let _ = kill(pid, signal);
}

/// Stops every orphan: `signal`, then SIGCONT, then SIGKILL for those left at `grace`
/// (a grace too long to represent means no deadline). Orphans that appear meanwhile (the
/// children of a dying orphan are reparented too) get the same treatment.
pub(crate) async fn stop_orphans(signal: Signal, grace: Duration) -> SweepReport {
    let mut report = SweepReport::default();
    let Ok(stop) = NixSignal::try_from(signal.to_raw()) else {
        return report;
    };
    let deadline = Instant::now().checked_add(grace);
    let mut signalled = HashSet::new();
    let mut rounds = registry().rounds();
    loop {
        let left = orphans();
        if left.is_empty() {
            return report;
        }
        for orphan in &left {
            if signalled.insert(orphan.pid) {
                send(orphan, stop);
                send(orphan, NixSignal::SIGCONT);
                report.signalled.extend(u32::try_from(orphan.pid));
            }
        }
        let wake = match deadline {
            Some(deadline) => deadline.min(Instant::now() + BACKSTOP),
            None => Instant::now() + BACKSTOP,
        };
        tokio::select! {
            _ = rounds.changed() => {}
            () = tokio::time::sleep_until(wake) => {}
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            break;
        }
    }
    let until = Instant::now() + AFTER_KILL;
    let mut killed = HashSet::new();
    loop {
        let left = orphans();
        if left.is_empty() {
            break;
        }
        if Instant::now() >= until {
            report.survivors = left
                .iter()
                .filter_map(|o| u32::try_from(o.pid).ok())
                .collect();
            break;
        }
        for orphan in &left {
            send(orphan, NixSignal::SIGKILL);
            if killed.insert(orphan.pid) {
                report.killed.extend(u32::try_from(orphan.pid));
            }
        }
        tokio::select! {
            _ = rounds.changed() => {}
            () = tokio::time::sleep(BACKSTOP.min(Duration::from_millis(20))) => {}
        }
    }
    report
}
