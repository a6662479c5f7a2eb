//! What the coordinator reacts to ([`Event`]) and what it decides to do ([`Action`]).
//!
//! Every producer (job hooks, timers, readiness checks, signals, the output writer, the file
//! watcher, control requests) sends [`Event`]s into one channel; [`Fleet::handle`](super::Fleet::handle)
//! turns each into [`Action`]s, which the runner carries out. Keeping the two apart lets every
//! decision be tested without spawning a process.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::manifest::{InstanceSpec, Manifest, ReadyCheck};
use crate::supervisor::{ProcessEnd, Signal};

use super::messages::Message;

/// Which instance of which process: stable across reloads, unlike the display name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceKey {
    /// The process name from the manifest (`web`).
    pub process: String,
    /// The instance number, 1-based.
    pub index: u32,
}

impl InstanceKey {
    /// The key of an instance spec.
    pub fn of(spec: &InstanceSpec) -> Self {
        Self {
            process: spec.process.clone(),
            index: spec.index,
        }
    }
}

/// A timer the fleet armed: which instance, which job of it, and what for. Arming a key again
/// replaces its timer; cancelling a key that has none is a no-op.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimerKey {
    /// Which instance.
    pub key: InstanceKey,
    /// Which job of that instance.
    pub generation: u64,
    /// What the timer is for.
    pub purpose: TimerPurpose,
}

/// What a timer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerPurpose {
    /// The restart delay of the backoff ran out.
    Restart,
}

/// A control request, in the fleet's own terms (the socket protocol maps onto these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlVerb {
    /// Restart these processes or instances (starting those that do not run).
    Restart(Vec<String>),
    /// Stop these processes or instances and keep them stopped.
    Stop(Vec<String>),
    /// Stop the whole stack, as SIGTERM would.
    StopAll,
}

/// How a control request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlOutcome {
    /// Done: a one-line result.
    Done(String),
    /// A name that is no process or instance; nothing was changed. The message has the
    /// did-you-mean.
    UnknownName(String),
    /// The action could not be done (for example: procmux is shutting down).
    Failed(String),
}

/// A reloaded manifest, with the warnings of its load rendered on one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// The new manifest.
    pub manifest: Manifest,
    /// Warnings of the load (dropped Procfile lines, undefined variables...).
    pub warnings: Vec<String>,
}

/// Something that happened, as the coordinator sees it.
///
/// Events about an instance carry the generation of the job they came from; an event from a
/// job that has since been replaced (by a reload) is stale and ignored.
#[derive(Debug)]
pub enum Event {
    /// A process was spawned.
    Spawned {
        /// Which instance.
        key: InstanceKey,
        /// Which job of that instance.
        generation: u64,
        /// Its pid (also its process group id).
        pid: u32,
        /// When it was spawned.
        at: Instant,
    },
    /// A process could not be spawned; `error` says why in the shell's words.
    SpawnFailed {
        /// Which instance.
        key: InstanceKey,
        /// Which job of that instance.
        generation: u64,
        /// What went wrong, for the user (`bundle: command not found`).
        error: String,
    },
    /// A start was cancelled before it spawned anything (see [`Action::Cancel`]).
    StartCancelled {
        /// Which instance.
        key: InstanceKey,
        /// Which job of that instance.
        generation: u64,
    },
    /// A process's leader ended while other processes it started live on; those are being
    /// stopped with its stop signal and grace.
    Leftovers {
        /// Which instance.
        key: InstanceKey,
        /// Which job of that instance.
        generation: u64,
        /// How the leader ended.
        end: ProcessEnd,
        /// How many processes are left.
        count: usize,
    },
    /// A process ended, with everything it started, whatever the cause.
    Exited {
        /// Which instance.
        key: InstanceKey,
        /// Which job of that instance.
        generation: u64,
        /// How its leader ended.
        end: ProcessEnd,
        /// When it ended.
        at: Instant,
        /// Whether it had to be killed at the end of its grace.
        killed: bool,
    },
    /// A job task died without being asked to (a panic): its processes were killed.
    JobDied {
        /// Which instance.
        key: InstanceKey,
        /// Which job of that instance.
        generation: u64,
        /// What happened, for the user.
        reason: String,
    },
    /// A timer armed by [`Action::StartTimer`] ran out.
    Timer(TimerKey),
    /// An instance's readiness check passed.
    Ready {
        /// Which instance.
        key: InstanceKey,
        /// Which job of that instance.
        generation: u64,
        /// How long after the spawn.
        after: Duration,
    },
    /// An instance's readiness check did not pass within its timeout.
    NotReady {
        /// Which instance.
        key: InstanceKey,
        /// Which job of that instance.
        generation: u64,
        /// The last attempt's failure (`connection refused`).
        error: String,
    },
    /// procmux itself received a stop signal (INT, TERM, HUP, QUIT).
    Signal(Signal),
    /// procmux's own output was closed (`procmux run | head`).
    OutputClosed,
    /// The manifest or one of its env files changed and was loaded again.
    ManifestChanged(Box<Result<Reloaded, String>>),
    /// The manifest file was removed; nothing is reloaded until it is back.
    ManifestRemoved(PathBuf),
    /// Files a process watches changed.
    FilesChanged {
        /// The process.
        process: String,
        /// The first changed paths, under the process's cwd.
        paths: Vec<PathBuf>,
        /// How many more changed in the same burst.
        more: usize,
    },
    /// A control request from another terminal; its answer is an [`Action::Reply`] with the
    /// same id.
    Control {
        /// Chosen by the runner, echoed in the reply.
        id: u64,
        /// What is asked.
        verb: ControlVerb,
    },
}

/// Something the runner must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start the instance with this spec; a generation the runner has not seen means a new
    /// job (first start, or the replacement of a changed instance), a known one means the
    /// same job again (a restart).
    Start {
        /// The instance's spec.
        spec: Box<InstanceSpec>,
        /// Which job of that instance.
        generation: u64,
    },
    /// Arm a timer that sends [`Event::Timer`] after `delay`.
    StartTimer {
        /// The timer.
        timer: TimerKey,
        /// How long to wait.
        delay: Duration,
    },
    /// Disarm a timer, if armed.
    CancelTimer(TimerKey),
    /// Run the readiness check of a freshly spawned instance; report [`Event::Ready`] or
    /// [`Event::NotReady`].
    CheckReady {
        /// The instance's spec (its env and cwd are the check's).
        spec: Box<InstanceSpec>,
        /// Which job of that instance.
        generation: u64,
        /// The check.
        check: Box<ReadyCheck>,
    },
    /// Stop the instance gracefully: its signal to everything it owns, SIGKILL at the grace.
    Stop {
        /// Which instance.
        key: InstanceKey,
        /// The signal to send first.
        signal: Signal,
        /// How long to wait before SIGKILL.
        grace: Duration,
    },
    /// Cancel the start of an instance that may not have spawned yet (a shutdown while a
    /// fleet starts): reported as [`Event::StartCancelled`] when it had not, as an ending when
    /// it had.
    Cancel {
        /// Which instance.
        key: InstanceKey,
    },
    /// Kill everything the instance owns now.
    Kill {
        /// Which instance.
        key: InstanceKey,
    },
    /// Forget the instance's job (it has ended and will not run again in this generation).
    Forget {
        /// Which instance.
        key: InstanceKey,
    },
    /// Print a `system` line.
    Say(Message),
    /// Answer a control request.
    Reply {
        /// The request's id.
        id: u64,
        /// The answer.
        outcome: ControlOutcome,
    },
    /// Everything has ended: exit procmux with this code.
    Exit(i32),
}
