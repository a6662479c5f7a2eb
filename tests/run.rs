//! Integration tests of `procmux run` against the built binary and real processes.
//!
//! Every test runs procmux in a fresh temporary folder with a unique environment token that
//! its children inherit, so the test can find each process it caused by that token in `/proc`
//! (survivors) and kill only those.

#![allow(clippy::unwrap_used)]

#[path = "run/support.rs"]
mod support;

#[path = "run/control.rs"]
mod control;
#[path = "run/dependencies.rs"]
mod dependencies;
#[path = "run/exit_codes.rs"]
mod exit_codes;
#[path = "run/foreman.rs"]
mod foreman;
#[path = "run/launching.rs"]
mod launching;
#[path = "run/output.rs"]
mod output;
#[path = "run/ownership.rs"]
mod ownership;
#[path = "run/restart.rs"]
mod restart;
#[path = "run/signals.rs"]
mod signals;
#[path = "run/stopping.rs"]
mod stopping;
#[path = "run/watching.rs"]
mod watching;
