//! [`Message`]: procmux's own `system` lines, typed, so that the terminal, the control socket
//! and (later) a TUI render them their own way; `Display` is the terminal's wording, kept in
//! one place so that it stays consistent and tests can rely on it.

use std::fmt;
use std::time::Duration;

use crate::manifest::Condition;
use crate::supervisor::{ProcessEnd, Signal};

/// One `system` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `web.1 started with pid 4242`
    Started {
        /// The instance.
        name: String,
        /// Its pid.
        pid: u32,
    },
    /// `web failed to start: bundle: command not found`
    FailedToStart {
        /// The instance.
        name: String,
        /// Why, in the shell's words.
        error: String,
    },
    /// `web.1 exited with code 3`
    Exited {
        /// The instance.
        name: String,
        /// How it ended.
        end: ProcessEnd,
    },
    /// `web exited with code 0; stopping 2 leftover processes`
    Leftovers {
        /// The instance.
        name: String,
        /// How its leader ended.
        end: ProcessEnd,
        /// How many processes it left.
        count: usize,
    },
    /// `web.1 did not stop within 5s; killed with SIGKILL`
    KilledAtGrace {
        /// The instance.
        name: String,
        /// Its grace.
        grace: Duration,
    },
    /// `web.1 restarting in 200 ms (restart 2 of 10)`
    Restarting {
        /// The instance.
        name: String,
        /// The backoff delay.
        delay: Duration,
        /// Which restart of the streak.
        attempt: u32,
        /// `max_restarts`, if set.
        limit: Option<u32>,
    },
    /// `web.1 gave up after 10 restarts`
    GaveUp {
        /// The instance.
        name: String,
        /// How many restarts were made.
        restarts: u32,
    },
    /// `web ended: stopping all processes`
    StoppingAfterExit {
        /// The instance whose ending stops the stack.
        name: String,
    },
    /// `received SIGINT: stopping all processes (again to kill at once)`
    StoppingOnSignal(Signal),
    /// `received SIGINT again: killing all processes`
    KillingOnSignal(Signal),
    /// `output closed: stopping all processes`
    StoppingOnClosedOutput,
    /// `stop requested: stopping all processes`
    StoppingOnRequest,
    /// `web waiting for db (ready), migrate (completed)`
    Waiting {
        /// The instance.
        name: String,
        /// What it waits for.
        on: Vec<(String, Condition)>,
    },
    /// `db is ready (tcp 127.0.0.1:5432 after 1.3s)`
    Ready {
        /// The instance.
        name: String,
        /// The check, as `ReadyKind` displays it.
        check: String,
        /// How long after its spawn.
        after: Duration,
    },
    /// `db did not become ready within 60s (last attempt: connection refused)`
    NotReady {
        /// The instance.
        name: String,
        /// Its check's timeout.
        timeout: Duration,
        /// The last attempt's failure.
        error: String,
    },
    /// `web will not start: db exited with code 1 before it was ready`
    WillNotStart {
        /// The instance that will not start.
        name: String,
        /// Why.
        because: String,
    },
    /// `api restarting: crates/api/src/main.rs changed (and 3 more)`
    ChangedRestarting {
        /// The instance.
        name: String,
        /// The first changed path.
        path: String,
        /// How many more.
        more: usize,
    },
    /// `api exited with code 101; waiting for changes`
    WaitingForChanges {
        /// The instance.
        name: String,
        /// How it ended.
        end: ProcessEnd,
    },
    /// `api restarted 11 times in 10s by changes to target/x: paused until the next change`
    WatchPaused {
        /// The instance.
        name: String,
        /// The file of the last change.
        path: String,
    },
    /// `web.1 restarting (requested)` / `worker stopping (requested)`
    Requested {
        /// The instance.
        name: String,
        /// `restarting`, `stopping` or `starting`.
        what: &'static str,
    },
    /// `web's job ended unexpectedly (...): its processes were killed`
    JobDied {
        /// The instance.
        name: String,
        /// What happened.
        reason: String,
    },
    /// `reload: +api ~web -worker`, or `reload: no changes`.
    ReloadSummary {
        /// Added instances.
        added: Vec<String>,
        /// Restarted instances.
        changed: Vec<String>,
        /// Removed instances.
        removed: Vec<String>,
    },
    /// A failed reload: the first line, then the error's own lines.
    ReloadFailed(String),
    /// The manifest was deleted.
    ManifestRemoved(String),
    /// A warning of a load, on one line.
    Warning(String),
    /// Anything else procmux says (notices of the load, tracking, watchdog...).
    Note(String),
}

