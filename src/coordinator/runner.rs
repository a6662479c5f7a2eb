//! The event loop: one `select!` over job events, stop signals, closed output and manifest
//! changes, handing each to [`Fleet::handle`] and carrying out the actions it returns.

use std::collections::VecDeque;
use std::io;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::manifest::Manifest;
use crate::mux::Mux;
use crate::watchdog::Watchdog;

use super::event::{Action, Event};
use super::fleet::Fleet;
use super::launch::Jobs;
use super::signals::StopSignals;

/// Where reloaded manifests come from: each item is a freshly loaded manifest, or the
/// rendered error of a failed load.
pub type ManifestUpdates = mpsc::UnboundedReceiver<Result<Manifest, String>>;

/// Runs the selected processes of `manifest` until they have all ended or procmux was told
/// to stop, and returns procmux's exit code.
///
/// `selection` names the processes to run (empty: every autostart process); `updates`, when
/// given, delivers reloaded manifests; `watchdog` is told every process group spawned and
/// ended. Stop signals are handled from the moment this starts.
pub async fn run(
    manifest: Manifest,
    selection: &[String],
    mux: Mux,
    updates: Option<ManifestUpdates>,
    watchdog: Watchdog,
) -> io::Result<i32> {
    let mut signals = StopSignals::install()?;
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut jobs = Jobs::new(mux.clone(), events_tx, watchdog);
    let mut fleet = Fleet::new(manifest, selection);
    let mut updates = updates;
    let mut output_open = true;

    let mut pending: VecDeque<Action> = fleet.start().into();
    loop {
        while let Some(action) = pending.pop_front() {
            if let Action::Exit(code) = action {
                jobs.finish().await;
                return Ok(code);
            }
            jobs.execute(action).await;
        }
        let event = tokio::select! {
            Some(event) = events.recv() => event,
            signal = signals.recv() => Event::Signal(signal),
            () = mux.closed(), if output_open => {
                output_open = false;
                Event::OutputClosed
            }
            update = recv_update(&mut updates) => match update {
                Some(update) => Event::ManifestChanged(Box::new(update)),
                None => {
                    updates = None;
                    continue;
                }
            },
        };
        pending.extend(fleet.handle(event, Instant::now()));
    }
}

/// The next manifest update, or never when there is no watcher.
async fn recv_update(updates: &mut Option<ManifestUpdates>) -> Option<Result<Manifest, String>> {
    match updates {
        Some(updates) => updates.recv().await,
        None => std::future::pending().await,
    }
}
