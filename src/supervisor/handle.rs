//! [`Job`], the handle to a job task, and [`start_job`] and [`start_job_with`], which make
//! one.

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
use super::state::{JobTaskContext, Leftovers};
use super::task::Task;
use super::tracking::Tracker;

/// Starts the task for a job that runs `command`, without starting the command: send
/// [`Job::start`] for that.
///
/// A grouped job started this way tracks its process group, as `watchexec-supervisor`
/// does: no cgroup, whatever the system offers. Use [`start_job_with`] for procmux's
/// tracking.
///
/// The task ends after [`Job::delete`] or [`Job::delete_now`], or once every clone of the
/// `Job` is dropped; it kills everything the command owns on the way out, including when the
/// returned handle is used to abort it. Must be called within a tokio runtime.
pub fn start_job(command: Arc<Command>) -> (Job, JoinHandle<()>) {
    start(command, None)
}

/// Like [`start_job`], with the tracking of `tracker`: under cgroup tracking, every run of a
/// grouped command gets its own cgroup, so that processes that leave the group are still
/// the job's (see [`tracking`](super::tracking)). The spawned hook learns each run's process
/// group and cgroup from [`JobTaskContext::run`].
pub fn start_job_with(command: Arc<Command>, tracker: Arc<Tracker>) -> (Job, JoinHandle<()>) {
    start(command, Some(tracker))
}

