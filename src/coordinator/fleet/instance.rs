//! One instance as the fleet sees it: its spec and job generation, where it is in its life
//! ([`Status`]), what the user asked of it (intent), and the facts its dependents look at.

use std::time::{Duration, Instant};

use crate::manifest::InstanceSpec;
use crate::supervisor::ProcessEnd;

use super::super::event::{Action, InstanceKey, TimerKey, TimerPurpose};
use super::super::restart::RestartTracker;

/// Where an instance is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Status {
    /// Not wanted: not selected, `autostart = false`, or stopped by request.
    Idle,
    /// Wanted, and waiting for its dependencies (or for a reload to finish stopping what it
    /// replaces) before it starts.
    Waiting,
    /// A start was asked for; `then` is what to do once it has spawned, if a reload, a request
    /// or a shutdown wants it stopped meanwhile.
    Starting { then: Option<AfterStop> },
    /// Running (spawned; see `Instance::ready` for its check).
    Running { since: Instant },
    /// Waiting for its restart delay.
    Backoff,
    /// A graceful stop was sent.
    Stopping {
        since: Instant,
        grace: Duration,
        then: AfterStop,
    },
    /// Ended; runs again only when asked (a request, a watched change, a reload).
    Ended,
}

impl Status {
    /// Starting, running or stopping: a process (or a start) exists.
    pub(super) fn is_busy(&self) -> bool {
        matches!(
            self,
            Self::Starting { .. } | Self::Running { .. } | Self::Stopping { .. }
        )
    }
}

/// What follows a stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AfterStop {
    /// Nothing: it stays ended (shutdown, or a stop by request).
    Stay,
    /// Start it again with this spec (a reload changed it).
    Replace(Box<InstanceSpec>),
    /// Forget it (a reload removed it).
    Remove,
    /// Start it again with the same spec (a restart by request or by a watched change).
    Restart,
    /// It counts as having failed with code 1 (its readiness check timed out).
    Fail,
}

impl AfterStop {
    /// Whether a reload is what asked for the stop.
    pub(super) fn is_reload(&self) -> bool {
        matches!(self, Self::Replace(_) | Self::Remove)
    }
}

/// One instance of a process.
#[derive(Debug)]
pub(super) struct Instance {
    pub(super) key: InstanceKey,
    pub(super) spec: InstanceSpec,
    /// Which job of this instance is current; events from other jobs are stale.
    pub(super) generation: u64,
    pub(super) status: Status,
    pub(super) restarts: RestartTracker,

    // What the user asked for, beside what happened.
    /// Whether it should run: selected, autostart, needed by one that should, or started by
    /// request; false once stopped by request.
    pub(super) wanted: bool,
    /// Stopped by request (shown as `stopped`; its end stops nothing).
    pub(super) stopped_by_request: bool,
    /// Started or replaced by a reload: held until that reload has stopped what it replaces.
    pub(super) held_by_reload: bool,

    // Facts of the current generation, for dependents and `status`.
    /// It has been spawned at least once.
    pub(super) spawned: bool,
    /// Its current run passed its readiness check (or it has none and runs).
    pub(super) ready: bool,
    /// Its last run exited with code 0.
    pub(super) completed: bool,
    /// The pid of its current or last run.
    pub(super) pid: Option<u32>,
    /// How its last run ended.
    pub(super) last_end: Option<ProcessEnd>,
    /// Restarts after ending by itself, for `status` (requests and changes do not count, as
    /// they do not count against `max_restarts`).
    pub(super) restart_count: u32,
    /// How many times it was spawned, so a request can tell a new run from the old one.
    pub(super) spawns: u64,
    /// Its leader's end was reported with its leftovers; the final end adds nothing.
    pub(super) leftovers_reported: bool,
    /// Ended by itself while watched: starts again on the next change.
    pub(super) waiting_for_change: bool,
    /// The loop protection of restarts by watched changes.
    pub(super) watch: crate::watch::LoopGuard,
    /// A "waiting for" line was printed for the current wait.
    pub(super) said_waiting: bool,
}

impl Instance {
    pub(super) fn new(spec: InstanceSpec, generation: u64) -> Self {
        Self {
            key: InstanceKey::of(&spec),
            spec,
            generation,
            status: Status::Idle,
            restarts: RestartTracker::default(),
            wanted: false,
            stopped_by_request: false,
            held_by_reload: false,
            spawned: false,
            ready: false,
            completed: false,
            pid: None,
            last_end: None,
            restart_count: 0,
            spawns: 0,
            leftovers_reported: false,
            waiting_for_change: false,
            watch: crate::watch::LoopGuard::default(),
            said_waiting: false,
        }
    }

    /// The action that disarms this instance's restart timer.
    pub(super) fn cancel_restart(&self) -> Action {
        Action::CancelTimer(TimerKey {
            key: self.key.clone(),
            generation: self.generation,
            purpose: TimerPurpose::Restart,
        })
    }

    pub(super) fn name(&self) -> &str {
        &self.spec.display_name
    }

    /// Forgets the facts of the previous generation (a reload gave it a new spec).
    pub(super) fn renew(&mut self, spec: InstanceSpec, generation: u64) {
        let fresh = Self::new(spec, generation);
        let wanted = self.wanted;
        let stopped = self.stopped_by_request;
        let restart_count = self.restart_count;
        *self = Self {
            wanted,
            stopped_by_request: stopped,
            restart_count,
            ..fresh
        };
    }
}
