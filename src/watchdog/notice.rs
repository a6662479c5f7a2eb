//! [`Notice`]: what procmux's side of the watchdog has to tell the user, as typed values
//! that render as one `system` line each.

use std::fmt;

/// Something the user should know about the watchdog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// No watchdog could be started: procmux runs without one.
    NotStarted {
        /// Why, as the system said it.
        error: String,
    },
    /// The watchdog died and another was started and told everything tracked.
    Replaced {
        /// The pid of the one that died.
        old: u32,
        /// How it died.
        cause: Death,
        /// The pid of the new one.
        new: u32,
    },
    /// The watchdog died and procmux now runs without one.
    Lost {
        /// The pid of the one that died.
        old: u32,
        /// How it died.
        cause: Death,
        /// Why no other was started.
        why: NoReplacement,
    },
}

/// How a watchdog ended, from procmux's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Death {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it.
    Signal(i32),
    /// It stopped reading (the pipe stayed full), so procmux killed it.
    Stalled,
}

/// Why a dead watchdog was not replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoReplacement {
    /// Starting another failed.
    Unstartable(String),
    /// It died this many times within a minute: starting more would only loop.
    TooOften(usize),
}

/// The restart window, as [`NoReplacement::TooOften`] words it.
pub(super) const RESTART_WINDOW_TEXT: &str = "a minute";

/// What is at stake without a watchdog, said at the end of each line that announces one.
const WITHOUT: &str = "running without one, so processes behind a shell may outlive a \
                       SIGKILLed procmux";

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::NotStarted { error } => {
                write!(f, "cannot start the watchdog ({error}): {WITHOUT}")
            }
            Notice::Replaced {
                old,
                cause: Death::Stalled,
                new,
            } => write!(
                f,
                "watchdog (pid {old}) stopped reading: killed it and started another (pid {new})"
            ),
            Notice::Replaced { old, cause, new } => {
                write!(
                    f,
                    "watchdog (pid {old}) died{cause}: started another (pid {new})"
                )
            }
            Notice::Lost { old, cause, why } => {
                write!(f, "watchdog (pid {old}) died{cause} ")?;
                match why {
                    NoReplacement::Unstartable(error) => {
                        write!(f, "and another could not be started ({error})")?;
                    }
                    NoReplacement::TooOften(count) => {
                        write!(f, "for the {count}th time in {RESTART_WINDOW_TEXT}")?;
                    }
                }
                write!(f, ": {WITHOUT}")
            }
        }
    }
}

/// ` (how)`, to follow "died".
impl fmt::Display for Death {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Death::Exited(code) => write!(f, " (exit code {code})"),
            Death::Signal(signal) => match nix::sys::signal::Signal::try_from(*signal) {
                Ok(signal) => write!(f, " (killed by {})", signal.as_str()),
                Err(_) => write!(f, " (killed by signal {signal})"),
            },
            Death::Stalled => write!(f, " (it had stopped reading)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_notice_is_one_plain_line() {
        let notices = [
            (
                Notice::Replaced {
                    old: 123,
                    cause: Death::Signal(9),
                    new: 456,
                },
                "watchdog (pid 123) died (killed by SIGKILL): started another (pid 456)",
            ),
            (
                Notice::Replaced {
                    old: 123,
                    cause: Death::Stalled,
                    new: 456,
                },
                "watchdog (pid 123) stopped reading: killed it and started another (pid 456)",
            ),
            (
                Notice::Lost {
                    old: 5,
                    cause: Death::Exited(1),
                    why: NoReplacement::TooOften(6),
                },
                "watchdog (pid 5) died (exit code 1) for the 6th time in a minute: running \
                 without one, so processes behind a shell may outlive a SIGKILLed procmux",
            ),
            (
                Notice::Lost {
                    old: 5,
                    cause: Death::Signal(9),
                    why: NoReplacement::Unstartable("no memory".into()),
                },
                "watchdog (pid 5) died (killed by SIGKILL) and another could not be started \
                 (no memory): running without one, so processes behind a shell may outlive a \
                 SIGKILLed procmux",
            ),
            (
                Notice::NotStarted {
                    error: "No such file or directory (os error 2)".into(),
                },
                "cannot start the watchdog (No such file or directory (os error 2)): running \
                 without one, so processes behind a shell may outlive a SIGKILLed procmux",
            ),
        ];
        for (notice, text) in notices {
            assert_eq!(notice.to_string(), text);
        }
    }
}
