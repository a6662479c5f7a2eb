//! [`Checks`]: the readiness checks of running instances, each a task off the event loop that
//! reports [`Event::Ready`] or [`Event::NotReady`]. A `log` check is a tap on the instance's
//! output (it looks at lines only while it waits); `tcp`, `http` and `exec` checks are the
//! probes of [`crate::probe`]. A check is cancelled when its instance stops, and costs
//! nothing once it passed.
//!
//! A `log` check's tap is armed before the spawn ([`Checks::arm`]): a process that prints
//! its ready line as its first instruction would otherwise often print it before the check's
//! task got going, and the check would wait for a line that already went by.

use std::collections::HashMap;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;

use crate::manifest::{InstanceSpec, ReadyCheck, ReadyKind};
use crate::mux::{Source, Tap};
use crate::probe::{ExecProbe, Probe, ProbeTimings};

use super::event::{Event, InstanceKey};

/// The checks under way, by instance.
pub struct Checks {
    running: HashMap<InstanceKey, AbortHandle>,
    /// `log` taps armed before a spawn, with the generation they were armed for, until that
    /// generation's check takes them.
    armed: HashMap<InstanceKey, (u64, Tap)>,
    events: UnboundedSender<Event>,
}

impl Checks {
    /// No check under way; results go to `events`.
    pub fn new(events: UnboundedSender<Event>) -> Self {
        Self {
            running: HashMap::new(),
            armed: HashMap::new(),
            events,
        }
    }

    /// Before an instance is spawned: if its check is a `log` check, starts looking at the
    /// lines of `source` (its output) now, so that a line printed at once is not missed.
    pub fn arm(&mut self, spec: &InstanceSpec, generation: u64, source: &Source) {
        let key = InstanceKey::of(spec);
        match spec.ready.as_ref().map(|check| &check.kind) {
            Some(ReadyKind::Log { text }) => {
                self.armed.insert(key, (generation, source.tap(text)));
            }
            _ => {
                self.armed.remove(&key);
            }
        }
    }

    /// Starts the check of a freshly spawned instance (replacing one still under way for it).
    /// `source` is the instance's output, for a `log` check.
    pub fn start(
        &mut self,
        spec: InstanceSpec,
        generation: u64,
        check: ReadyCheck,
        source: Option<Source>,
    ) {
        let key = InstanceKey::of(&spec);
        let tap = armed_tap(&mut self.armed, &key, generation);
        let events = self.events.clone();
        let event_key = key.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let result = run_check(&spec, &check, source, tap).await;
            let _ = events.send(match result {
                Ok(()) => Event::Ready {
                    key: event_key,
                    generation,
                    after: started.elapsed(),
                },
                Err(error) => Event::NotReady {
                    key: event_key,
                    generation,
                    error,
                },
            });
        });
        if let Some(old) = self.running.insert(key, task.abort_handle()) {
            old.abort();
        }
    }

    /// Cancels the check of an instance, if one is under way (or armed).
    pub fn cancel(&mut self, key: &InstanceKey) {
        self.armed.remove(key);
        if let Some(task) = self.running.remove(key) {
            task.abort();
        }
    }

    /// Cancels every check.
    pub fn cancel_all(&mut self) {
        self.armed.clear();
        for (_, task) in self.running.drain() {
            task.abort();
        }
    }
}

/// The tap armed for this generation of the instance, if any (one armed for another
/// generation is stale: dropped).
fn armed_tap(
    armed: &mut HashMap<InstanceKey, (u64, Tap)>,
    key: &InstanceKey,
    generation: u64,
) -> Option<Tap> {
    armed
        .remove(key)
        .and_then(|(armed_for, tap)| (armed_for == generation).then_some(tap))
}

/// Waits until the check passes (`Ok`) or its timeout runs out (`Err` with the last failure).
/// A `log` check uses `armed`, the tap armed before the spawn, else a tap on `source` from
/// now on.
async fn run_check(
    spec: &InstanceSpec,
    check: &ReadyCheck,
    source: Option<Source>,
    armed: Option<Tap>,
) -> Result<(), String> {
    match &check.kind {
        ReadyKind::Log { text } => {
            let tap = match (armed, source) {
                (Some(tap), _) => tap,
                (None, Some(source)) => source.tap(text),
                (None, None) => return Err("the output of the process cannot be read".into()),
            };
            match tokio::time::timeout(check.timeout, tap).await {
                Ok(()) => Ok(()),
                Err(_) => Err(format!("no line contained {text:?}")),
            }
        }
        kind => match to_probe(spec, kind) {
            Some(probe) => crate::probe::wait_ready(&probe, &timings(check))
                .await
                .map(|_| ())
                .map_err(|not_ready| match not_ready.last_error {
                    Some(error) => error.to_string(),
                    None => "no attempt was made before the timeout".to_owned(),
                }),
            None => Ok(()),
        },
    }
}

