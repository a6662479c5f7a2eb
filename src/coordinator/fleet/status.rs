//! [`InstanceStatus`]: one row of `procmux status`, read off the fleet.

use std::time::{Duration, Instant};

use crate::supervisor::ProcessEnd;

use super::Fleet;
use super::instance::{Instance, Status};

/// What an instance is doing, as `procmux status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceState {
    /// Waiting for its dependencies.
    Waiting,
    /// Asked to start, not spawned yet.
    Starting,
    /// Running; it has a readiness check that has not passed yet, or none.
    Running,
    /// Running, and its readiness check passed.
    Ready,
    /// Stopping.
    Stopping,
    /// Waiting for its restart delay.
    Backoff,
    /// Ended by itself.
    Exited,
    /// Stopped by request.
    Stopped,
    /// Not started (not selected, or `autostart = false`).
    Idle,
}

impl InstanceState {
    /// The name `status` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Ready => "ready",
            Self::Stopping => "stopping",
            Self::Backoff => "backoff",
            Self::Exited => "exited",
            Self::Stopped => "stopped",
            Self::Idle => "idle",
        }
    }
}

/// One instance in `procmux status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    /// The display name.
    pub name: String,
    /// The process it is an instance of.
    pub process: String,
    /// What it is doing.
    pub state: InstanceState,
    /// The pid of its process, while it runs.
    pub pid: Option<u32>,
    /// How long it has run, while it runs.
    pub uptime: Option<Duration>,
    /// How many times it was restarted after ending by itself.
    pub restarts: u32,
    /// How its last run ended.
    pub last_exit: Option<ProcessEnd>,
    /// Its `PORT`, when it has one.
    pub port: Option<u16>,
}

impl Fleet {
    /// Every instance, in manifest order, as `procmux status` shows them.
    pub fn status(&self, now: Instant) -> Vec<InstanceStatus> {
        self.instances.iter().map(|i| row(i, now)).collect()
    }
}

fn row(instance: &Instance, now: Instant) -> InstanceStatus {
    let (state, since) = match &instance.status {
        Status::Idle if instance.stopped_by_request => (InstanceState::Stopped, None),
        Status::Idle => (InstanceState::Idle, None),
        Status::Waiting => (InstanceState::Waiting, None),
        Status::Starting { .. } => (InstanceState::Starting, None),
        Status::Running { since } if instance.ready && instance.spec.ready.is_some() => {
            (InstanceState::Ready, Some(*since))
        }
        Status::Running { since } => (InstanceState::Running, Some(*since)),
        Status::Backoff => (InstanceState::Backoff, None),
        Status::Stopping { .. } => (InstanceState::Stopping, None),
        Status::Ended if instance.stopped_by_request => (InstanceState::Stopped, None),
        Status::Ended => (InstanceState::Exited, None),
    };
    let alive = matches!(
        instance.status,
        Status::Running { .. } | Status::Stopping { .. }
    );
    InstanceStatus {
        name: instance.name().to_owned(),
        process: instance.spec.process.clone(),
        state,
        pid: instance.pid.filter(|_| alive),
        uptime: since.map(|since| now.saturating_duration_since(since)),
        restarts: instance.restart_count,
        last_exit: instance.last_end,
        port: instance.spec.port(),
    }
}
