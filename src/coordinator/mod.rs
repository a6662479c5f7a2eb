//! The coordinator: one supervised job per process instance, driven by one event loop.
//!
//! Every source of change becomes an [`Event`]: job hooks (spawned, exited, failed to
//! spawn), restart timers, stop signals to procmux, its output being closed, and reloaded
//! manifests. The pure [`Fleet`] turns each event into [`Action`]s (start, stop, kill, print,
//! exit), which the runner carries out on the jobs. See [`Fleet`] for the rules: start order,
//! restart policy and backoff, foreman's "one ends, all stop", `can_die`, the second Ctrl-C,
//! exit codes and reload.
//!
//! # Layout
//!
//! - `event.rs`: [`Event`], [`Action`], [`InstanceKey`].
//! - `fleet/`: the per-instance state machine and every decision ([`Fleet::handle`]);
//!   `fleet/reload.rs` applies a reload, `fleet/shutdown.rs` stops everything.
//! - `restart.rs`: the restart policy and its backoff.
//! - `diff.rs`: `diff(old, new)`, what a reload changes.
//! - `messages.rs`: the text of `system` lines.
//! - `plain.rs`: which commands can run without a shell.
//! - `launch.rs`: jobs, their hooks, and output wiring into the multiplexer.
//! - `signals.rs`: SIGINT, SIGTERM, SIGHUP and SIGQUIT as one stream.
//! - `reload.rs`: watching the manifest and env files, debounced, loading them again.
//! - `runner.rs`: the `select!` loop, [`run`].

mod diff;
mod event;
mod fleet;
mod launch;
mod messages;
mod plain;
mod reload;
mod restart;
mod runner;
mod signals;

pub use diff::{ReloadPlan, diff};
pub use event::{Action, Event, InstanceKey};
pub use fleet::{CLOSED_OUTPUT_EXIT_CODE, Fleet, exit_code};
pub use launch::command_for;
pub use reload::watch;
pub use restart::{RestartDecision, RestartTracker, backoff_delay};
pub use runner::{ManifestUpdates, run};
