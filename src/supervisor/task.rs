//! The job task: one loop over the running child's end and the control queue (with its stop
//! timer), turning each into a state transition.
//!
//! Invariants the loop keeps:
//! - a child is only ever dropped after it was reaped, or by the `States` guard, which kills
//!   its group first;
//! - every path that sees a child end goes through [`Task::ended`], so hooks, waiters and the
//!   pending graceful stop each see one end exactly once;
//! - the `running` flag changes before the ticket of the control that changed it resolves.

use std::io;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::time::Instant as TokioInstant;

use super::Signal;
use super::command::Command;
use super::errors::sync_io_error;
use super::messages::{
    AsyncErrorHandler, AsyncSpawnHook, Control, ControlMessage, Done, ExitHook, SpawnedHook,
    SyncErrorHandler, SyncSpawnHook,
};
use super::priority::{Next, Receiver};
use super::state::{CommandState, SpawnGuard, States, kill_now};

/// What the stop timer carries: whether to start again once the old process is gone, and the
/// ticket of the graceful control, which resolves only then.
#[derive(Debug)]
pub(crate) struct Graceful {
    restart: bool,
    done: Done,
}

enum SpawnHook {
    Sync(SyncSpawnHook),
    Async(AsyncSpawnHook),
}

enum ErrorHandler {
    Sync(SyncErrorHandler),
    Async(AsyncErrorHandler),
}

#[derive(Default)]
struct Hooks {
    spawn: Option<SpawnHook>,
    spawned: Option<SpawnedHook>,
    exit: Option<ExitHook>,
    error: Option<ErrorHandler>,
}

/// The state a job task owns.
///
/// Field order matters for drop (abort, panic): `states` first, so the process group is killed
/// before `waiters` and `queue` resolve the tickets that callers may be waiting on.
pub(crate) struct Task {
    states: States,
    /// The process group of the current or last grouped child, until swept.
    group: Option<u32>,
    /// Tickets of `to_wait` calls, resolved at the next end.
    waiters: Vec<Done>,
    hooks: Hooks,
    command: Arc<Command>,
    running: Arc<AtomicBool>,
    queue: Receiver<ControlMessage, Graceful>,
}

enum Event {
    Exited(io::Result<ExitStatus>),
    Next(Next<ControlMessage, Graceful>),
}

impl Task {
    pub(crate) fn new(
        command: Arc<Command>,
        running: Arc<AtomicBool>,
        queue: Receiver<ControlMessage, Graceful>,
    ) -> Self {
        Self {
            states: States {
                current: CommandState::Pending,
                previous: None,
            },
            group: None,
            waiters: Vec::new(),
            hooks: Hooks::default(),
            command,
            running,
            queue,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            let event = match self.states.child_mut() {
                Some(child) => tokio::select! {
                    status = child.wait() => Event::Exited(status),
                    next = self.queue.recv() => Event::Next(next),
                },
                None => Event::Next(self.queue.recv().await),
            };
            match event {
                Event::Exited(status) => {
                    let graceful = self.queue.disarm();
                    self.ended(status).await;
                    self.finish_graceful(graceful).await;
                }
                Event::Next(Next::TimerFired(graceful)) => {
                    self.kill_and_reap().await;
                    self.finish_graceful(Some(graceful)).await;
                }
                Event::Next(Next::Message(ControlMessage { control, done })) => {
                    if let Some(done) = self.handle(control, done).await {
                        // Deleted: close first, so `is_dead()` is true by the time the
                        // delete ticket resolves.
                        self.queue.close();
                        drop(done);
                        return;
                    }
                }
                Event::Next(Next::Abandoned) => {
                    // Every handle is gone: nobody can stop this process any more.
                    self.kill_and_reap().await;
                    return;
                }
            }
        }
    }

