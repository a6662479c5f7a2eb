//! Integration tests of the watchdog: against the built binary and real processes, with
//! `/proc` checks and deadlines.
//!
//! The watchdog inherits the test token like every process procmux starts, so the harness's
//! survivor check also proves that no watchdog outlives procmux. Tests find the watchdog as
//! procmux's child by its cmdline, and only ever signal pids they found that way or started.

#![allow(clippy::unwrap_used)]

#[path = "run/support.rs"]
mod support;

#[path = "watchdog/custom.rs"]
mod custom;
#[path = "watchdog/procfs.rs"]
mod procfs;

#[path = "watchdog/cgroup.rs"]
mod cgroup;
#[path = "watchdog/cost.rs"]
mod cost;
#[path = "watchdog/handle.rs"]
mod handle;
#[path = "watchdog/replace.rs"]
mod replace;
#[path = "watchdog/sigkill.rs"]
mod sigkill;
#[path = "watchdog/signals.rs"]
mod signals;
