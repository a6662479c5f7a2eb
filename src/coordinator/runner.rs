//! The event loop: one channel that every producer sends into (job hooks, timers, readiness
//! checks, signals, the output writer, the manifest watcher), each event handed to
//! [`Fleet::handle`] and the actions it returns carried out.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use crate::manifest::Manifest;
use crate::mux::Mux;
use crate::supervisor::tracking::Tracker;
use crate::watchdog::Watchdog;

use crate::control::ControlRequest;

use super::checks::Checks;
use super::control::Control;
use super::event::{Action, Event};
use super::fleet::Fleet;
use super::jobs::Jobs;
use super::messages::Message;
use super::signals::{Incoming, Signals};
use super::timers::Timers;
use super::watching::{WatchInputs, Watching};

/// What [`run`] needs.
pub struct RunInputs {
    /// The manifest to run.
    pub manifest: Manifest,
    /// The processes named on the command line (empty: every autostart process).
    pub selection: Vec<String>,
    /// Where output goes.
    pub mux: Mux,
    /// What to watch: the manifest for reloads, the processes' `watch` globs.
    pub watching: WatchInputs,
    /// Whether procmux's output is a terminal (Ctrl-C's `^C` then gets a line of its own).
    pub terminal: bool,
    /// Lines to print first (which manifest was picked, skipped processes...).
    pub notices: Vec<Message>,
    /// The control socket, bound by the caller (so that a second `run` is refused before
    /// anything starts); served from here until procmux exits.
    pub control: Option<crate::control::Server>,
    /// Told every process group spawned and ended, so that a SIGKILLed procmux leaves nothing.
    pub watchdog: Watchdog,
}

/// What reaches the loop.
enum Inbound {
    /// For the fleet.
    Event(Event),
    /// A signal the runner handles itself (Ctrl-Z, `fg`) or hands to the fleet.
    Signal(Incoming),
    /// A request from the control socket.
    Control(ControlRequest),
    /// A start finished (spawned or not): the next queued one may begin.
    StartDone,
}

/// How many control requests may wait for the loop before a client's send waits.
const CONTROL_QUEUE: usize = 64;