fn end_text(end: &ProcessEnd) -> String {
    match end {
        ProcessEnd::Success => "exited with code 0".to_owned(),
        ProcessEnd::ExitError(code) => format!("exited with code {code}"),
        ProcessEnd::ExitSignal(signal) => format!("exited with signal {signal}"),
        other => format!("ended: {other}"),
    }
}

fn duration(d: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(d)
}

/// A duration for humans, to a tenth of a second: `1.3s`, `250ms`.
fn short(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Started { name, pid } => write!(f, "{name} started with pid {pid}"),
            Self::FailedToStart { name, error } => write!(f, "{name} failed to start: {error}"),
            Self::Exited { name, end } => write!(f, "{name} {}", end_text(end)),
            Self::Leftovers { name, end, count } => {
                let plural = if *count == 1 { "" } else { "es" };
                write!(
                    f,
                    "{name} {}; stopping {count} leftover process{plural}",
                    end_text(end)
                )
            }
            Self::KilledAtGrace { name, grace } => write!(
                f,
                "{name} did not stop within {}; killed with SIGKILL",
                duration(*grace)
            ),
            Self::Restarting {
                name,
                delay,
                attempt,
                limit,
            } => {
                let ms = delay.as_millis();
                match limit {
                    Some(limit) => {
                        write!(
                            f,
                            "{name} restarting in {ms} ms (restart {attempt} of {limit})"
                        )
                    }
                    None => write!(f, "{name} restarting in {ms} ms (restart {attempt})"),
                }
            }
            Self::GaveUp { name, restarts } => {
                let plural = if *restarts == 1 { "" } else { "s" };
                write!(f, "{name} gave up after {restarts} restart{plural}")
            }
            Self::StoppingAfterExit { name } => write!(f, "{name} ended: stopping all processes"),
            Self::StoppingOnSignal(signal) => write!(
                f,
                "received {signal}: stopping all processes (send it again to kill them at once)"
            ),
            Self::KillingOnSignal(signal) => {
                write!(f, "received {signal} again: killing all processes")
            }
            Self::StoppingOnClosedOutput => f.write_str("output closed: stopping all processes"),
            Self::StoppingOnRequest => f.write_str("stop requested: stopping all processes"),
            Self::Waiting { name, on } => {
                write!(f, "{name} waiting for ")?;
                for (i, (process, condition)) in on.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{process} ({})", condition.as_str())?;
                }
                Ok(())
            }
            Self::Ready { name, check, after } => {
                write!(f, "{name} is ready ({check} after {})", short(*after))
            }
            Self::NotReady {
                name,
                timeout,
                error,
            } => write!(
                f,
                "{name} did not become ready within {} (last attempt: {error})",
                duration(*timeout)
            ),
            Self::WillNotStart { name, because } => write!(f, "{name} will not start: {because}"),
            Self::ChangedRestarting { name, path, more } => {
                write!(f, "{name} restarting: {path} changed")?;
                if *more > 0 {
                    write!(f, " (and {more} more)")?;
                }
                Ok(())
            }
            Self::WaitingForChanges { name, end } => {
                write!(f, "{name} {}; waiting for changes", end_text(end))
            }
            Self::WatchPaused { name, path } => write!(
                f,
                "{name} was restarted more than 10 times in 10s by changes ({path} last): \
                 paused until the next change after a quiet second"
            ),
            Self::Requested { name, what } => write!(f, "{name} {what} (requested)"),
            Self::JobDied { name, reason } => write!(
                f,
                "{name}'s job ended unexpectedly ({reason}): its processes were killed"
            ),
            Self::ReloadSummary {
                added,
                changed,
                removed,
            } => {
                let parts: Vec<String> = added
                    .iter()
                    .map(|n| format!("+{n}"))
                    .chain(changed.iter().map(|n| format!("~{n}")))
                    .chain(removed.iter().map(|n| format!("-{n}")))
                    .collect();
                if parts.is_empty() {
                    f.write_str("reload: no changes")
                } else {
                    write!(f, "reload: {}", parts.join(" "))
                }
            }
            Self::ReloadFailed(error) => write!(
                f,
                "reload: the manifest is invalid; keeping everything as it runs\n{}",
                error.trim_end()
            ),
            Self::ManifestRemoved(path) => write!(
                f,
                "reload: {path} was removed; keeping everything as it runs"
            ),
            Self::Warning(text) => write!(f, "warning: {text}"),
            Self::Note(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroI64;

    use super::*;

    fn text(message: Message) -> String {
        message.to_string()
    }

    #[test]
    fn exit_lines_name_code_or_signal() {
        let three = ProcessEnd::ExitError(NonZeroI64::new(3).expect("3 is not zero"));
        let exited = |name: &str, end| {
            text(Message::Exited {
                name: name.into(),
                end,
            })
        };
        assert_eq!(exited("web.1", three), "web.1 exited with code 3");
        assert_eq!(exited("web", ProcessEnd::Success), "web exited with code 0");
        assert_eq!(
            exited("web", ProcessEnd::ExitSignal(Signal::ForceStop)),
            "web exited with signal SIGKILL"
        );
        assert_eq!(
            text(Message::Leftovers {
                name: "web".into(),
                end: ProcessEnd::Success,
                count: 2
            }),
            "web exited with code 0; stopping 2 leftover processes"
        );
    }

    #[test]
    fn restart_lines_show_the_budget_when_there_is_one() {
        let delay = Duration::from_millis(200);
        let restarting = |limit| {
            text(Message::Restarting {
                name: "w".into(),
                delay,
                attempt: 2,
                limit,
            })
        };
        assert_eq!(
            restarting(Some(10)),
            "w restarting in 200 ms (restart 2 of 10)"
        );
        assert_eq!(restarting(None), "w restarting in 200 ms (restart 2)");
        assert_eq!(
            text(Message::GaveUp {
                name: "w".into(),
                restarts: 1
            }),
            "w gave up after 1 restart"
        );
    }

    #[test]
    fn dependency_lines() {
        assert_eq!(
            text(Message::Waiting {
                name: "web".into(),
                on: vec![
                    ("db".into(), Condition::Ready),
                    ("migrate".into(), Condition::Completed)
                ]
            }),
            "web waiting for db (ready), migrate (completed)"
        );
        assert_eq!(
            text(Message::Ready {
                name: "db".into(),
                check: "tcp 127.0.0.1:5432".into(),
                after: Duration::from_millis(1340)
            }),
            "db is ready (tcp 127.0.0.1:5432 after 1.3s)"
        );
        assert_eq!(
            text(Message::NotReady {
                name: "db".into(),
                timeout: Duration::from_secs(60),
                error: "connection refused".into()
            }),
            "db did not become ready within 1m (last attempt: connection refused)"
        );
    }

    #[test]
    fn reload_summary_lists_added_changed_removed() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            text(Message::ReloadSummary {
                added: names(&["api"]),
                changed: names(&["web"]),
                removed: names(&["worker"])
            }),
            "reload: +api ~web -worker"
        );
        assert_eq!(
            text(Message::ReloadSummary {
                added: vec![],
                changed: vec![],
                removed: vec![]
            }),
            "reload: no changes"
        );
    }
}
