//! [`Job`], the handle to a job task, and [`start_job`], which makes one.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use process_wrap::tokio::{ChildWrapper, CommandWrap};
use tokio::task::JoinHandle;

use super::Signal;
use super::command::Command;
use super::errors::SyncIoError;
use super::messages::{Control, ControlMessage, HookFuture, Ticket};
use super::priority::{Priority, Sender, queue};
use super::state::JobTaskContext;
use super::task::Task;

/// Starts the task for a job that runs `command`, without starting the command: send
/// [`Job::start`] for that.
///
/// The task ends after [`Job::delete`] or [`Job::delete_now`], or once every clone of the
/// `Job` is dropped; it kills the command's process group (when grouped) on the way out,
/// including when the returned handle is used to abort it. Must be called within a tokio
/// runtime.
pub fn start_job(command: Arc<Command>) -> (Job, JoinHandle<()>) {
    let (sender, receiver) = queue();
    let running = Arc::new(AtomicBool::new(false));
    let task = Task::new(Arc::clone(&command), Arc::clone(&running), receiver);
    let handle = tokio::spawn(task.run());
    let job = Job {
        command,
        shared: Arc::new(Shared { sender, running }),
    };
    (job, handle)
}

/// A handle to a job: one supervised command, run and controlled by its own task.
///
/// Cheap to clone; every clone controls the same job. Controls run in the order they were
/// sent (by priority first: see the module docs), each returning a [`Ticket`] that resolves
/// when it has been processed. When the last clone is dropped, the job kills its process and
/// ends, so a hook must not hold a clone of its own job (that would keep it alive forever).
#[derive(Clone)]
pub struct Job {
    command: Arc<Command>,
    shared: Arc<Shared>,
}

// Handles and tickets move between tasks and threads.
const _: () = {
    const fn assert_shareable<T: Send + Sync + Clone>() {}
    const fn assert_send<T: Send + Unpin>() {}
    assert_shareable::<Job>();
    assert_send::<Ticket>();
};

/// What all clones of a job share. Its drop (with the last clone) tells the task it is
/// abandoned.
struct Shared {
    sender: Sender<ControlMessage>,
    running: Arc<AtomicBool>,
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("command", &self.command.to_string())
            .field("running", &self.is_running())
            .field("dead", &self.is_dead())
            .finish()
    }
}

impl Job {
    /// The command this job runs.
    pub fn command(&self) -> Arc<Command> {
        Arc::clone(&self.command)
    }

    /// Whether the job task has ended (deleted, every handle dropped, aborted or panicked).
    /// Controls sent to a dead job never run and their tickets are already resolved.
    pub fn is_dead(&self) -> bool {
        self.shared.sender.is_closed()
    }

