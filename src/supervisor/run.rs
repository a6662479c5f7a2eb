//! [`Run`]: what one run of a job owns besides the leader itself (its process group, its
//! cgroup), and the operations on all of it: signal everything, kill everything, count what
//! is left, and wait until nothing is.
//!
//! Decisions (when to signal, when a run has ended) are the task's; this module only does
//! what it is told, and answers questions about the processes.

use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal as NixSignal, kill, killpg};
use nix::unistd::Pid;
use tokio::sync::watch;
use tokio::time::Instant as TokioInstant;

#[cfg(target_os = "linux")]
use super::tracking::cgroup::RunCgroup;
use super::tracking::registry::registry;

/// Re-checks an emptying process group this often at first (when no reaper says when to),
/// doubling up to [`BACKSTOP_MAX`]. Only while a run drains: an idle job never polls.
const BACKSTOP_MIN: Duration = Duration::from_millis(10);
const BACKSTOP_MAX: Duration = Duration::from_millis(200);

/// The leader's side of a run.
#[derive(Debug, Clone, Copy)]
enum Leader {
    Alive,
    Ended(ExitStatus),
}

/// What woke the task for a run.
pub(crate) enum RunEvent {
    /// Everything the run owned has ended (the leader had already).
    Emptied,
    /// The stop timeout of a leader's own end ran out, with leftovers still alive.
    DrainDeadline,
    /// A child changed state (for the terminal foreground).
    #[cfg(target_os = "linux")]
    ChildChanged,
}

/// One run of a job.
pub(crate) struct Run {
    /// The leader's pid, while registered as a child that tokio waits for.
    pid: Option<u32>,
    /// The group the run owns.
    pgid: Option<Pid>,
    #[cfg(target_os = "linux")]
    cgroup: Option<RunCgroup>,
    leader: Leader,
    /// Set once the leader ended by itself and left processes: when to kill them (`None`:
    /// never, the stop timeout being too long to represent).
    drain: Option<Option<TokioInstant>>,
    /// Set when everything ended: the drop then has nothing to kill.
    over: bool,
    rounds: watch::Receiver<u64>,
    #[cfg(target_os = "linux")]
    pub(crate) foreground: Option<super::foreground::Foreground>,
}

impl Run {
    pub(crate) fn new(
        pid: Option<u32>,
        pgid: Option<Pid>,
        #[cfg(target_os = "linux")] cgroup: Option<RunCgroup>,
    ) -> Self {
        Self {
            pid,
            pgid,
            #[cfg(target_os = "linux")]
            cgroup,
            leader: Leader::Alive,
            drain: None,
            over: false,
            rounds: registry().rounds(),
            #[cfg(target_os = "linux")]
            foreground: None,
        }
    }

    /// The process group the run owns, if it owns one.
    pub(crate) fn pgid(&self) -> Option<Pid> {
        self.pgid
    }

    /// The run's cgroup directory, under cgroup tracking.
    #[cfg(target_os = "linux")]
    pub(crate) fn cgroup_path(&self) -> Option<&std::path::Path> {
        self.cgroup.as_ref().map(RunCgroup::path)
    }

    /// Whether the run owns processes beyond its leader (a group or a cgroup).
    pub(crate) fn owns_others(&self) -> bool {
        #[cfg(target_os = "linux")]
        if self.cgroup.is_some() {
            return true;
        }
        self.pgid.is_some()
    }

    pub(crate) fn leader_alive(&self) -> bool {
        matches!(self.leader, Leader::Alive)
    }

    /// The leader's status, once it has ended.
    pub(crate) fn leader_status(&self) -> Option<ExitStatus> {
        match self.leader {
            Leader::Alive => None,
            Leader::Ended(status) => Some(status),
        }
    }

    /// Records the leader's end: tokio has reaped it, so the reaper may have its pid back.
    pub(crate) fn leader_ended(&mut self, status: ExitStatus) {
        self.leader = Leader::Ended(status);
        self.unregister();
    }

    /// Forgets the leader's pid in the registry (reaped, or about to be left to tokio).
    pub(crate) fn unregister(&mut self) {
        if let Some(pid) = self.pid.take() {
            registry().forget(pid);
        }
    }

    /// Starts draining leftovers, to be killed at `deadline`.
    pub(crate) fn start_drain(&mut self, deadline: Option<TokioInstant>) {
        self.drain = Some(deadline);
    }

    /// Whether nothing but (perhaps) the leader is left: the group and the cgroup are empty.
    /// A group whose members cannot be signalled (another user's) counts as not empty.
    pub(crate) fn others_gone(&self) -> bool {
        #[cfg(target_os = "linux")]
        if let Some(cgroup) = &self.cgroup {
            return !cgroup.populated();
        }
        match self.pgid {
            None => true,
            Some(pgid) => killpg(pgid, None) == Err(Errno::ESRCH),
        }
    }

    /// How many processes are left besides the leader (in the group, and in the cgroup).
    pub(crate) fn count_others(&self) -> usize {
        #[cfg(target_os = "linux")]
        {
            let leader = self.leader_pid();
            if let Some(cgroup) = &self.cgroup {
                return cgroup
                    .members()
                    .into_iter()
                    .filter(|&pid| Some(pid) != leader)
                    .count();
            }
            if let Some(pgid) = self.pgid {
                return super::tracking::procfs::live_group_members(pgid.as_raw())
                    .into_iter()
                    .filter(|member| Some(member.pid) != leader)
                    .count();
            }
        }
        usize::from(!self.others_gone())
    }

