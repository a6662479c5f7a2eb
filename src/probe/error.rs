//! The errors of the readiness checks: why one attempt failed ([`AttemptError`]), why a check
//! never passed ([`NotReady`]), and why a check's target could not be parsed
//! ([`TargetError`]).
//!
//! Attempt errors are short human phrases (`connection refused`, `HTTP 503`, `exit code 1`)
//! because they end up after a colon in one line: `not ready within 60s: connection refused`.
//! They carry strings rather than `io::Error`s so that they can be cloned, compared in tests
//! and kept as "the last failure" while the loop goes on.

use std::fmt;
use std::io;
use std::time::Duration;

/// Why one attempt of a check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttemptError {
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The host as given.
        host: String,
        /// What the resolver said.
        reason: String,
    },
    /// The TCP connect failed (`connection refused`, `network is unreachable`...).
    #[error("{reason}")]
    Connect {
        /// The operating system's reason, in lower case without the error number.
        reason: String,
    },
    /// The connection broke while sending the request or reading the answer.
    #[error("{reason}")]
    Io {
        /// What failed.
        reason: String,
    },
    /// The server answered with a status that is neither 2xx nor 3xx.
    #[error("HTTP {status}")]
    HttpStatus {
        /// The status code.
        status: u16,
    },
    /// The server answered something that is not an HTTP/1.x status line.
    #[error("not an HTTP response: {reason}")]
    BadResponse {
        /// What was wrong with it.
        reason: String,
    },
    /// The command could not be started.
    #[error("cannot run {program}: {reason}")]
    Spawn {
        /// The program.
        program: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The command exited with a non-zero code.
    #[error("exit code {code}")]
    ExitCode {
        /// The exit code.
        code: i32,
    },
    /// The command was killed by a signal (not by the check's own timeout).
    #[error("killed by signal {signal}")]
    Signal {
        /// The signal number.
        signal: i32,
    },
    /// The attempt did not finish within its attempt timeout.
    #[error("timed out after {}", seconds(*after))]
    TimedOut {
        /// The attempt timeout that ran out.
        after: Duration,
    },
}

impl AttemptError {
    /// A connect error from the operating system.
    pub(crate) fn connect(error: &io::Error) -> Self {
        Self::Connect {
            reason: short_reason(error),
        }
    }

    /// A read or write error on an established connection.
    pub(crate) fn io(error: &io::Error) -> Self {
        Self::Io {
            reason: short_reason(error),
        }
    }
}

/// `Connection refused (os error 111)` as `connection refused`: the error number means nothing
/// to the reader of a one-line message, and the phrase reads better in lower case after a colon.
pub(crate) fn short_reason(error: &io::Error) -> String {
    let text = error.to_string();
    let text = match text.find(" (os error ") {
        Some(at) => &text[..at],
        None => text.as_str(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `60s`, `1.5s`, `250ms`: durations as people write them in flags and manifests (humantime
/// would say `1m` for 60 s, which reads oddly after `--timeout 60s`).
pub fn seconds(duration: Duration) -> String {
    let nanos = duration.subsec_nanos();
    if !nanos.is_multiple_of(1_000_000) {
        return humantime::format_duration(duration).to_string();
    }
    let millis = nanos / 1_000_000;
    match (duration.as_secs(), millis) {
        (secs, 0) => format!("{secs}s"),
        (0, millis) => format!("{millis}ms"),
        (secs, millis) => {
            let fraction = format!("{millis:03}");
            format!("{secs}.{}s", fraction.trim_end_matches('0'))
        }
    }
}

/// A check that did not pass within its timeout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct NotReady {
    /// The timeout that ran out.
    pub timeout: Duration,
    /// How long the wait lasted.
    pub elapsed: Duration,
    /// Why the last attempt failed; `None` when the timeout ran out before the first attempt
    /// (an `initial_delay` as long as the timeout).
    pub last_error: Option<AttemptError>,
}

/// `not ready within 60s: connection refused`.
impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not ready within {}", seconds(self.timeout))?;
        match &self.last_error {
            Some(error) => write!(f, ": {error}"),
            None => f.write_str(": no attempt was made before the timeout"),
        }
    }
}

/// A check's target that cannot be checked: a bad `[HOST:]PORT` or URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The port is not a number from 1 to 65535.
    #[error("invalid port {port:?} (expected a number from 1 to 65535)")]
    Port {
        /// The port as written.
        port: String,
    },
    /// The host part is empty or malformed.
    #[error("invalid host {host:?}")]
    Host {
        /// The host as written.
        host: String,
    },
    /// The URL is not `http://...` (https needs TLS, which the check does not do).
    #[error("unsupported URL {url:?}: only http:// URLs can be checked")]
    Scheme {
        /// The URL as written.
        url: String,
    },
    /// The URL has characters that cannot go into a request line, or user info.
    #[error("invalid URL {url:?}: {reason}")]
    Url {
        /// The URL as written.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_read_as_short_phrases() {
        let refused = io::Error::from_raw_os_error(111);
        assert_eq!(short_reason(&refused), "connection refused");
        let custom = io::Error::other("Broken thing");
        assert_eq!(short_reason(&custom), "broken thing");
    }

    #[test]
    fn durations_read_as_written() {
        assert_eq!(seconds(Duration::from_secs(60)), "60s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
        assert_eq!(seconds(Duration::from_millis(1250)), "1.25s");
        assert_eq!(seconds(Duration::from_millis(250)), "250ms");
        assert_eq!(seconds(Duration::ZERO), "0s");
        assert_eq!(seconds(Duration::from_micros(1500)), "1ms 500us");
    }

    #[test]
    fn messages() {
        let not_ready = NotReady {
            timeout: Duration::from_secs(60),
            elapsed: Duration::from_secs(60),
            last_error: Some(AttemptError::Connect {
                reason: "connection refused".into(),
            }),
        };
        assert_eq!(
            not_ready.to_string(),
            "not ready within 60s: connection refused"
        );
        assert_eq!(
            AttemptError::TimedOut {
                after: Duration::from_secs(1)
            }
            .to_string(),
            "timed out after 1s"
        );
        assert_eq!(
            AttemptError::HttpStatus { status: 503 }.to_string(),
            "HTTP 503"
        );
        assert_eq!(
            AttemptError::ExitCode { code: 1 }.to_string(),
            "exit code 1"
        );
    }
}
