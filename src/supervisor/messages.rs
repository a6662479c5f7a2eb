//! What travels from a [`Job`](super::job::Job) handle to its task: [`Control`]s, each with
//! the sending half of its [`Ticket`], and the hook types the controls carry.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use process_wrap::tokio::{ChildWrapper, CommandWrap};

use super::Signal;
use super::errors::SyncIoError;
use super::state::{JobTaskContext, Leftovers};

/// A boxed future returned by the asynchronous hooks. It must not borrow from the context: copy
/// out what it needs before the `async move` block.
pub type HookFuture = Box<dyn Future<Output = ()> + Send>;

/// A one-off function run in the job task: see [`Job::run`](super::job::Job::run).
pub type SyncFunc = Box<dyn FnOnce(&JobTaskContext<'_>) + Send + Sync + 'static>;
/// A one-off async function run in the job task: see [`Job::run_async`](super::job::Job::run_async).
pub type AsyncFunc = Box<dyn FnOnce(&JobTaskContext<'_>) -> HookFuture + Send + Sync + 'static>;
/// Called before every spawn with the command about to be spawned.
pub type SyncSpawnHook = Arc<dyn Fn(&mut CommandWrap, &JobTaskContext<'_>) + Send + Sync>;
/// Called before every spawn; the spawn waits for the returned future.
pub type AsyncSpawnHook =
    Arc<dyn Fn(&mut CommandWrap, &JobTaskContext<'_>) -> HookFuture + Send + Sync>;
/// Called right after every successful spawn with the freshly spawned child.
pub type SpawnedHook = Arc<dyn Fn(&mut dyn ChildWrapper, &JobTaskContext<'_>) + Send + Sync>;
/// Called after every end of a run (once everything it owned has ended).
pub type ExitHook = Arc<dyn Fn(&JobTaskContext<'_>) + Send + Sync>;
/// Called when a grouped job's leader ended by itself and left processes behind, which the job
/// is about to stop: see [`Job::set_leftovers_hook`](super::job::Job::set_leftovers_hook).
pub type LeftoversHook = Arc<dyn Fn(&JobTaskContext<'_>, &Leftovers) + Send + Sync>;
/// Receives errors from spawning, signalling, killing and waiting.
pub type SyncErrorHandler = Arc<dyn Fn(SyncIoError) + Send + Sync>;
/// Receives errors; the job task waits for the returned future.
pub type AsyncErrorHandler = Arc<dyn Fn(SyncIoError) -> HookFuture + Send + Sync>;
/// Replaces the low-level spawn step: receives the prepared [`tokio::process::Command`] and
/// returns the spawned child. Every wrapper still applies around it. See
/// [`Job::set_spawn_fn`](super::job::Job::set_spawn_fn).
pub type SpawnFn =
    Arc<dyn Fn(&mut tokio::process::Command) -> io::Result<tokio::process::Child> + Send + Sync>;
/// Replaces the spawn step with one that makes the child some other way (an external
/// launcher): receives the prepared command and returns any [`ChildWrapper`]. See
/// [`Job::set_spawn_child_fn`](super::job::Job::set_spawn_child_fn).
pub type SpawnChildFn =
    Arc<dyn Fn(&mut tokio::process::Command) -> io::Result<Box<dyn ChildWrapper>> + Send + Sync>;

/// An instruction to a job task. The [`Job`](super::job::Job) methods send these; sending one
/// directly with [`Job::control`](super::job::Job::control) queues it at normal priority.
#[non_exhaustive]
pub enum Control {
    /// Start the command if it is not running.
    Start,
    /// Kill the command (SIGKILL, to the whole group when grouped) and wait for it to end.
    Stop,
    /// Send `signal`, then kill at the end of `grace` if the command has not ended.
    GracefulStop {
        /// The signal asking the command to end.
        signal: Signal,
        /// How long to wait before killing it.
        grace: Duration,
    },
    /// If running, kill and start again.
    TryRestart,
    /// If running, stop gracefully and then start again, exactly once.
    TryGracefulRestart {
        /// The signal asking the command to end.
        signal: Signal,
        /// How long to wait before killing it.
        grace: Duration,
    },
    /// Send a signal if running.
    Signal(Signal),
    /// Kill the command if running, then end the job task.
    Delete,
    /// Resolve when the running command next ends; at once if it is not running.
    NextEnding,
    /// Run a function in the job task.
    SyncFunc(SyncFunc),
    /// Run an async function in the job task, waiting for it.
    AsyncFunc(AsyncFunc),
    /// Set the spawn hook.
    SetSyncSpawnHook(SyncSpawnHook),
    /// Set the async spawn hook.
    SetAsyncSpawnHook(AsyncSpawnHook),
    /// Remove the spawn hook.
    UnsetSpawnHook,
    /// Set the hook that receives every freshly spawned child.
    SetSpawnedHook(SpawnedHook),
    /// Remove the spawned hook.
    UnsetSpawnedHook,
    /// Set the hook called after every end of a child.
    SetExitHook(ExitHook),
    /// Remove the exit hook.
    UnsetExitHook,
    /// Set the error handler.
    SetSyncErrorHandler(SyncErrorHandler),
    /// Set the async error handler.
    SetAsyncErrorHandler(AsyncErrorHandler),
    /// Remove the error handler: errors are then dropped.
    UnsetErrorHandler,
    /// Set the spawn function (replacing a spawn child function).
    SetSpawnFn(SpawnFn),
    /// Set the spawn child function (replacing a spawn function).
    SetSpawnChildFn(SpawnChildFn),
    /// Remove the spawn function or spawn child function: spawn normally again.
    ClearSpawnFn,
    /// Set the hook told about the leftovers of a leader that ended by itself.
    SetLeftoversHook(LeftoversHook),
    /// Remove the leftovers hook.
    UnsetLeftoversHook,
}

impl fmt::Debug for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Start => "Start",
            Self::Stop => "Stop",
            Self::GracefulStop { signal, grace } => {
                return write!(f, "GracefulStop({signal}, {grace:?})");
            }
            Self::TryRestart => "TryRestart",
            Self::TryGracefulRestart { signal, grace } => {
                return write!(f, "TryGracefulRestart({signal}, {grace:?})");
            }
            Self::Signal(signal) => return write!(f, "Signal({signal})"),
            Self::Delete => "Delete",
            Self::NextEnding => "NextEnding",
            Self::SyncFunc(_) => "SyncFunc",
            Self::AsyncFunc(_) => "AsyncFunc",
            Self::SetSyncSpawnHook(_) => "SetSyncSpawnHook",
            Self::SetAsyncSpawnHook(_) => "SetAsyncSpawnHook",
            Self::UnsetSpawnHook => "UnsetSpawnHook",
            Self::SetSpawnedHook(_) => "SetSpawnedHook",
            Self::UnsetSpawnedHook => "UnsetSpawnedHook",
            Self::SetExitHook(_) => "SetExitHook",
            Self::UnsetExitHook => "UnsetExitHook",
            Self::SetSyncErrorHandler(_) => "SetSyncErrorHandler",
            Self::SetAsyncErrorHandler(_) => "SetAsyncErrorHandler",
            Self::UnsetErrorHandler => "UnsetErrorHandler",
            Self::SetSpawnFn(_) => "SetSpawnFn",
            Self::SetSpawnChildFn(_) => "SetSpawnChildFn",
            Self::ClearSpawnFn => "ClearSpawnFn",
            Self::SetLeftoversHook(_) => "SetLeftoversHook",
            Self::UnsetLeftoversHook => "UnsetLeftoversHook",
        };
        f.write_str(name)
    }
}

/// A control on its way to the task, with what resolves its ticket.
#[derive(Debug)]
pub(crate) struct ControlMessage {
    pub(crate) control: Control,
    pub(crate) done: Done,
}

/// What a ticket and its control share: whether the control is over, and who waits for it.
#[derive(Debug, Default)]
struct TicketState {
    done: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl TicketState {
    fn wakers(&self) -> std::sync::MutexGuard<'_, Vec<Waker>> {
        // Pushing or taking wakers cannot leave the vector inconsistent.
        self.wakers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The task's half of a ticket. The ticket resolves when this is dropped, whether because the
/// control was processed or because the task died with it still queued: that is what makes
/// tickets unable to hang.
#[derive(Debug)]
pub(crate) struct Done(Arc<TicketState>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.done.store(true, Ordering::SeqCst);
        let wakers = std::mem::take(&mut *self.0.wakers());
        for waker in wakers {
            waker.wake();
        }
    }
}

/// A future that resolves when its control has been processed, or when the job is gone.
///
/// Dropping a ticket does not cancel its control; awaiting it is optional, so
/// `job.start(); job.signal(Signal::User1); job.stop().await` sends three controls and waits
/// for all three (they run in order). Clones resolve together.
#[derive(Debug, Clone)]
pub struct Ticket(Option<Arc<TicketState>>);

impl Ticket {
    /// A ticket and the `Done` that resolves it.
    pub(crate) fn pair() -> (Self, Done) {
        let state = Arc::new(TicketState::default());
        (Self(Some(Arc::clone(&state))), Done(state))
    }

    /// A ticket that is already resolved, for controls sent to a job that is gone.
    pub(crate) fn resolved() -> Self {
        Self(None)
    }
}

impl Future for Ticket {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(state) = &self.0 else {
            return Poll::Ready(());
        };
        if state.done.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        let mut wakers = state.wakers();
        // Checked again under the lock: `Done` sets the flag before it takes the wakers.
        if state.done.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        if !wakers.iter().any(|waker| waker.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
