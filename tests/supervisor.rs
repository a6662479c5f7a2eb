//! Integration tests of `procmux::supervisor` against real processes (`sh`, `sleep`, `trap`,
//! `setsid`, `kill -STOP`, `/proc`, cgroups).
//!
//! One test binary; each module covers one part of the contract in
//! `shared/design/supervisor.md` and `shared/design/ownership.md`. Some run a payload in a
//! child process of their own (the fallback path, PID 1, a terminal): see their docs.

#![cfg(unix)]
#![allow(clippy::unwrap_used)]

#[path = "supervisor/support.rs"]
mod support;

#[path = "supervisor/harness.rs"]
mod harness;

#[path = "supervisor/errors.rs"]
mod errors;
#[path = "supervisor/fallback.rs"]
mod fallback;
#[path = "supervisor/foreground.rs"]
mod foreground;
#[path = "supervisor/hooks.rs"]
mod hooks;
#[path = "supervisor/leaks.rs"]
mod leaks;
#[path = "supervisor/lifecycle.rs"]
mod lifecycle;
#[path = "supervisor/ownership.rs"]
mod ownership;
#[path = "supervisor/pid1.rs"]
mod pid1;
#[path = "supervisor/stopping.rs"]
mod stopping;
#[path = "supervisor/tracking.rs"]
mod tracking;
#[path = "supervisor/upstream_job.rs"]
mod upstream_job;
#[path = "supervisor/upstream_programs.rs"]
mod upstream_programs;
