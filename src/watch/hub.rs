//! The hub: the one task on procmux's runtime. It debounces the changes the notify thread
//! routes to it, hands blocking work to the worker thread, and delivers [`WatchEvent`]s.
//! While nothing changes it waits with no timer.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use super::debounce::Debouncer;
use super::rules::Rules;
use super::worker::Job;
use super::{MANIFEST_QUIET, WatchEvent};

/// What the notify thread and the worker tell the hub.
#[derive(Debug)]
pub(crate) enum HubInput {
    /// A file a process watches changed.
    Change { key: String, path: PathBuf },
    /// A manifest file changed.
    ManifestTouched,
    /// Look at the manifest again after this long (see `stable.rs`).
    ManifestWait(Duration),
    /// Deliver this.
    Event(WatchEvent),
}

/// What a [`FileWatcher`](super::FileWatcher) asks for.
pub(crate) enum Command {
    /// Watch for a process (the hub keeps its debounce).
    SetProcess { key: String, rules: Box<Rules> },
    /// Stop watching for a process (the hub drops its open burst).
    RemoveProcess(String),
    /// Any other job for the worker.
    Other(Job),
}

/// What a debounced burst is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Manifest,
    Process(String),
}

/// Sends the worker its stop job however the hub ends (its handles dropped, its events'
/// receiver dropped, or the runtime shutting down).
struct StopWorker(Sender<Job>);

impl Drop for StopWorker {
    fn drop(&mut self) {
        let _ = self.0.send(Job::Stop);
    }
}

/// Runs the hub until every handle is dropped or no one receives its events.
pub(crate) async fn run(
    mut commands: UnboundedReceiver<Command>,
    mut inputs: UnboundedReceiver<HubInput>,
    events: UnboundedSender<WatchEvent>,
    jobs: Sender<Job>,
) {
    let stop = StopWorker(jobs);
    let jobs = &stop.0;
    let mut debouncer: Debouncer<Target> = Debouncer::default();
    let mut debounces: HashMap<String, Duration> = HashMap::new();
    loop {
        let deadline = debouncer.deadline();
        tokio::select! {
            command = commands.recv() => {
                let job = match command {
                    None => return,
                    Some(Command::SetProcess { key, rules }) => {
                        debounces.insert(key.clone(), rules.debounce);
                        Job::SetProcess { key, rules }
                    }
                    Some(Command::RemoveProcess(key)) => {
                        debounces.remove(&key);
                        debouncer.forget(&Target::Process(key.clone()));
                        Job::RemoveProcess(key)
                    }
                    Some(Command::Other(job)) => job,
                };
                if jobs.send(job).is_err() {
                    return;
                }
            }
            Some(input) = inputs.recv() => {
                let now = Instant::now();
                match input {
                    HubInput::Change { key, path } => {
                        if let Some(quiet) = debounces.get(&key) {
                            debouncer.record(Target::Process(key), Some(path), *quiet, now);
                        }
                    }
                    HubInput::ManifestTouched => {
                        debouncer.record(Target::Manifest, None, MANIFEST_QUIET, now);
                    }
                    HubInput::ManifestWait(wait) => {
                        debouncer.record(Target::Manifest, None, wait, now);
                    }
                    HubInput::Event(event) => {
                        if events.send(event).is_err() {
                            return;
                        }
                    }
                }
            }
            () = sleep_until(deadline), if deadline.is_some() => {
                for (target, changes) in debouncer.take_due(Instant::now()) {
                    let sent = match target {
                        Target::Manifest => jobs.send(Job::CheckManifest).is_ok(),
                        Target::Process(key) => events
                            .send(WatchEvent::Process {
                                key,
                                paths: changes.paths,
                                more: changes.more,
                            })
                            .is_ok(),
                    };
                    if !sent {
                        return;
                    }
                }
            }
            () = events.closed() => return,
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