fn start(command: Arc<Command>, tracker: Option<Arc<Tracker>>) -> (Job, JoinHandle<()>) {
    let (sender, receiver) = queue();
    let running = Arc::new(AtomicBool::new(false));
    let task = Task::new(
        Arc::clone(&command),
        tracker,
        Arc::clone(&running),
        receiver,
    );
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

    /// Kills the command at once (SIGKILL, to everything it owns when grouped) and waits for
    /// all of it to end; a no-op if it is not running. For a polite stop, use
    /// [`stop_with_signal`](Self::stop_with_signal).
    pub fn stop(&self) -> Ticket {
        self.control(Control::Stop)
    }

    /// Sends `signal` (to everything the command owns when grouped), then SIGCONT (so that a
    /// stopped process acts on it), and waits up to `grace` for all of it to end, then kills
    /// what is left. A shell that dies at once does not end the stop: its children have the
    /// same grace. The ticket resolves once everything has ended or been killed. Meanwhile,
    /// normal-priority controls wait; `delete_now` and `to_wait` do not. A `grace` too long
    /// to add to the current time means no deadline. A no-op if the command is not running.
    ///
    /// Off Unix, where there are no signals to send, this is [`stop`](Self::stop), as in
    /// `watchexec-supervisor`.
    pub fn stop_with_signal(&self, signal: Signal, grace: Duration) -> Ticket {
        if cfg!(unix) {
            self.control(Control::GracefulStop { signal, grace })
        } else {
            self.stop()
        }
    }

    /// Kills the command if running, then starts it (again or for the first time).
    pub fn restart(&self) -> Ticket {
        self.send_all([Control::Stop, Control::Start])
    }

    /// Stops the command as [`stop_with_signal`](Self::stop_with_signal) does, then starts
    /// it; the new process starts only after everything the old one owned has ended (its
    /// ports and files are free).
    pub fn restart_with_signal(&self, signal: Signal, grace: Duration) -> Ticket {
        if cfg!(unix) {
            self.send_all([Control::GracefulStop { signal, grace }, Control::Start])
        } else {
            self.restart()
        }
    }

    /// If the command is running, kills it and starts it again; otherwise a no-op.
    pub fn try_restart(&self) -> Ticket {
        self.control(Control::TryRestart)
    }

    /// If the command is running, stops it gracefully and starts exactly one new process once
    /// the old one has ended (or was killed at the deadline); otherwise a no-op.
    pub fn try_restart_with_signal(&self, signal: Signal, grace: Duration) -> Ticket {
        if cfg!(unix) {
            self.control(Control::TryGracefulRestart { signal, grace })
        } else {
            self.try_restart()
        }
    }

    /// Sends a signal to the command (to everything it owns when grouped: the group, and
    /// cgroup members outside it); a no-op if it is not running.
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

    /// Resolves when the running command next ends (everything it owns, when grouped), or at
    /// once if it is not running (also when it was never started). Jumps ahead of
    /// normal-priority controls.
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
        self.control(Control::SetSyncSpawnHook(Arc::new(hook)))
    }

    /// Like [`set_spawn_hook`](Self::set_spawn_hook); the spawn waits for the returned future.
    pub fn set_spawn_async_hook(
        &self,
        hook: impl Fn(&mut CommandWrap, &JobTaskContext<'_>) -> HookFuture + Send + Sync + 'static,
    ) -> Ticket {
        self.control(Control::SetAsyncSpawnHook(Arc::new(hook)))
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
    /// `child.stderr().take()`, after the spawn hook asked for `Stdio::piped()`) and reads
    /// its pid (`child.id()`, the job's pid) and what the run owns (`ctx.run`: its process
    /// group and cgroup, for a watchdog). The job keeps the child itself, to wait on and
    /// signal. Replaces any spawned hook. See the module docs for a complete example.
    pub fn set_spawned_hook(
        &self,
        hook: impl Fn(&mut dyn ChildWrapper, &JobTaskContext<'_>) + Send + Sync + 'static,
    ) -> Ticket {
        self.control(Control::SetSpawnedHook(Arc::new(hook)))
    }

    /// Removes the spawned hook.
    pub fn unset_spawned_hook(&self) -> Ticket {
        self.control(Control::UnsetSpawnedHook)
    }

    /// Sets the function called in the job task after every end of the command, whatever
    /// caused it (its own exit or crash, a stop, a kill at the deadline, a restart), with
    /// `current` set to `Finished { status, .. }` (the leader's status). For a grouped
    /// command that is once everything the run owned has ended, not when the leader did. It
    /// runs before the tickets waiting on that end resolve, and before a restart spawns the
    /// next process. Replaces any exit hook.
    ///
    /// If waiting on the child fails (which the OS should never let happen), the error goes to
    /// the error handler, the child is killed, the state becomes `Pending`, and this hook is
    /// not called: there is no status to report.
    pub fn set_exit_hook(
        &self,
        hook: impl Fn(&JobTaskContext<'_>) + Send + Sync + 'static,
    ) -> Ticket {
        self.control(Control::SetExitHook(Arc::new(hook)))
    }

    /// Removes the exit hook.
    pub fn unset_exit_hook(&self) -> Ticket {
        self.control(Control::UnsetExitHook)
    }

    /// Sets the function called when a grouped command's leader ends by itself (not under a
    /// stop) and leaves processes behind, just before the job stops them (with
    /// [`SpawnOptions::leftover_stop`](super::command::SpawnOptions::leftover_stop)): it is
    /// told the leader's status, how many are left and how they will be stopped, to say
    /// `web exited with code 0; stopping 2 leftover processes`. The run, and the exit hook,
    /// come once they have ended. Replaces any leftovers hook.
    pub fn set_leftovers_hook(
        &self,
        hook: impl Fn(&JobTaskContext<'_>, &Leftovers) + Send + Sync + 'static,
    ) -> Ticket {
        self.control(Control::SetLeftoversHook(Arc::new(hook)))
    }

    /// Removes the leftovers hook.
    pub fn unset_leftovers_hook(&self) -> Ticket {
        self.control(Control::UnsetLeftoversHook)
    }

    /// Sets the spawn function: the job spawns with
    /// [`CommandWrap::spawn_with`](process_wrap::tokio::CommandWrap::spawn_with) and this,
    /// which gets the prepared `tokio::process::Command` and returns the spawned child,
    /// instead of `CommandWrap::spawn`. Every wrapper (group, cgroup, ...) still applies, so
    /// this only replaces the low-level spawn step (to delegate it to a privileged helper, for
    /// example). Replaces any spawn function or spawn child function.
    pub fn set_spawn_fn(
        &self,
        spawn: impl Fn(&mut tokio::process::Command) -> std::io::Result<tokio::process::Child>
        + Send
        + Sync
        + 'static,
    ) -> Ticket {
        self.control(Control::SetSpawnFn(Arc::new(spawn)))
    }

    /// Removes the spawn function (or spawn child function: they share one place): the job
    /// spawns with `CommandWrap::spawn` again.
    pub fn unset_spawn_fn(&self) -> Ticket {
        self.control(Control::ClearSpawnFn)
    }

    /// Sets the spawn child function, for processes made by an external launcher: the job
    /// spawns with
    /// [`CommandWrap::spawn_with_child`](process_wrap::tokio::CommandWrap::spawn_with_child)
    /// and this, which gets the prepared `tokio::process::Command` (to use or ignore) and
    /// returns any [`ChildWrapper`]; the job supervises that child as its own. The wrappers'
    /// pre-spawn steps apply to the prepared command only, so such a child has no cgroup, and
    /// is treated as grouped only if it really leads its own process group. Replaces any spawn
    /// function or spawn child function.
    pub fn set_spawn_child_fn(
        &self,
        spawn: impl Fn(&mut tokio::process::Command) -> std::io::Result<Box<dyn ChildWrapper>>
        + Send
        + Sync
        + 'static,
    ) -> Ticket {
        self.control(Control::SetSpawnChildFn(Arc::new(spawn)))
    }

    /// Removes the spawn child function (or spawn function: they share one place).
    pub fn unset_spawn_child_fn(&self) -> Ticket {
        self.control(Control::ClearSpawnFn)
    }

    /// Sets the function that receives errors from spawning, signalling, killing and waiting.
    /// Without one, errors are dropped (and logged at debug level).
    pub fn set_error_handler(
        &self,
        handler: impl Fn(SyncIoError) + Send + Sync + 'static,
    ) -> Ticket {
        self.control(Control::SetSyncErrorHandler(Arc::new(handler)))
    }

    /// Like [`set_error_handler`](Self::set_error_handler); the task waits for the returned
    /// future.
    pub fn set_async_error_handler(
        &self,
        handler: impl Fn(SyncIoError) -> HookFuture + Send + Sync + 'static,
    ) -> Ticket {
        self.control(Control::SetAsyncErrorHandler(Arc::new(handler)))
    }

    /// Removes the error handler.
    pub fn unset_error_handler(&self) -> Ticket {
        self.control(Control::UnsetErrorHandler)
    }
}
