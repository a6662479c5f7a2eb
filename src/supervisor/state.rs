//! [`CommandState`]: where a job's command is in its life (pending, running, finished), the
//! [`JobTaskContext`] hooks see (with the [`RunInfo`] of the run and, at a leader's own end,
//! its [`Leftovers`]), and the task-side slot that owns the running child and kills it if the
//! task goes away while it runs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use process_wrap::tokio::ChildWrapper;

use super::ProcessEnd;
use super::command::{Command, StopPolicy};

/// The state of a job's command.
#[derive(Debug)]
pub enum CommandState {
    /// Not started yet, or a spawn is about to happen (what spawn hooks see), or the last
    /// spawn failed.
    Pending,
    /// Running: for a grouped command, until everything the run owns has ended (the leader
    /// may have ended already, its leftovers not).
    Running {
        /// The child: the leader. For a grouped command its `signal` and `start_kill` act on
        /// the whole process group (the id of a group leader is the group id).
        child: Box<dyn ChildWrapper>,
        /// When it was spawned.
        started: Instant,
    },
    /// Ended: the leader was reaped and, for a grouped command, everything else the run
    /// owned has ended too.
    Finished {
        /// How the leader ended.
        status: ProcessEnd,
        /// When it was spawned.
        started: Instant,
        /// When the run's end (the last of its processes) was observed.
        finished: Instant,
    },
}

impl CommandState {
    /// Whether this is [`CommandState::Pending`].
    pub fn is_pending(&self) -> bool {
        matches!(self, Self::Pending)
    }

    /// Whether this is [`CommandState::Running`].
    pub fn is_running(&self) -> bool {
        matches!(self, Self::Running { .. })
    }

    /// Whether this is [`CommandState::Finished`].
    pub fn is_finished(&self) -> bool {
        matches!(self, Self::Finished { .. })
    }
}

/// What hooks and functions run in the job task see.
#[derive(Debug)]
pub struct JobTaskContext<'task> {
    /// The job's command.
    pub command: Arc<Command>,
    /// The current state. Spawn hooks and spawned hooks see `Pending`; exit hooks see
    /// `Finished`.
    pub current: &'task CommandState,
    /// The state before the current one began: the run that ended, when there was one.
    pub previous: Option<&'task CommandState>,
    /// What the current run owns (its pid, process group and cgroup): set from the spawned
    /// hook to the exit hook of that run (the exit hook sees the run that just ended);
    /// `None` in spawn hooks and when nothing runs.
    pub run: Option<&'task RunInfo>,
}

/// What one run of a job owns, for its owner to pass on (procmux tells its watchdog).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunInfo {
    /// The leader's pid: the job's pid.
    pub pid: u32,
    /// The process group the run owns (the leader's pid), when grouped.
    pub pgid: Option<u32>,
    /// The run's cgroup directory, under cgroup tracking. It is removed once the run has
    /// ended (after the exit hook).
    pub cgroup: Option<PathBuf>,
}

/// What a leader that ended by itself left behind, which the job is now stopping: the
/// leftovers hook's news.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Leftovers {
    /// How the leader ended (it is also the run's status, once the run ends).
    pub status: ProcessEnd,
    /// How many processes are left (in the process group, and in the cgroup outside it).
    pub count: usize,
    /// How they are being stopped: this signal (then SIGCONT) now, SIGKILL at the grace.
    pub stop: StopPolicy,
}

/// The job task's states, current and previous.
///
/// Its `Drop` is the guard that makes the job's process die with the task: whether the task
/// returns, is aborted, or panics, a still-running child gets SIGKILL, to its whole process
/// group when grouped (process-wrap's own kill-on-drop reaches only the leader). The run's
/// other processes (a cgroup's, a group whose leader was reaped) are the run guard's.
#[derive(Debug)]
pub(crate) struct States {
    pub(crate) current: CommandState,
    pub(crate) previous: Option<CommandState>,
    /// What the current run owns, for the context.
    pub(crate) run: Option<RunInfo>,
}

impl States {
    pub(crate) fn context(&self, command: &Arc<Command>) -> JobTaskContext<'_> {
        JobTaskContext {
            command: Arc::clone(command),
            current: &self.current,
            previous: self.previous.as_ref(),
            run: self.run.as_ref(),
        }
    }

    /// Makes `Pending` current, the old current becoming previous (unless it was `Pending`
    /// already, which would only hide the run before it).
    pub(crate) fn make_pending(&mut self) {
        if !self.current.is_pending() {
            self.previous = Some(std::mem::replace(&mut self.current, CommandState::Pending));
        }
    }

    pub(crate) fn child_mut(&mut self) -> Option<&mut Box<dyn ChildWrapper>> {
        match &mut self.current {
            CommandState::Running { child, .. } => Some(child),
            _ => None,
        }
    }
}

impl Drop for States {
    fn drop(&mut self) {
        if let Some(child) = self.child_mut() {
            kill_now(child.as_mut());
        }
    }
}

/// Sends SIGKILL to a child that has not been reaped: to its group when it leads one
/// (`GroupChild::start_kill` is `killpg`). Errors are ignored: this runs on paths (drop,
/// panic) where nobody could act on them, and the likely one, "no such process", means the
/// work is already done.
pub(crate) fn kill_now(child: &mut dyn ChildWrapper) {
    let _ = child.start_kill();
}

/// Owns a freshly spawned child until it is stored in the state, so that a panicking spawned
/// hook cannot leave it running.
pub(crate) struct SpawnGuard(pub(crate) Option<Box<dyn ChildWrapper>>);

impl SpawnGuard {
    pub(crate) fn child(&mut self) -> &mut dyn ChildWrapper {
        self.0
            .as_deref_mut()
            .expect("the guard holds the child until into_child")
    }

    pub(crate) fn into_child(mut self) -> Box<dyn ChildWrapper> {
        self.0
            .take()
            .expect("the guard holds the child until into_child")
    }
}

impl Drop for SpawnGuard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_deref_mut() {
            kill_now(child);
        }
    }
}
