//! The hub: the one task on procmux's runtime. It debounces the changes the reading thread
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

/// What the reading thread and the worker tell the hub.
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tokio::sync::mpsc::unbounded_channel;

    use super::*;
    use crate::watch::ProcessWatch;

    struct Harness {
        commands: UnboundedSender<Command>,
        inputs: UnboundedSender<HubInput>,
        events: UnboundedReceiver<WatchEvent>,
        jobs: UnboundedReceiver<Job>,
    }

    impl Harness {
        fn start() -> Self {
            let (commands, commands_rx) = unbounded_channel();
            let (inputs, inputs_rx) = unbounded_channel();
            let (events_tx, events) = unbounded_channel();
            let (jobs_tx, worker_jobs) = std::sync::mpsc::channel();
            tokio::spawn(run(commands_rx, inputs_rx, events_tx, jobs_tx));
            // The worker is a thread: so is its stand-in, which passes the jobs on to the test.
            let (forward, jobs) = unbounded_channel();
            std::thread::spawn(move || {
                while let Ok(job) = worker_jobs.recv() {
                    if forward.send(job).is_err() {
                        return;
                    }
                }
            });
            Self {
                commands,
                inputs,
                events,
                jobs,
            }
        }

        /// The next job the hub hands the worker.
        async fn job(&mut self) -> Job {
            self.jobs.recv().await.unwrap()
        }

        async fn set_process(&mut self, key: &str, debounce: Duration) {
            let rules = Rules::new(&ProcessWatch {
                cwd: "/p".into(),
                watch: vec!["*.rs".into()],
                ignore: Vec::new(),
                debounce,
            })
            .unwrap();
            self.commands
                .send(Command::SetProcess {
                    key: key.into(),
                    rules: Box::new(rules),
                })
                .unwrap();
            assert!(matches!(self.job().await, Job::SetProcess { .. }));
        }

        fn change(&self, key: &str, path: &str) {
            self.inputs
                .send(HubInput::Change {
                    key: key.into(),
                    path: path.into(),
                })
                .unwrap();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_gives_one_change_set_a_debounce_after_its_last_change() {
        let mut hub = Harness::start();
        hub.set_process("api", Duration::from_millis(100)).await;
        for _ in 0..5 {
            hub.change("api", "/p/a.rs");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        hub.change("api", "/p/b.rs");
        let last = Instant::now();
        let event = hub.events.recv().await.unwrap();
        assert_eq!(last.elapsed(), Duration::from_millis(100));
        let WatchEvent::Process { key, paths, more } = event else {
            panic!("{event:?}");
        };
        assert_eq!(key, "api");
        assert_eq!(paths, [PathBuf::from("/p/a.rs"), PathBuf::from("/p/b.rs")]);
        assert_eq!(more, 0);
        // Nothing else is pending: the next change starts a new burst.
        hub.change("api", "/p/c.rs");
        let again = Instant::now();
        hub.events.recv().await.unwrap();
        assert_eq!(again.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn each_process_has_its_own_debounce() {
        let mut hub = Harness::start();
        hub.set_process("fast", Duration::from_millis(50)).await;
        hub.set_process("slow", Duration::from_millis(300)).await;
        let start = Instant::now();
        hub.change("slow", "/p/s.rs");
        hub.change("fast", "/p/f.rs");
        let first = hub.events.recv().await.unwrap();
        assert!(matches!(&first, WatchEvent::Process { key, .. } if key == "fast"));
        assert_eq!(start.elapsed(), Duration::from_millis(50));
        let second = hub.events.recv().await.unwrap();
        assert!(matches!(&second, WatchEvent::Process { key, .. } if key == "slow"));
        assert_eq!(start.elapsed(), Duration::from_millis(300));
    }

    #[tokio::test(start_paused = true)]
    async fn a_removed_process_loses_its_open_burst() {
        let mut hub = Harness::start();
        hub.set_process("api", Duration::from_millis(100)).await;
        hub.set_process("web", Duration::from_millis(200)).await;
        hub.change("api", "/p/a.rs");
        hub.change("web", "/p/w.rs");
        tokio::task::yield_now().await;
        hub.commands
            .send(Command::RemoveProcess("api".into()))
            .unwrap();
        assert!(matches!(hub.job().await, Job::RemoveProcess(_)));
        let event = hub.events.recv().await.unwrap();
        assert!(
            matches!(&event, WatchEvent::Process { key, .. } if key == "web"),
            "{event:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn manifest_changes_ask_the_worker_for_a_check_after_the_quiet_time() {
        let mut hub = Harness::start();
        let start = Instant::now();
        hub.inputs.send(HubInput::ManifestTouched).unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        hub.inputs.send(HubInput::ManifestTouched).unwrap();
        assert!(matches!(hub.job().await, Job::CheckManifest));
        assert_eq!(start.elapsed(), Duration::from_millis(30) + MANIFEST_QUIET);
        // The worker found a half-written file: look again later.
        let wait = Duration::from_millis(700);
        let asked = Instant::now();
        hub.inputs.send(HubInput::ManifestWait(wait)).unwrap();
        assert!(matches!(hub.job().await, Job::CheckManifest));
        assert_eq!(asked.elapsed(), wait);
    }
}
