//! The orphan reaper: when procmux is a child subreaper or PID 1, processes whose parent died
//! become its children, and their exits must be collected or they stay zombies forever.
//!
//! It reaps by pid, only children that are not known to the [registry](super::registry)
//! (job leaders, which tokio waits for, and children the owner registered): never
//! `waitpid(-1)`, which would steal the exits tokio waits for. It runs on SIGCHLD, uses no CPU
//! in between, and counts its rounds so that draining jobs can re-check their groups.

use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;

use super::procfs;
use super::registry::{Registry, registry};

/// Stops the reaper task when dropped.
#[derive(Debug)]
pub(crate) struct ReaperHandle {
    _stop: oneshot::Sender<()>,
}

/// Starts the reaper on the current runtime. `None` without a runtime or SIGCHLD handling.
pub(crate) fn start() -> Option<ReaperHandle> {
    let handle = tokio::runtime::Handle::try_current().ok()?;
    // Made here (not in the task) so that a failure is known now.
    let sigchld = {
        let _entered = handle.enter();
        signal(SignalKind::child()).ok()?
    };
    let (stop, mut stopped) = oneshot::channel::<()>();
    handle.spawn(async move {
        let mut sigchld = sigchld;
        let registry = registry();
        reap_round(registry);
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                got = sigchld.recv() => if got.is_none() { return },
                () = registry.retry.notified() => {}
            }
            reap_round(registry);
        }
    });
    Some(ReaperHandle { _stop: stop })
}

/// Reaps every zombie child that nobody else waits for. Returns how many it reaped.
pub(crate) fn reap_round(registry: &Registry) -> usize {
    let mut reaped = 0;
    // Bounded: each turn reaps one child, and a process has finitely many.
    for _ in 0..100_000 {
        // Peek (WNOWAIT) at one child that has exited, without collecting it.
        let peeked = waitid(
            Id::All,
            WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
        );
        let Some(pid) = peeked.ok().and_then(|status| status.pid()) else {
            break;
        };
        let Some(_exclusive) = registry.try_exclusive() else {
            // A spawn is under way: the zombie might be its child, not yet registered. The
            // spawner wakes us once it is.
            return reaped;
        };
        let raw = u32::try_from(pid.as_raw()).unwrap_or(0);
        if !registry.is_known(raw) {
            if reap(pid) {
                reaped += 1;
                continue;
            }
            // Collected by someone else between the peek and now: look again next round.
            break;
        }
        // The first exited child is one tokio will collect; others may queue behind it, so
        // look for them one by one.
        let me = nix::unistd::getpid().as_raw();
        for child in procfs::children(me) {
            let known = u32::try_from(child.pid).is_ok_and(|p| registry.is_known(p));
            if child.is_dead() && !known && reap(Pid::from_raw(child.pid)) {
                reaped += 1;
            }
        }
        break;
    }
    registry.round_done();
    reaped
}

fn reap(pid: Pid) -> bool {
    matches!(
        waitpid(pid, Some(WaitPidFlag::WNOHANG)),
        Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..))
    )
}