fn timings(check: &ReadyCheck) -> ProbeTimings {
    ProbeTimings {
        initial_delay: check.initial_delay,
        interval: check.interval,
        attempt_timeout: check.attempt_timeout,
        timeout: check.timeout,
    }
}

/// The probe of a `tcp`, `http` or `exec` check; `None` for a `log` check, which is a tap.
fn to_probe(spec: &InstanceSpec, kind: &ReadyKind) -> Option<Probe> {
    Some(match kind {
        ReadyKind::Tcp { host, port } => Probe::Tcp {
            host: host.clone(),
            port: *port,
        },
        ReadyKind::Http { host, port, path } => Probe::Http {
            host: host.clone(),
            port: *port,
            path: path.clone(),
        },
        ReadyKind::Exec { command } => Probe::Exec(ExecProbe {
            argv: command.argv(),
            env: spec.env.clone(),
            cwd: Some(spec.cwd.clone()),
        }),
        ReadyKind::Log { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::time::Duration;

    use tokio::sync::mpsc::unbounded_channel;

    use super::*;
    use crate::manifest::{ProcessCommand, RestartPolicy};
    use crate::mux::{Mux, MuxOptions, SharedBuffer, pump};
    use crate::supervisor::Signal;

    fn logged(text: &str, timeout: Duration) -> InstanceSpec {
        InstanceSpec {
            process: "db".into(),
            index: 1,
            display_name: "db".into(),
            command: ProcessCommand::Shell {
                shell: "sh".into(),
                command: "run db".into(),
            },
            cwd: PathBuf::from("/project"),
            env: BTreeMap::new(),
            stop_signal: Signal::Terminate,
            stop_timeout: Duration::from_secs(5),
            restart: RestartPolicy::No,
            max_restarts: None,
            can_die: false,
            autostart: true,
            color: None,
            depends_on: Vec::new(),
            ready: Some(ReadyCheck {
                kind: ReadyKind::Log { text: text.into() },
                initial_delay: Duration::ZERO,
                interval: Duration::from_millis(250),
                attempt_timeout: Duration::from_secs(1),
                timeout,
            }),
            watch: Vec::new(),
            watch_ignore: Vec::new(),
        }
    }

    fn mux() -> Mux {
        let options = MuxOptions {
            color: false,
            timestamps: false,
            raw: false,
        };
        Mux::new(options, Box::new(SharedBuffer::default()))
    }

    /// Arms the check for `armed`, lets the process print its first line, then starts the
    /// check for `started`, and returns what it reported.
    async fn first_line_then_check(armed: u64, started: u64, timeout: Duration) -> Event {
        let mux = mux();
        let source = mux.source("db", None);
        let (events_tx, mut events) = unbounded_channel();
        let mut checks = Checks::new(events_tx);
        let spec = logged("ready to accept", timeout);
        checks.arm(&spec, armed, &source);
        // Read before the check's task exists, as when a process prints at once.
        pump(&b"LOG: ready to accept connections\n"[..], source.clone()).await;
        let check = spec.ready.clone().unwrap();
        checks.start(spec, started, check, Some(source));
        tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("the check reported")
            .expect("the channel is open")
    }

    #[tokio::test]
    async fn a_log_check_armed_before_the_spawn_sees_a_line_printed_at_once() {
        let event = first_line_then_check(7, 7, Duration::from_secs(60)).await;
        assert!(
            matches!(event, Event::Ready { generation: 7, .. }),
            "{event:?}"
        );
    }

    #[tokio::test]
    async fn a_tap_armed_for_another_generation_is_not_used() {
        let event = first_line_then_check(6, 7, Duration::from_millis(100)).await;
        assert!(
            matches!(event, Event::NotReady { generation: 7, .. }),
            "{event:?}"
        );
    }
}
