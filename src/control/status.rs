//! One row of `status`: what an instance is doing, as the socket reports it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::supervisor::ProcessEnd;

/// One instance in a `status` reply.
///
/// ```text
/// {"name":"web.1","state":"running","pid":4242,"uptime_ms":61000,"restarts":0,"last_exit":null,"port":5000}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// The display name (`web.1`, or `web` for a single instance).
    pub name: String,
    /// What it is doing.
    pub state: State,
    /// The pid of the running process (its group leader), when there is one.
    pub pid: Option<u32>,
    /// How long the current process has been running, in milliseconds, when one runs.
    pub uptime_ms: Option<u64>,
    /// How many times it was restarted after ending by itself (restarts by request do not
    /// count, as they do not count against `max_restarts`).
    pub restarts: u32,
    /// How the last process of this instance ended, if one did.
    pub last_exit: Option<LastExit>,
    /// Its `PORT`, when it has one.
    pub port: Option<u16>,
}

/// The state column of `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not started yet: waiting for what it depends on.
    Waiting,
    /// Spawned, its readiness check not passed yet.
    Starting,
    /// Running (no readiness check, or not reported).
    Running,
    /// Running and its readiness check passed.
    Ready,
    /// Told to stop, not ended yet.
    Stopping,
    /// Ended, waiting for its restart delay.
    Backoff,
    /// Ended by itself and will not be restarted.
    Exited,
    /// Stopped by request (`procmux stop NAME`); stays stopped until `restart`.
    Stopped,
    /// Never started (`autostart = false`, or not selected by `procmux run NAME...`).
    Idle,
}

impl State {
    /// Every state, in the order of a process's life.
    pub const ALL: [State; 9] = [
        State::Waiting,
        State::Starting,
        State::Running,
        State::Ready,
        State::Stopping,
        State::Backoff,
        State::Exited,
        State::Stopped,
        State::Idle,
    ];

    /// The name on the wire and in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Starting => "starting",
            State::Running => "running",
            State::Ready => "ready",
            State::Stopping => "stopping",
            State::Backoff => "backoff",
            State::Exited => "exited",
            State::Stopped => "stopped",
            State::Idle => "idle",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        State::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or(())
    }
}

/// How a process ended: `{"code":3}` or `{"signal":"SIGKILL"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LastExit {
    /// It exited with this status (0 for success).
    Code(i64),
    /// A signal ended it (the name as procmux writes it, `SIGTERM`, or the number).
    Signal(String),
}

impl From<&ProcessEnd> for LastExit {
    fn from(end: &ProcessEnd) -> Self {
        match end {
            ProcessEnd::ExitSignal(signal) => LastExit::Signal(signal.to_string()),
            other => LastExit::Code(other.exit_code()),
        }
    }
}

impl fmt::Display for LastExit {
    /// `code 3`, or the signal's name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LastExit::Code(code) => write!(f, "code {code}"),
            LastExit::Signal(signal) => f.write_str(signal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::Signal;
    use std::num::NonZeroI64;

    #[test]
    fn states_have_their_wire_names() {
        for state in State::ALL {
            let json = serde_json::to_string(&state).expect("serializes");
            assert_eq!(json, format!("\"{state}\""));
            assert_eq!(state.as_str().parse::<State>(), Ok(state));
        }
        assert_eq!("zombie".parse::<State>(), Err(()));
    }

    #[test]
    fn ends_become_last_exits() {
        let code = NonZeroI64::new(3).expect("not zero");
        assert_eq!(
            LastExit::from(&ProcessEnd::ExitError(code)),
            LastExit::Code(3)
        );
        assert_eq!(LastExit::from(&ProcessEnd::Success), LastExit::Code(0));
        let killed = LastExit::from(&ProcessEnd::ExitSignal(Signal::ForceStop));
        assert_eq!(killed, LastExit::Signal("SIGKILL".into()));
        assert_eq!(killed.to_string(), "SIGKILL");
        assert_eq!(LastExit::Code(3).to_string(), "code 3");
        assert_eq!(
            serde_json::to_string(&LastExit::Code(3)).expect("serializes"),
            r#"{"code":3}"#
        );
    }
}
