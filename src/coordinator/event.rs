//! What the coordinator reacts to ([`Event`]) and what it decides to do ([`Action`]).
//!
//! Every source (job hooks, restart timers, signals, the output writer, the manifest watcher)
//! becomes an [`Event`]; [`Fleet::handle`](super::fleet::Fleet::handle) turns each into
//! [`Action`]s, which the runner carries out. Keeping the two apart lets the decisions be
//! tested without spawning a process.

use std::time::{Duration, Instant};

use crate::manifest::{InstanceSpec, Manifest};
use crate::supervisor::{ProcessEnd, Signal};

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
        /// When it was spawned.
        at: Instant,
    },
    /// A process could not be spawned (no such program, no such folder, ...).
    SpawnFailed {
        /// Which instance.
        key: InstanceKey,
        /// Which job of that instance.
        generation: u64,
        /// What went wrong, for the user.
        error: String,
    },
    /// A process ended, whatever the cause.
    Exited {
        /// Which instance.
        key: InstanceKey,
        /// Which job of that instance.
        generation: u64,
        /// How it ended.
        end: ProcessEnd,
        /// When it ended.
        at: Instant,
    },
    /// A restart delay armed by [`Action::ScheduleRestart`] ran out.
    RestartDue {
        /// Which instance.
        key: InstanceKey,
        /// Which job of that instance.
        generation: u64,
    },
    /// procmux itself received a signal.
    Signal(Signal),
    /// procmux's own output was closed (`procmux run | head`).
    OutputClosed,
    /// The manifest or one of its env files changed and was loaded again.
    ManifestChanged(Box<Result<Manifest, String>>),
}

/// Something the runner must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start the instance with this spec; a generation the runner has not seen means a new
    /// job (first start, or the replacement of a changed instance), a known one means the
    /// same job again (a restart after a crash).
    Start {
        /// The instance's spec.
        spec: Box<InstanceSpec>,
        /// Which job of that instance.
        generation: u64,
    },
    /// Arm a timer that sends [`Event::RestartDue`] after `delay`.
    ScheduleRestart {
        /// Which instance.
        key: InstanceKey,
        /// Which job of that instance.
        generation: u64,
        /// How long to wait.
        delay: Duration,
    },
    /// Stop the instance gracefully: its signal to its group, SIGKILL at the grace.
    Stop {
        /// Which instance.
        key: InstanceKey,
        /// The signal to send first.
        signal: Signal,
        /// How long to wait before SIGKILL.
        grace: Duration,
    },
    /// Kill the instance's whole group now.
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
    Print(String),
    /// Everything has ended: exit procmux with this code.
    Exit(i32),
}