/// Runs the selected processes of the manifest until they have all ended or procmux was told
/// to stop, and returns procmux's exit code. Signals are handled from the moment this starts.
pub async fn run(inputs: RunInputs) -> io::Result<i32> {
    let RunInputs {
        manifest,
        selection,
        mux,
        watching,
        terminal,
        notices,
        control: server,
        watchdog,
    } = inputs;
    // Every name before the first line, so the `|` column never moves.
    for spec in manifest.instances() {
        mux.reserve_width(&spec.display_name);
    }
    let mut signals = Signals::install()?;
    let (events_tx, mut events) = mpsc::unbounded_channel::<Event>();
    let (inbound_tx, mut inbound) = mpsc::unbounded_channel::<Inbound>();

    // Every producer sends into one channel; the fleet's own events and the signal task are
    // forwarded into it.
    {
        let inbound_tx = inbound_tx.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if inbound_tx.send(Inbound::Event(event)).is_err() {
                    return;
                }
            }
        });
    }
    {
        let inbound_tx = inbound_tx.clone();
        tokio::spawn(async move {
            loop {
                let signal = signals.recv().await;
                if inbound_tx.send(Inbound::Signal(signal)).is_err() {
                    return;
                }
            }
        });
    }
    {
        let events_tx = events_tx.clone();
        let closed = mux.closed();
        tokio::spawn(async move {
            closed.await;
            let _ = events_tx.send(Event::OutputClosed);
        });
    }
    let mut watching = Watching::start(watching, &manifest, events_tx.clone(), &mux).await;

    let (stop_serving, serving) = match server {
        Some(server) => {
            let (requests_tx, mut requests) = mpsc::channel::<ControlRequest>(CONTROL_QUEUE);
            let inbound_tx = inbound_tx.clone();
            tokio::spawn(async move {
                while let Some(request) = requests.recv().await {
                    if inbound_tx.send(Inbound::Control(request)).is_err() {
                        return;
                    }
                }
            });
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            let mux = mux.clone();
            let task = tokio::spawn(async move {
                let shutdown = async {
                    let _ = stop_rx.await;
                };
                if let Err(error) = server.serve(requests_tx, shutdown).await {
                    mux.system(&format!("control socket: {error}"));
                }
            });
            (Some(stop_tx), Some(task))
        }
        None => (None, None),
    };
    let mut control = Control::default();

    // Before the first spawn: every job of this run is tracked the same way.
    let tracker = Tracker::detect();
    let root = manifest.settings.root.clone();
    let (start_done, mut starts_done) = mpsc::unbounded_channel::<()>();
    {
        let inbound_tx = inbound_tx.clone();
        tokio::spawn(async move {
            while starts_done.recv().await.is_some() {
                if inbound_tx.send(Inbound::StartDone).is_err() {
                    return;
                }
            }
        });
    }
    let mut jobs = Jobs::new(
        mux.clone(),
        events_tx.clone(),
        root,
        watchdog.clone(),
        Arc::clone(&tracker),
        start_done,
    );
    let mut timers = Timers::new(events_tx.clone());
    let mut checks = Checks::new(events_tx.clone());
    let mut fleet = Fleet::new(manifest, &selection);
    // No watcher for the processes' files (`--no-watch`, or it could not start): a watched
    // process that ends must not wait for a change.
    fleet.set_watch_restarts(watching.as_ref().is_some_and(Watching::restarts_processes));
    jobs.say(&Message::Note(tracker.to_string()));
    for notice in &notices {
        jobs.say(notice);
    }

    let mut pending: VecDeque<Action> = fleet.start().into();
    loop {
        while let Some(action) = pending.pop_front() {
            match action {
                Action::Exit(code) => {
                    drop(timers);
                    checks.cancel_all();
                    control.close();
                    jobs.finish().await;
                    // Processes that escaped their group and outlived their parent (process
                    // group tracking only): stopped like the rest.
                    let grace = fleet.longest_grace();
                    let swept = tracker
                        .stop_orphans(crate::supervisor::Signal::Terminate, grace)
                        .await;
                    let _ = swept;
                    tracker.close();
                    if let Some(root) = tracker.cgroup_root() {
                        let _ = watchdog.forget_cgroup(root);
                    }
                    // The socket goes last: a `procmux stop` client waits for it to close.
                    if let (Some(stop), Some(serving)) = (stop_serving, serving) {
                        let _ = stop.send(());
                        let _ = serving.await;
                    }
                    return Ok(code);
                }
                Action::Start { spec, generation } => jobs.start(*spec, generation),
                Action::Cancel { key } => {
                    checks.cancel(&key);
                    jobs.cancel(&key);
                }
                Action::StartTimer { timer, delay } => timers.start(timer, delay),
                Action::CancelTimer(timer) => timers.cancel(&timer),
                Action::CheckReady {
                    spec,
                    generation,
                    check,
                } => {
                    let tap = jobs.take_log_tap(&super::event::InstanceKey::of(&spec));
                    checks.start(*spec, generation, *check, tap);
                }
                Action::Stop { key, signal, grace } => {
                    checks.cancel(&key);
                    jobs.stop(&key, signal, grace);
                }
                Action::Kill { key } => {
                    checks.cancel(&key);
                    jobs.kill(&key);
                }
                Action::Forget { key } => {
                    checks.cancel(&key);
                    jobs.forget(&key);
                }
                Action::Say(message) => jobs.say(&message),
                Action::Reply { id, outcome } => control.answer(id, outcome),
            }
        }
        let Some(next) = inbound.recv().await else {
            // Every sender is held by this function: the channel cannot close while it runs.
            return Ok(1);
        };
        let event = match next {
            Inbound::Event(event) => event,
            Inbound::Signal(Incoming::Stop(signal)) => {
                if terminal && signal == crate::supervisor::Signal::Interrupt {
                    mux.break_line();
                }
                Event::Signal(signal)
            }
            Inbound::Signal(Incoming::Suspend) => {
                suspend(&jobs, &mux);
                continue;
            }
            Inbound::Signal(Incoming::Resume) => {
                jobs.signal_all(nix::sys::signal::Signal::SIGCONT);
                continue;
            }
            Inbound::StartDone => {
                jobs.start_done();
                continue;
            }
            Inbound::Control(request) => match control.request(request, &fleet, &jobs, &mux) {
                Some(event) => event,
                None => continue,
            },
        };
        if let Event::Timer(timer) = &event {
            timers.fired(timer);
        }
        if let Event::Exited { key, .. } = &event {
            checks.cancel(key);
        }
        let version = fleet.manifest_version();
        pending.extend(fleet.handle(event, Instant::now()));
        if fleet.manifest_version() != version
            && let Some(watching) = &mut watching
        {
            // Edited `watch` globs take effect at once.
            watching.follow(fleet.manifest());
        }
    }
}

/// Ctrl-Z: stops every child's process group, then procmux itself; `fg` continues procmux,
/// whose SIGCONT handler then continues the children.
fn suspend(jobs: &Jobs, mux: &Mux) {
    let _ = mux;
    jobs.signal_all(nix::sys::signal::Signal::SIGTSTP);
    // SIGSTOP, not SIGTSTP: procmux handles SIGTSTP, and the shell must see it stopped.
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
}
