//! The job task: one loop over the leader's end, the run's own events (its leftovers ending,
//! their deadline, a child's change of state) and the control queue (with its stop timer),
//! turning each into a state transition.
//!
//! Invariants the loop keeps:
//! - a child is only ever dropped after it was reaped, or by the `States` and `Run` guards,
//!   which kill what it owns first;
//! - a grouped run ends (state `Finished`, exit hook, waiters) only once everything it owns
//!   has ended, and every path that ends a run goes through [`Task::finish`], so hooks,
//!   waiters and the pending graceful stop each see one end exactly once;
//! - the `running` flag changes before the ticket of the control that changed it resolves.

mod ending;
mod spawn;

use std::io;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use process_wrap::tokio::ChildWrapper;
use tokio::time::Instant as TokioInstant;

use super::Signal;
use super::command::Command;
use super::errors::sync_io_error;
use super::messages::{
    AsyncErrorHandler, AsyncSpawnHook, Control, ControlMessage, Done, ExitHook, LeftoversHook,
    SpawnChildFn, SpawnFn, SpawnedHook, SyncErrorHandler, SyncSpawnHook,
};
use super::priority::{Next, Receiver};
use super::run::{Run, RunEvent};
use super::state::{CommandState, States};
use super::tracking::Tracker;

/// What the stop timer carries: whether to start again once the old run is over, and the
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

/// How the child is made, when not by `CommandWrap::spawn`.
#[derive(Clone)]
enum SpawnWith {
    Fn(SpawnFn),
    Child(SpawnChildFn),
}

enum ErrorHandler {
    Sync(SyncErrorHandler),
    Async(AsyncErrorHandler),
}

#[derive(Default)]
struct Hooks {
    spawn: Option<SpawnHook>,
    spawn_with: Option<SpawnWith>,
    spawned: Option<SpawnedHook>,
    exit: Option<ExitHook>,
    leftovers: Option<LeftoversHook>,
    error: Option<ErrorHandler>,
}

/// The state a job task owns.
///
/// Field order matters for drop (abort, panic): `run` first, so everything the run owns is
/// killed, then `states` (the leader), before `waiters` and `queue` resolve the tickets that
/// callers may be waiting on.
pub(crate) struct Task {
    run: Option<Run>,
    states: States,
    /// Tickets of `to_wait` calls, resolved at the next end.
    waiters: Vec<Done>,
    hooks: Hooks,
    command: Arc<Command>,
    tracker: Option<Arc<Tracker>>,
    running: Arc<AtomicBool>,
    queue: Receiver<ControlMessage, Graceful>,
}

enum Event {
    LeaderExited(io::Result<ExitStatus>),
    Run(RunEvent),
    Next(Next<ControlMessage, Graceful>),
}

/// The leader's end, while it is alive; pends forever otherwise.
async fn leader_exit(child: Option<&mut Box<dyn ChildWrapper>>) -> io::Result<ExitStatus> {
    match child {
        Some(child) => child.wait().await,
        None => std::future::pending().await,
    }
}

/// The run's next event, while there is a run; pends forever otherwise.
async fn run_event(run: Option<&mut Run>) -> RunEvent {
    match run {
        Some(run) => run.next_event().await,
        None => std::future::pending().await,
    }
}

/// `now + duration`, or `None` (no deadline) when that is too far away to represent.
pub(crate) fn deadline_after(duration: Duration) -> Option<TokioInstant> {
    TokioInstant::now().checked_add(duration)
}

