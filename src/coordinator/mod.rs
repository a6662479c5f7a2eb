//! The coordinator: one supervised job per process instance, driven by one event loop.
//!
//! Every source of change sends an [`Event`] into one channel: job hooks (spawned, leftovers,
//! exited, failed to spawn, a job task that died), keyed timers, readiness checks, signals to
//! procmux, its output being closed, reloaded manifests, changed files and control requests.
//! The pure [`Fleet`] turns each event into [`Action`]s (start, stop, kill, check, say,
//! reply, exit), which the runner carries out on the jobs. See [`Fleet`] for the rules.
//!
//! # Layout
//!
//! - `event.rs`: [`Event`], [`Action`], [`InstanceKey`], timer keys and control verbs.
//! - `fleet/`: every decision ([`Fleet::handle`]), one file per concern (start and
//!   dependencies, endings, shutdown, reload, control requests, watched changes, status).
//! - `restart.rs`: the restart policy and its backoff; `diff.rs`: what a reload changes.
//! - `messages.rs`: the typed `system` lines and their wording.
//! - `plain.rs`: which commands can run without a shell; `preflight.rs`: start problems in
//!   the shell's words.
//! - `jobs.rs`: jobs, their hooks, and output wiring into the multiplexer.
//! - `timers.rs`, `checks.rs`, `signals.rs`: the timers, readiness checks and signals the
//!   loop waits on.
//! - `watching.rs`: the file watcher's manifest reloads and processes' changes, as events.
//! - `control.rs`: the control socket's requests answered from the fleet and the output.
//! - `runner.rs`: the loop, [`run`].

mod checks;
mod control;
mod diff;
mod event;
mod fleet;
mod jobs;
mod messages;
mod plain;
pub mod preflight;
mod restart;
mod runner;
mod signals;
mod timers;
mod watching;

pub use diff::{ReloadPlan, diff};
pub use event::{
    Action, ControlOutcome, ControlVerb, Event, InstanceKey, Reloaded, TimerKey, TimerPurpose,
};
pub use fleet::{
    CLOSED_OUTPUT_EXIT_CODE, FAILED_EXIT_CODE, Fleet, InstanceState, InstanceStatus, exit_code,
};
pub use jobs::command_for;
pub use messages::Message;
pub use restart::{RestartDecision, RestartTracker, backoff_delay};
pub use runner::{RunInputs, run};
pub use watching::WatchInputs;