    /// Processes one control. Returns the ticket to resolve after closing when the job is to
    /// end; otherwise the ticket has been resolved, or handed to the stop timer.
    async fn handle(&mut self, control: Control, done: Done) -> Option<Done> {
        let running = self.states.current.is_running();
        match control {
            Control::Start if !running => self.spawn().await,
            Control::Stop => {
                self.kill_and_reap().await;
            }
            Control::GracefulStop { signal, grace } if running => {
                return self.begin_graceful(signal, grace, false, done).await;
            }
            Control::TryRestart if running => {
                if self.kill_and_reap().await {
                    self.spawn().await;
                }
            }
            Control::TryGracefulRestart { signal, grace } if running => {
                return self.begin_graceful(signal, grace, true, done).await;
            }
            Control::Signal(signal) if running => {
                self.signal(signal).await;
            }
            Control::Delete => {
                self.kill_and_reap().await;
                return Some(done);
            }
            Control::NextEnding if running => self.waiters.push(done),
            Control::SyncFunc(function) => function(&self.states.context(&self.command)),
            Control::AsyncFunc(function) => {
                let future = function(&self.states.context(&self.command));
                Box::into_pin(future).await;
            }
            Control::SetSyncSpawnHook(hook) => self.hooks.spawn = Some(SpawnHook::Sync(hook)),
            Control::SetAsyncSpawnHook(hook) => self.hooks.spawn = Some(SpawnHook::Async(hook)),
            Control::UnsetSpawnHook => self.hooks.spawn = None,
            Control::SetSpawnedHook(hook) => self.hooks.spawned = Some(hook),
            Control::UnsetSpawnedHook => self.hooks.spawned = None,
            Control::SetExitHook(hook) => self.hooks.exit = Some(hook),
            Control::UnsetExitHook => self.hooks.exit = None,
            Control::SetSyncErrorHandler(handler) => {
                self.hooks.error = Some(ErrorHandler::Sync(handler));
            }
            Control::SetAsyncErrorHandler(handler) => {
                self.hooks.error = Some(ErrorHandler::Async(handler));
            }
            Control::UnsetErrorHandler => self.hooks.error = None,
            // Start while running; stop, signal, restart or wait while not running: no-ops
            // by design, whose tickets resolve like any other.
            Control::Start
            | Control::GracefulStop { .. }
            | Control::TryRestart
            | Control::TryGracefulRestart { .. }
            | Control::Signal(_)
            | Control::NextEnding => {}
        }
        None
    }

    /// Signals the child and arms the stop timer, which from then on holds the ticket.
    async fn begin_graceful(
        &mut self,
        signal: Signal,
        grace: Duration,
        restart: bool,
        done: Done,
    ) -> Option<Done> {
        if self.signal(signal).await {
            let deadline = TokioInstant::now() + grace;
            // Graceful controls are Normal, and Normal is held back while armed, so nothing
            // can be armed here; if it were, its ticket would resolve as it is dropped.
            drop(self.queue.arm(deadline, Graceful { restart, done }));
        }
        None
    }

    async fn finish_graceful(&mut self, graceful: Option<Graceful>) {
        if let Some(Graceful { restart, done }) = graceful {
            if restart && !self.states.current.is_running() {
                self.spawn().await;
            }
            drop(done);
        }
    }

    /// Runs the spawn hook, spawns, runs the spawned hook, and makes the child current. A
    /// failed spawn goes to the error handler and leaves the state `Pending`.
    async fn spawn(&mut self) {
        self.states.make_pending();
        let mut wrap = self.command.to_spawnable();
        match &self.hooks.spawn {
            None => {}
            Some(SpawnHook::Sync(hook)) => hook(&mut wrap, &self.states.context(&self.command)),
            Some(SpawnHook::Async(hook)) => {
                let future = hook(&mut wrap, &self.states.context(&self.command));
                Box::into_pin(future).await;
            }
        }
        let child = match wrap.spawn() {
            Ok(child) => child,
            Err(err) => return self.report(err).await,
        };
        let started = Instant::now();
        let mut guard = SpawnGuard(Some(child));
        if self.command.options.owns_group() {
            self.group = guard.child().id();
        }
        if let Some(hook) = &self.hooks.spawned {
            hook(guard.child(), &self.states.context(&self.command));
        }
        self.states.current = CommandState::Running {
            child: guard.into_child(),
            started,
        };
        self.running.store(true, Ordering::SeqCst);
    }