impl Task {
    pub(crate) fn new(
        command: Arc<Command>,
        tracker: Option<Arc<Tracker>>,
        running: Arc<AtomicBool>,
        queue: Receiver<ControlMessage, Graceful>,
    ) -> Self {
        Self {
            run: None,
            states: States {
                current: CommandState::Pending,
                previous: None,
                run: None,
            },
            waiters: Vec::new(),
            hooks: Hooks::default(),
            command,
            tracker,
            running,
            queue,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            let event = {
                let leader_alive = self.run.as_ref().is_some_and(Run::leader_alive);
                let child = self.states.child_mut().filter(|_| leader_alive);
                tokio::select! {
                    status = leader_exit(child) => Event::LeaderExited(status),
                    event = run_event(self.run.as_mut()) => Event::Run(event),
                    next = self.queue.recv() => Event::Next(next),
                }
            };
            match event {
                Event::LeaderExited(Ok(status)) => self.leader_ended(status).await,
                Event::LeaderExited(Err(err)) => self.leader_lost(err).await,
                Event::Run(RunEvent::Emptied) => {
                    let graceful = self.queue.disarm();
                    self.finish().await;
                    self.finish_graceful(graceful).await;
                }
                Event::Run(RunEvent::DrainDeadline) => {
                    let graceful = self.queue.disarm();
                    self.kill_and_reap().await;
                    self.finish_graceful(graceful).await;
                }
                #[cfg(target_os = "linux")]
                Event::Run(RunEvent::ChildChanged) => {
                    if let Some(foreground) = self.run.as_mut().and_then(|r| r.foreground.as_mut())
                    {
                        foreground.on_child_changed();
                    }
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
                self.begin_graceful(signal, grace, false, done).await;
            }
            Control::TryRestart if running => {
                if self.kill_and_reap().await {
                    self.spawn().await;
                }
            }
            Control::TryGracefulRestart { signal, grace } if running => {
                self.begin_graceful(signal, grace, true, done).await;
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
            Control::SetSpawnFn(spawn) => self.hooks.spawn_with = Some(SpawnWith::Fn(spawn)),
            Control::SetSpawnChildFn(spawn) => {
                self.hooks.spawn_with = Some(SpawnWith::Child(spawn));
            }
            Control::ClearSpawnFn => self.hooks.spawn_with = None,
            Control::SetSpawnedHook(hook) => self.hooks.spawned = Some(hook),
            Control::UnsetSpawnedHook => self.hooks.spawned = None,
            Control::SetExitHook(hook) => self.hooks.exit = Some(hook),
            Control::UnsetExitHook => self.hooks.exit = None,
            Control::SetLeftoversHook(hook) => self.hooks.leftovers = Some(hook),
            Control::UnsetLeftoversHook => self.hooks.leftovers = None,
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

    /// Signals everything the run owns, then SIGCONT (so that a stopped process acts on the
    /// signal), and arms the stop timer, which from then on holds the ticket.
    ///
    /// A SIGCONT also goes first: when the stop signal ends the leader, a group left with a
    /// stopped member is orphaned, and the kernel then sends it SIGHUP (and SIGCONT), which
    /// would kill a stopped process before it could run its handler for the stop signal.
    /// Continued first, nothing is stopped when that happens.
    async fn begin_graceful(&mut self, signal: Signal, grace: Duration, restart: bool, done: Done) {
        if self.signal_waking(signal, !is_stop_signal(signal)).await {
            // Graceful controls are Normal, and Normal is held back while armed, so nothing
            // can be armed here; if it were, its ticket would resolve as it is dropped.
            drop(
                self.queue
                    .arm(deadline_after(grace), Graceful { restart, done }),
            );
        }
    }

    async fn finish_graceful(&mut self, graceful: Option<Graceful>) {
        if let Some(Graceful { restart, done }) = graceful {
            if restart && !self.states.current.is_running() {
                self.spawn().await;
            }
            drop(done);
        }
    }

    /// Sends a signal to the run: everything it owns when grouped, else the child. Returns
    /// whether it was sent.
    async fn signal(&mut self, signal: Signal) -> bool {
        self.signal_waking(signal, false).await
    }

    /// [`signal`](Self::signal), with SIGCONT to the same processes before and after it when
    /// `wake`.
    async fn signal_waking(&mut self, signal: Signal, wake: bool) -> bool {
        let owns_others = self.run.as_ref().is_some_and(Run::owns_others);
        #[cfg(unix)]
        let sent = if owns_others {
            match nix::sys::signal::Signal::try_from(signal.to_raw()) {
                Ok(nix) => self
                    .run
                    .as_ref()
                    .map_or(Ok(()), |run| run.signal_all_waking(nix, wake)),
                Err(err) => Err(io::Error::from(err)),
            }
        } else {
            let cont = nix::sys::signal::Signal::SIGCONT as i32;
            match self.states.child_mut() {
                Some(child) => {
                    if wake {
                        let _ = child.signal(cont);
                    }
                    let sent = child.signal(signal.to_raw());
                    if wake {
                        let _ = child.signal(cont);
                    }
                    sent
                }
                None => return false,
            }
        };
        #[cfg(not(unix))]
        let _ = wake;
        #[cfg(not(unix))]
        let sent = match (signal, self.states.child_mut()) {
            (_, None) => return false,
            (Signal::ForceStop, Some(child)) => child.start_kill(),
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

    /// SIGCONT to everything the run owns (errors ignored: a process that is gone needs no
    /// waking).
    fn continue_all(&mut self) {
        #[cfg(unix)]
        {
            use nix::sys::signal::Signal as Nix;
            match self.run.as_ref() {
                Some(run) if run.owns_others() => {
                    let _ = run.signal_all(Nix::SIGCONT);
                }
                _ => {
                    if let Some(child) = self.states.child_mut() {
                        let _ = child.signal(Nix::SIGCONT as i32);
                    }
                }
            }
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

/// Whether a signal pauses rather than ends: sending SIGCONT after it would undo it.
fn is_stop_signal(signal: Signal) -> bool {
    #[cfg(unix)]
    {
        use nix::sys::signal::Signal as Nix;
        matches!(
            nix::sys::signal::Signal::try_from(signal.to_raw()),
            Ok(Nix::SIGSTOP | Nix::SIGTSTP | Nix::SIGTTIN | Nix::SIGTTOU | Nix::SIGCONT)
        )
    }
    #[cfg(not(unix))]
    {
        let _ = signal;
        false
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // The fields' own drops (in declaration order) then kill what the run owns and
        // resolve every ticket; this makes `is_running()` false before any of those resolves.
        self.running
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }
}
