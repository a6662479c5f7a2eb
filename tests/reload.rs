//! Integration tests of hot reload: real processes, real file edits, pids checked.

#![allow(clippy::unwrap_used)]

#[path = "run/support.rs"]
mod support;

#[path = "reload/diff.rs"]
mod diff;
#[path = "reload/edits.rs"]
mod edits;
