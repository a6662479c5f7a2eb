//! Integration tests of the file watcher: real files in temporary folders, driving
//! `procmux::watch::FileWatcher` directly (no procmux binary).

#![allow(clippy::unwrap_used)]

#[path = "watch/support.rs"]
mod support;

#[path = "watch/manifest.rs"]
mod manifest;
#[path = "watch/processes.rs"]
mod processes;
#[path = "watch/watches.rs"]
mod watches;