    /// Sends a signal to the child (its group when grouped). Returns whether it was sent.
    async fn signal(&mut self, signal: Signal) -> bool {
        let Some(child) = self.states.child_mut() else {
            return false;
        };
        #[cfg(unix)]
        let sent = child.signal(signal.to_raw());
        #[cfg(not(unix))]
        let sent = match signal {
            Signal::ForceStop => child.start_kill(),
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("cannot send {signal} on this platform"),
            )),
        };
        match sent {
            Ok(()) => true,
            Err(err) => {
                self.report(err).await;
                false
            }
        }
    }

    /// Kills the child (its group when grouped) and waits for it to be reaped. Returns whether
    /// the job has no running child afterwards.
    async fn kill_and_reap(&mut self) -> bool {
        let Some(child) = self.states.child_mut() else {
            return true;
        };
        if let Err(err) = child.start_kill() {
            // "No such process" means it is already gone and waiting will not block; anything
            // else (a permission error) could leave us waiting forever, so give up on it.
            let gone = err.raw_os_error() == Some(nix::libc::ESRCH);
            self.report(err).await;
            if !gone {
                return false;
            }
        }
        let Some(child) = self.states.child_mut() else {
            return true;
        };
        let status = child.wait().await;
        self.ended(status).await;
        true
    }

    /// The one place a child's end is recorded: state, flag, group sweep, exit hook, waiters.
    async fn ended(&mut self, status: io::Result<ExitStatus>) {
        let started = match &self.states.current {
            CommandState::Running { started, .. } => *started,
            _ => return,
        };
        let reaped = match status {
            Ok(status) => {
                self.states.current = CommandState::Finished {
                    status: status.into(),
                    started,
                    finished: Instant::now(),
                };
                true
            }
            Err(err) => {
                // We cannot tell whether it still runs: make sure it does not, and forget it.
                if let Some(child) = self.states.child_mut() {
                    kill_now(child.as_mut());
                }
                self.states.current = CommandState::Pending;
                self.report(err).await;
                false
            }
        };
        self.running.store(false, Ordering::SeqCst);
        self.sweep_group();
        if reaped && let Some(hook) = &self.hooks.exit {
            hook(&self.states.context(&self.command));
        }
        self.waiters.clear();
    }

    /// Kills what is left of the group once its leader has ended (a shell's background jobs,
    /// daemons that forked), so no run of the job leaves processes behind.
    fn sweep_group(&mut self) {
        #[cfg(unix)]
        if let Some(group) = self.group.take().and_then(|g| i32::try_from(g).ok()) {
            use nix::sys::signal::{Signal as NixSignal, killpg};
            // While any member lives, the kernel keeps the group id allocated, so this
            // reaches exactly the leftovers. With none left, the id was freed when the leader
            // was reaped, microseconds ago; pids are handed out in sequence, so it cannot name
            // a new group yet, and the call fails with "no such process", which is fine.
            let _ = killpg(nix::unistd::Pid::from_raw(group), NixSignal::SIGKILL);
        }
    }

    async fn report(&self, err: io::Error) {
        match &self.hooks.error {
            None => tracing::debug!(command = %self.command, error = %err, "job error dropped"),
            Some(ErrorHandler::Sync(handler)) => handler(sync_io_error(err)),
            Some(ErrorHandler::Async(handler)) => Box::into_pin(handler(sync_io_error(err))).await,
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // The fields' own drops (in declaration order) then kill the child and resolve every
        // ticket; this makes `is_running()` false before any of those tickets resolves.
        self.running.store(false, Ordering::SeqCst);
    }
}
