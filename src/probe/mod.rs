//! Readiness checks: tcp, http and exec, one attempt at a time or in a loop until ready.
//!
//! Used by the coordinator (a process's `ready` table), by `procmux probe`, and through it by
//! the units of the systemd export. It knows nothing of manifests or of the fleet: its
//! [`Probe`] and [`ProbeTimings`] are its own types, which the callers build from theirs. The
//! `log` check is not here: it watches a process's output, which only the coordinator sees.
//!
//! - `mod.rs`: the types and [`attempt`] / [`wait_ready`];
//! - `target.rs`: `[HOST:]PORT` and `http://` URL parsing; `net.rs`: resolve and connect;
//! - `http.rs`: the request and the status line; `exec.rs`: the command in its own group;
//! - `wait.rs`: the loop, testable with a paused clock; `error.rs`: the errors.

mod error;
mod exec;
mod http;
mod net;
mod target;
mod wait;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use error::{AttemptError, NotReady, TargetError, seconds};
pub use http::{MAX_RESPONSE_HEAD, parse_status_line, request as http_request};
pub use target::{DEFAULT_HOST, parse_http_url, parse_tcp_target};
pub use wait::wait_with;

/// What a check looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Probe {
    /// A TCP connect to `host:port` succeeds.
    Tcp {
        /// Host name or address.
        host: String,
        /// The port.
        port: u16,
    },
    /// A `GET http://host:port/path` answers 2xx or 3xx.
    Http {
        /// Host name or address (also sent as the `Host` header).
        host: String,
        /// The port.
        port: u16,
        /// The path and query, starting with `/`.
        path: String,
    },
    /// A command exits 0.
    Exec(ExecProbe),
}

/// The command of an exec check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ExecProbe {
    /// The program and its arguments (a shell command is `["sh", "-c", "..."]`); the program
    /// is looked up in `PATH` when it has no `/`.
    pub argv: Vec<String>,
    /// Variables set on top of the inherited environment (a process's own, for its check).
    pub env: BTreeMap<String, String>,
    /// The working directory; `None`: the caller's.
    pub cwd: Option<PathBuf>,
}

impl Probe {
    /// A tcp check of `[HOST:]PORT`.
    pub fn tcp(target: &str) -> Result<Self, TargetError> {
        let (host, port) = parse_tcp_target(target)?;
        Ok(Self::Tcp { host, port })
    }

    /// An http check of `http://HOST[:PORT][/PATH]`.
    pub fn http(url: &str) -> Result<Self, TargetError> {
        let (host, port, path) = parse_http_url(url)?;
        Ok(Self::Http { host, port, path })
    }
}

/// `tcp 127.0.0.1:5432`, `http http://127.0.0.1:3000/up`, `exec pg_isready -p 5432`.
impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bracketed = |host: &str| {
            if host.contains(':') {
                format!("[{host}]")
            } else {
                host.to_owned()
            }
        };
        match self {
            Self::Tcp { host, port } => write!(f, "tcp {}:{port}", bracketed(host)),
            Self::Http { host, port, path } => {
                write!(f, "http http://{}:{port}{path}", bracketed(host))
            }
            Self::Exec(exec) => write!(f, "exec {}", exec.argv.join(" ")),
        }
    }
}

/// When and how long a check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProbeTimings {
    /// Wait before the first attempt.
    pub initial_delay: Duration,
    /// Between the end of a failed attempt and the start of the next.
    pub interval: Duration,
    /// One attempt at most this long; then it counts as failed.
    pub attempt_timeout: Duration,
    /// Not ready by then (from the start of the wait): give up.
    pub timeout: Duration,
}

impl ProbeTimings {
    /// `initial_delay` by default.
    pub const DEFAULT_INITIAL_DELAY: Duration = Duration::ZERO;
    /// `interval` by default: fast, since a check stops once it passes.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(250);
    /// `attempt_timeout` by default.
    pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
    /// `timeout` by default.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
}

/// The defaults of readiness.md: 0 s, 250 ms, 1 s, 60 s.
impl Default for ProbeTimings {
    fn default() -> Self {
        Self {
            initial_delay: Self::DEFAULT_INITIAL_DELAY,
            interval: Self::DEFAULT_INTERVAL,
            attempt_timeout: Self::DEFAULT_ATTEMPT_TIMEOUT,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

/// One attempt of `probe`, at most `attempt_timeout` long.
pub async fn attempt(probe: &Probe, attempt_timeout: Duration) -> Result<(), AttemptError> {
    let timed_out = AttemptError::TimedOut {
        after: attempt_timeout,
    };
    match probe {
        Probe::Tcp { host, port } => {
            match tokio::time::timeout(attempt_timeout, net::connect(host, *port)).await {
                Ok(result) => result.map(drop),
                Err(_) => Err(timed_out),
            }
        }
        Probe::Http { host, port, path } => {
            tokio::time::timeout(attempt_timeout, http::attempt(host, *port, path))
                .await
                .unwrap_or(Err(timed_out))
        }
        // The exec attempt bounds itself: it must kill its process group on timeout.
        Probe::Exec(exec) => exec::attempt(exec, attempt_timeout).await,
    }
}

/// Attempts `probe` until it passes (returns how long that took) or `timings.timeout` runs out.
pub async fn wait_ready(probe: &Probe, timings: &ProbeTimings) -> Result<Duration, NotReady> {
    wait_with(timings, |limit| attempt(probe, limit)).await
}
