//! Granting the controlling terminal's foreground to a job's process group
//! ([`SpawnOptions::grant_foreground`](super::command::SpawnOptions::grant_foreground)).
//!
//! A process that reads from (or changes) the terminal while its group is in the background
//! is paused by the kernel with SIGTTIN (or SIGTTOU). The job learns of the pause on SIGCHLD,
//! with `waitid(WSTOPPED | WCONTINUED)` on the leader, which reports stops and continues and
//! never exits (those stay tokio's to collect). It then does what a job-control shell does:
//! gives the group the foreground and continues it; it takes the foreground back (and
//! restores the terminal's modes) when the run ends or the leader is deliberately suspended.
//!
//! `tcsetpgrp` from a background process is itself subject to the SIGTTOU check, which the
//! kernel waives for a caller that blocks SIGTTOU: this thread blocks it around each call
//! (never process-wide, and never across a spawn).

use std::fs::File;

use nix::sys::signal::{SigSet, SigmaskHow, Signal as NixSignal, killpg, pthread_sigmask};
use nix::sys::termios::{SetArg, Termios, tcgetattr, tcsetattr};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::{Pid, getpgrp, tcgetpgrp, tcsetpgrp};
use tokio::signal::unix::{Signal, SignalKind, signal};

/// A held grant: the terminal, its modes before, and the group to give it back to.
struct Grant {
    tty: File,
    /// Kept raw: nix's `Termios` is not `Sync`, and the job task must be.
    saved: nix::libc::termios,
    owner: Pid,
}

/// The foreground state of one run.
pub(crate) struct Foreground {
    sigchld: Signal,
    leader: Pid,
    grant: Option<Grant>,
    /// The leader was suspended while holding the foreground: give it back on SIGCONT.
    suspended_with_grant: bool,
}

impl Foreground {
    /// For a run led by `leader` (also its group id). `None` without SIGCHLD handling.
    pub(crate) fn new(leader: Pid) -> Option<Self> {
        let sigchld = signal(SignalKind::child())
            .map_err(|err| tracing::debug!(error = %err, "no SIGCHLD stream: no foreground grant"))
            .ok()?;
        Some(Self {
            sigchld,
            leader,
            grant: None,
            suspended_with_grant: false,
        })
    }

    /// Resolves on the next SIGCHLD.
    pub(crate) async fn changed(&mut self) {
        if self.sigchld.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }

    /// Handles every stop and continue of the leader reported since the last call.
    pub(crate) fn on_child_changed(&mut self) {
        // Bounded: a stop and a continue per turn, and SIGCHLDs coalesce.
        for _ in 0..16 {
            let flags = WaitPidFlag::WSTOPPED | WaitPidFlag::WCONTINUED | WaitPidFlag::WNOHANG;
            match waitid(Id::Pid(self.leader), flags) {
                Ok(WaitStatus::Stopped(_, NixSignal::SIGTTIN | NixSignal::SIGTTOU)) => {
                    if self.grant.is_none() {
                        self.grant = acquire(self.leader);
                    }
                }
                Ok(WaitStatus::Stopped(_, _)) => {
                    if self.grant.is_some() {
                        self.release();
                        self.suspended_with_grant = true;
                    }
                }
                Ok(WaitStatus::Continued(_)) => {
                    if self.suspended_with_grant && self.grant.is_none() {
                        self.suspended_with_grant = false;
                        self.grant = acquire(self.leader);
                    }
                }
                _ => return,
            }
        }
    }

    /// Takes the foreground back, if held, and restores the terminal's modes.
    pub(crate) fn release(&mut self) {
        let Some(grant) = self.grant.take() else {
            return;
        };
        // Only from the job's own group: never take the terminal from whoever took it since.
        if tcgetpgrp(&grant.tty) == Ok(self.leader) {
            let _ = with_sigttou_blocked(|| tcsetpgrp(&grant.tty, grant.owner));
        }
        let _ = tcsetattr(&grant.tty, SetArg::TCSANOW, &Termios::from(grant.saved));
    }
}

/// Gives the controlling terminal's foreground to group `pgid` and continues it, if procmux
/// (or the group itself) holds the foreground. `None` if that cannot be done.
fn acquire(pgid: Pid) -> Option<Grant> {
    let tty = File::options()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let owner = getpgrp();
    let current = tcgetpgrp(&tty).ok()?;
    if current != owner && current != pgid {
        // Someone else's (the user's shell after `bg`): not ours to give.
        tracing::debug!(%pgid, "terminal held by another group: no foreground grant");
        return None;
    }
    let saved = tcgetattr(&tty).ok()?.into();
    with_sigttou_blocked(|| tcsetpgrp(&tty, pgid)).ok()?;
    let _ = killpg(pgid, NixSignal::SIGCONT);
    Some(Grant { tty, saved, owner })
}

/// Runs `f` with SIGTTOU blocked in this thread only.
fn with_sigttou_blocked<T>(f: impl FnOnce() -> T) -> T {
    let mut block = SigSet::empty();
    block.add(NixSignal::SIGTTOU);
    let mut before = SigSet::empty();
    let blocked = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&block), Some(&mut before)).is_ok();
    let result = f();
    if blocked {
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&before), None);
    }
    result
}
