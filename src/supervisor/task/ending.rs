//! How a run ends: the leader's own end (and the stop of its leftovers), the end of
//! everything the run owned, and the kill that ends it at once.

use std::io;
use std::process::ExitStatus;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::time::Instant as TokioInstant;

use super::{Task, deadline_after, is_stop_signal};
use crate::supervisor::state::{CommandState, Leftovers, kill_now};

/// How long a kill waits for the run's other processes to be gone before giving up on them
/// (a process stuck in the kernel does not die of SIGKILL until it leaves the kernel).
const AFTER_KILL: Duration = Duration::from_secs(5);

/// How often a kill re-sends SIGKILL while waiting (a process forked during the first kill
/// may have missed it; `cgroup.kill` does not miss, `killpg` can).
const KILL_AGAIN: Duration = Duration::from_millis(50);

impl Task {
    /// The leader has ended (tokio reaped it). The run ends now if it owns nothing else;
    /// otherwise it goes on until everything it owns has ended: under a graceful stop, within
    /// that stop's grace; after an end of its own, with the leftovers stopped as the command's
    /// options say.
    pub(super) async fn leader_ended(&mut self, status: ExitStatus) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        run.leader_ended(status);
        if run.others_gone() {
            let graceful = self.queue.disarm();
            self.finish().await;
            self.finish_graceful(graceful).await;
            return;
        }
        if self.queue.is_armed() {
            // A graceful stop is under way: its signal already went to everything, and its
            // deadline bounds the wait.
            return;
        }
        let stop = self.command.options.leftovers();
        let count = run.count_others();
        if count > 0 {
            if let Some(hook) = &self.hooks.leftovers {
                let leftovers = Leftovers {
                    status: status.into(),
                    count,
                    stop,
                };
                hook(&self.states.context(&self.command), &leftovers);
            }
            #[cfg(unix)]
            {
                let sent = match nix::sys::signal::Signal::try_from(stop.signal.to_raw()) {
                    Ok(signal) => {
                        if let Some(run) = self.run.as_ref() {
                            let _ = run.signal_all(signal);
                        }
                        Ok(())
                    }
                    Err(err) => Err(io::Error::from(err)),
                };
                if let Err(err) = sent {
                    // A stop signal this platform does not have: they die at the deadline.
                    self.report(err).await;
                }
                if !is_stop_signal(stop.signal) {
                    self.continue_all();
                }
            }
        }
        if let Some(run) = self.run.as_mut() {
            run.start_drain(deadline_after(stop.grace));
        }
    }

    /// Waiting on the leader failed (which the OS should never let happen): we cannot tell
    /// whether it still runs, so make sure nothing of the run does, and forget it.
    pub(super) async fn leader_lost(&mut self, err: io::Error) {
        if let Some(child) = self.states.child_mut() {
            kill_now(child.as_mut());
        }
        if let Some(mut run) = self.run.take() {
            run.kill_all();
            run.unregister();
            run.over();
        }
        self.states.current = CommandState::Pending;
        self.states.run = None;
        self.running.store(false, Ordering::SeqCst);
        self.report(err).await;
        self.waiters.clear();
    }

    /// The run is over (the leader reaped, and everything else it owned ended): record it,
    /// tell the exit hook and the waiters, and let its cgroup go.
    pub(super) async fn finish(&mut self) {
        let Some(mut run) = self.run.take() else {
            return;
        };
        let Some(status) = run.leader_status() else {
            // Not reaped: not over. Cannot happen (callers reap first); keep the run.
            self.run = Some(run);
            return;
        };
        run.over();
        let started = match &self.states.current {
            CommandState::Running { started, .. } => *started,
            _ => Instant::now(),
        };
        self.states.current = CommandState::Finished {
            status: status.into(),
            started,
            finished: Instant::now(),
        };
        self.running.store(false, Ordering::SeqCst);
        if let Some(hook) = &self.hooks.exit {
            hook(&self.states.context(&self.command));
        }
        self.waiters.clear();
        self.states.run = None;
        // The cgroup, now empty, is removed as the run drops.
        drop(run);
    }

    /// Kills everything the run owns and waits for it to be gone (the leader reaped, the rest
    /// ended, within a bound). Returns whether nothing runs afterwards.
    pub(super) async fn kill_and_reap(&mut self) -> bool {
        let Some(run) = self.run.as_mut() else {
            return true;
        };
        if run.owns_others() {
            run.kill_all();
        } else if run.leader_alive()
            && let Some(child) = self.states.child_mut()
            && let Err(err) = child.start_kill()
        {
            // "No such process" means it is already gone and waiting will not block; anything
            // else (a permission error) could leave us waiting forever, so give up on it.
            let gone = err.raw_os_error() == Some(nix::libc::ESRCH);
            self.report(err).await;
            if !gone {
                return false;
            }
        }
        if self.run.as_ref().is_some_and(|run| run.leader_alive()) {
            let Some(child) = self.states.child_mut() else {
                return true;
            };
            match child.wait().await {
                Ok(status) => {
                    if let Some(run) = self.run.as_mut() {
                        run.leader_ended(status);
                    }
                }
                Err(err) => {
                    self.leader_lost(err).await;
                    return true;
                }
            }
        }
        self.await_others_after_kill().await;
        self.finish().await;
        true
    }

    /// After a kill: waits for the run's other processes to be gone, killing again now and
    /// then, and gives up (reporting it) after a bound.
    async fn await_others_after_kill(&mut self) {
        let give_up = TokioInstant::now().checked_add(AFTER_KILL);
        loop {
            let Some(run) = self.run.as_mut() else {
                return;
            };
            if run.others_gone() {
                return;
            }
            if give_up.is_some_and(|at| TokioInstant::now() >= at) {
                let left = run.count_others();
                let err = io::Error::other(format!(
                    "{left} processes of `{}` still alive {AFTER_KILL:?} after SIGKILL",
                    self.command
                ));
                self.report(err).await;
                return;
            }
            tokio::select! {
                () = run.others_ended() => {}
                () = tokio::time::sleep(KILL_AGAIN) => run.kill_all(),
            }
        }
    }
}