    /// Whether the command is running, as far as the job task knows: exact once the ticket of
    /// the control that started or stopped it has resolved; a process that ends on its own is
    /// seen as ended as soon as the task has reaped it.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::SeqCst)
    }

    fn send(&self, control: Control, priority: Priority) -> Ticket {
        let (ticket, done) = Ticket::pair();
        self.shared
            .sender
            .send(ControlMessage { control, done }, priority);
        ticket
    }

    /// Sends several controls back to back (no other control can come between them) and
    /// returns the ticket of the last.
    fn send_all<const N: usize>(&self, controls: [Control; N]) -> Ticket {
        let mut last = None;
        let messages = controls.map(|control| {
            let (ticket, done) = Ticket::pair();
            last = Some(ticket);
            ControlMessage { control, done }
        });
        self.shared.sender.send_all(messages, Priority::Normal);
        last.unwrap_or_else(Ticket::resolved)
    }

    /// Sends a control at normal priority.
    pub fn control(&self, control: Control) -> Ticket {
        self.send(control, Priority::Normal)
    }

    /// Starts the command; a no-op if it is running.
    pub fn start(&self) -> Ticket {
        self.control(Control::Start)
    }

    /// Kills the command at once (SIGKILL, to the whole group when grouped) and waits for it
    /// to end; a no-op if it is not running. For a polite stop, use
    /// [`stop_with_signal`](Self::stop_with_signal).
    pub fn stop(&self) -> Ticket {
        self.control(Control::Stop)
    }

    /// Sends `signal` (to the whole group when grouped) and waits up to `grace` for the
    /// command to end, then kills the group. The ticket resolves once the command has ended
    /// or been killed and reaped. Meanwhile, normal-priority controls wait; `delete_now` and
    /// `to_wait` do not. A no-op if the command is not running.
    pub fn stop_with_signal(&self, signal: Signal, grace: Duration) -> Ticket {
        self.control(Control::GracefulStop { signal, grace })
    }

    /// Kills the command if running, then starts it (again or for the first time).
    pub fn restart(&self) -> Ticket {
        self.send_all([Control::Stop, Control::Start])
    }

    /// Stops the command as [`stop_with_signal`](Self::stop_with_signal) does, then starts
    /// it; the new process starts only after the old one has ended.
    pub fn restart_with_signal(&self, signal: Signal, grace: Duration) -> Ticket {
        self.send_all([Control::GracefulStop { signal, grace }, Control::Start])
    }

    /// If the command is running, kills it and starts it again; otherwise a no-op.
    pub fn try_restart(&self) -> Ticket {
        self.control(Control::TryRestart)
    }

    /// If the command is running, stops it gracefully and starts exactly one new process once
    /// the old one has ended (or was killed at the deadline); otherwise a no-op.
    pub fn try_restart_with_signal(&self, signal: Signal, grace: Duration) -> Ticket {
        self.control(Control::TryGracefulRestart { signal, grace })
    }

    /// Sends a signal to the command (its group when grouped); a no-op if it is not running.
    pub fn signal(&self, signal: Signal) -> Ticket {
        self.control(Control::Signal(signal))
    }

    /// After the controls already queued, kills the command if running and ends the job.
    pub fn delete(&self) -> Ticket {
        self.control(Control::Delete)
    }

    /// Kills the command if running and ends the job, before any control still queued.
    pub fn delete_now(&self) -> Ticket {
        self.send(Control::Delete, Priority::Urgent)
    }

    /// Resolves when the running command next ends, or at once if it is not running (also
    /// when it was never started). Jumps ahead of normal-priority controls.
    pub fn to_wait(&self) -> Ticket {
        self.send(Control::NextEnding, Priority::High)
    }

    /// Runs a function in the job task, with the current state.
    pub fn run(
        &self,
        function: impl FnOnce(&JobTaskContext<'_>) + Send + Sync + 'static,
    ) -> Ticket {
        self.control(Control::SyncFunc(Box::new(function)))
    }

    /// Runs an async function in the job task; the task waits for the future it returns.
    pub fn run_async(
        &self,
        function: impl FnOnce(&JobTaskContext<'_>) -> HookFuture + Send + Sync + 'static,
    ) -> Ticket {
        self.control(Control::AsyncFunc(Box::new(function)))
    }

    /// Sets the function called before every spawn, with the [`CommandWrap`] about to be
    /// spawned (set stdio, environment, working directory, more wrappers here) and a context
    /// whose `current` is `Pending` and `previous` the run that ended, if any. Replaces any
    /// spawn hook, sync or async.
    pub fn set_spawn_hook(
        &self,
        hook: impl Fn(&mut CommandWrap, &JobTaskContext<'_>) + Send + Sync + 'static,
    ) -> Ticket {
        self.control(Control::SetSyncSpawnHook(Box::new(hook)))
    }

    /// Like [`set_spawn_hook`](Self::set_spawn_hook); the spawn waits for the returned future.
    pub fn set_spawn_async_hook(
        &self,
        hook: impl Fn(&mut CommandWrap, &JobTaskContext<'_>) -> HookFuture + Send + Sync + 'static,
    ) -> Ticket {
        self.control(Control::SetAsyncSpawnHook(Box::new(hook)))
    }

    /// Removes the spawn hook.
    pub fn unset_spawn_hook(&self) -> Ticket {
        self.control(Control::UnsetSpawnHook)
    }

    /// Sets the function called in the job task right after every successful spawn (first
    /// start and every restart), before the state becomes `Running`, with the freshly spawned
    /// child and a context whose `current` is `Pending`.
    ///
    /// This is where an owner takes the child's pipes (`child.stdout().take()`,
    /// `child.stderr().take()`, after the spawn hook asked for `Stdio::piped()`) and reads its
    /// pid (`child.id()`; for a grouped command also the process group id). The job keeps the
    /// child itself, to wait on and signal. Replaces any spawned hook. See the module docs for
    /// a complete example.
    pub fn set_spawned_hook(
        &self,
        hook: impl Fn(&mut dyn ChildWrapper, &JobTaskContext<'_>) + Send + Sync + 'static,
    ) -> Ticket {
        self.control(Control::SetSpawnedHook(Box::new(hook)))
    }

    /// Removes the spawned hook.
    pub fn unset_spawned_hook(&self) -> Ticket {
        self.control(Control::UnsetSpawnedHook)
    }

    /// Sets the function called in the job task after every observed end of the command,
    /// whatever caused it (its own exit or crash, a stop, a kill at the deadline, a restart),
    /// with `current` set to `Finished { status, .. }`. It runs before the tickets waiting on
    /// that end resolve, and before a restart spawns the next process. Replaces any exit hook.
    ///
    /// If waiting on the child fails (which the OS should never let happen), the error goes to
    /// the error handler, the child is killed, the state becomes `Pending`, and this hook is
    /// not called: there is no status to report.
    pub fn set_exit_hook(
        &self,
        hook: impl Fn(&JobTaskContext<'_>) + Send + Sync + 'static,
    ) -> Ticket {
        self.control(Control::SetExitHook(Box::new(hook)))
    }

    /// Removes the exit hook.
    pub fn unset_exit_hook(&self) -> Ticket {
        self.control(Control::UnsetExitHook)
    }

    /// Sets the function that receives errors from spawning, signalling, killing and waiting.
    /// Without one, errors are dropped (and logged at debug level).
    pub fn set_error_handler(
        &self,
        handler: impl Fn(SyncIoError) + Send + Sync + 'static,
    ) -> Ticket {
        self.control(Control::SetSyncErrorHandler(Box::new(handler)))
    }

    /// Like [`set_error_handler`](Self::set_error_handler); the task waits for the returned
    /// future.
    pub fn set_async_error_handler(
        &self,
        handler: impl Fn(SyncIoError) -> HookFuture + Send + Sync + 'static,
    ) -> Ticket {
        self.control(Control::SetAsyncErrorHandler(Box::new(handler)))
    }

    /// Removes the error handler.
    pub fn unset_error_handler(&self) -> Ticket {
        self.control(Control::UnsetErrorHandler)
    }
}