    /// The leader's pid while it may still be listed (alive, or a zombie not yet reaped).
    #[cfg(target_os = "linux")]
    fn leader_pid(&self) -> Option<i32> {
        if self.leader_alive() {
            self.pgid.map(Pid::as_raw)
        } else {
            None
        }
    }

    /// Sends `signal` to everything the run owns: the group, and the cgroup's members
    /// outside it (once each: a process that gets SIGINT twice may take it as "now").
    /// "No such process" is no error: whatever it was meant for has ended.
    pub(crate) fn signal_all(&self, signal: NixSignal) -> io::Result<()> {
        self.signal_all_waking(signal, false)
    }

    /// Like [`signal_all`](Self::signal_all), and when `wake`, SIGCONT to every target
    /// before `signal` and again after it (see `Task::begin_graceful`), all from one listing
    /// of the cgroup's members: a graceful stop reads `cgroup.procs` once, not three times.
    /// Errors are `signal`'s only: a process that is gone needs no waking.
    pub(crate) fn signal_all_waking(&self, signal: NixSignal, wake: bool) -> io::Result<()> {
        let targets = self.signal_targets();
        let wake_all = || {
            if wake {
                for target in &targets {
                    let _ = target.send(NixSignal::SIGCONT);
                }
            }
        };
        wake_all();
        let mut result = Ok(());
        for target in &targets {
            match target.send(signal) {
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(err) => result = Err(io::Error::from(err)),
            }
        }
        wake_all();
        result
    }

    /// The group, and each member of the cgroup outside it.
    fn signal_targets(&self) -> Vec<Target> {
        let mut targets: Vec<Target> = self.pgid.map(Target::Group).into_iter().collect();
        #[cfg(target_os = "linux")]
        if let Some(cgroup) = &self.cgroup {
            let in_group = |pid: Pid| {
                self.pgid
                    .is_some_and(|pgid| nix::unistd::getpgid(Some(pid)) == Ok(pgid))
            };
            targets.extend(
                cgroup
                    .members()
                    .into_iter()
                    .map(Pid::from_raw)
                    .filter(|&pid| !in_group(pid))
                    .map(Target::Process),
            );
        }
        targets
    }

    /// SIGKILLs everything the run owns (the leader too, through its group).
    pub(crate) fn kill_all(&self) {
        if let Some(pgid) = self.pgid {
            let _ = killpg(pgid, NixSignal::SIGKILL);
        }
        #[cfg(target_os = "linux")]
        if let Some(cgroup) = &self.cgroup {
            cgroup.kill();
        }
    }

    /// Resolves once everything but the leader has ended. Event-driven where it can be: the
    /// cgroup's `cgroup.events`, else the orphan reaper's rounds; with a backstop re-check,
    /// which only runs while a run is draining.
    pub(crate) async fn others_ended(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(cgroup) = &self.cgroup {
            return cgroup.emptied().await;
        }
        let mut backstop = BACKSTOP_MIN;
        while !self.others_gone() {
            tokio::select! {
                _ = self.rounds.changed() => {}
                () = tokio::time::sleep(backstop) => {}
            }
            backstop = (backstop * 2).min(BACKSTOP_MAX);
        }
    }

    /// The next thing that needs the task: the end of the drain, or a child's change of
    /// state for the foreground grant. Pends forever when there is nothing to wait for.
    pub(crate) async fn next_event(&mut self) -> RunEvent {
        if self.leader_alive() {
            #[cfg(target_os = "linux")]
            if let Some(foreground) = &mut self.foreground {
                foreground.changed().await;
                return RunEvent::ChildChanged;
            }
            return std::future::pending().await;
        }
        let deadline = self.drain.flatten();
        tokio::select! {
            () = self.others_ended() => RunEvent::Emptied,
            () = sleep_until(deadline) => RunEvent::DrainDeadline,
        }
    }

    /// Marks the run over: everything has ended (or been given up on), so its drop kills
    /// nothing.
    pub(crate) fn over(&mut self) {
        self.over = true;
        #[cfg(target_os = "linux")]
        if let Some(foreground) = &mut self.foreground {
            foreground.release();
        }
    }
}

/// What one signal of a run goes to.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// The run's process group.
    Group(Pid),
    /// A process of the run's cgroup that left the group.
    Process(Pid),
}

impl Target {
    fn send(self, signal: NixSignal) -> nix::Result<()> {
        match self {
            Self::Group(pgid) => killpg(pgid, signal),
            Self::Process(pid) => kill(pid, signal),
        }
    }
}

async fn sleep_until(deadline: Option<TokioInstant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        // The task went away mid-run (deleted while draining, aborted, panicked): nothing it
        // owned may outlive it. The leader, if unreaped, goes to tokio's orphan queue with its
        // child handle, so the reaper may collect it too.
        if !self.over {
            self.kill_all();
        }
        #[cfg(target_os = "linux")]
        if let Some(foreground) = &mut self.foreground {
            foreground.release();
        }
        self.unregister();
    }
}
