//! [`CommandState`]: where a job's command is in its life (pending, running, finished), the
//! [`JobTaskContext`] hooks see, and the task-side slot that owns the running child and kills
//! its whole process group if the task goes away while it runs.

use std::sync::Arc;
use std::time::Instant;

use process_wrap::tokio::ChildWrapper;

use super::ProcessEnd;
use super::command::Command;

/// The state of a job's command.
#[derive(Debug)]
pub enum CommandState {
    /// Not started yet, or a spawn is about to happen (what spawn hooks see), or the last
    /// spawn failed.
    Pending,
    /// Running.
    Running {
        /// The child. For a grouped command its `signal`, `start_kill` and `id` act on the
        /// whole process group (the id of a group leader is the group id).
        child: Box<dyn ChildWrapper>,
        /// When it was spawned.
        started: Instant,
    },
    /// Ended (and was reaped).
    Finished {
        /// How it ended.
        status: ProcessEnd,
        /// When it was spawned.
        started: Instant,
        /// When its end was observed.
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
}

/// The job task's states, current and previous.
///
/// Its `Drop` is the guard that makes the job's process die with the task: whether the task
/// returns, is aborted, or panics, a still-running child gets SIGKILL, to its whole process
/// group when grouped (process-wrap's own kill-on-drop reaches only the leader).
#[derive(Debug)]
pub(crate) struct States {
    pub(crate) current: CommandState,
    pub(crate) previous: Option<CommandState>,
}

impl States {
    pub(crate) fn context(&self, command: &Arc<Command>) -> JobTaskContext<'_> {
        JobTaskContext {
            command: Arc::clone(command),
            current: &self.current,
            previous: self.previous.as_ref(),
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
/// (`ProcessGroupChild::start_kill` is `killpg`). Errors are ignored: this runs on paths
/// (drop, panic) where nobody could act on them, and the likely one, "no such process", means
/// the work is already done.
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
