//! [`Checks`]: the readiness checks of running instances, each a task off the event loop that
//! reports [`Event::Ready`] or [`Event::NotReady`]. A `log` check is a tap on the instance's
//! output (it looks at lines only while it waits), made when the process is spawned so that
//! no early line is missed; `tcp`, `http` and `exec` checks are the
//! probes of [`crate::probe`]. A check is cancelled when its instance stops, and costs
//! nothing once it passed.

use std::collections::HashMap;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;

use crate::manifest::{InstanceSpec, ReadyCheck, ReadyKind};
use crate::mux::Tap;
use crate::probe::{ExecProbe, Probe, ProbeTimings};

use super::event::{Event, InstanceKey};

/// The checks under way, by instance.
pub struct Checks {
    running: HashMap<InstanceKey, AbortHandle>,
    events: UnboundedSender<Event>,
}

impl Checks {
    /// No check under way; results go to `events`.
    pub fn new(events: UnboundedSender<Event>) -> Self {
        Self {
            running: HashMap::new(),
            events,
        }
    }

    /// Starts the check of a freshly spawned instance (replacing one still under way for it).
    /// `tap` is what a `log` check waits on: registered on the instance's output when it was
    /// spawned, before its first line could be read.
    pub fn start(
        &mut self,
        spec: InstanceSpec,
        generation: u64,
        check: ReadyCheck,
        tap: Option<Tap>,
    ) {
        let key = InstanceKey::of(&spec);
        let events = self.events.clone();
        let event_key = key.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let result = run_check(&spec, &check, tap).await;
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

    /// Cancels the check of an instance, if one is under way.
    pub fn cancel(&mut self, key: &InstanceKey) {
        if let Some(task) = self.running.remove(key) {
            task.abort();
        }
    }

    /// Cancels every check.
    pub fn cancel_all(&mut self) {
        for (_, task) in self.running.drain() {
            task.abort();
        }
    }
}

/// Waits until the check passes (`Ok`) or its timeout runs out (`Err` with the last failure).
async fn run_check(
    spec: &InstanceSpec,
    check: &ReadyCheck,
    tap: Option<Tap>,
) -> Result<(), String> {
    match &check.kind {
        ReadyKind::Log { text } => {
            let Some(tap) = tap else {
                return Err("the output of the process cannot be read".into());
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
