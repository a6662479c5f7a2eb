//! The watchdog: a tiny second process that kills what procmux started when procmux itself
//! dies without cleaning up (SIGKILL, a crash, the OOM killer).
//!
//! The parent-death signal reaches only procmux's direct children; a shell wrapper's real
//! program (`web: cd app && bin/web`) and every grandchild outlive it. So `procmux run` starts
//! the procmux binary again as `procmux __watchdog` ([`serve_if_asked`], checked first thing in
//! `main`, before any argument parsing or runtime), with a pipe as its stdin, and tells it
//! through [`Watchdog`] what to kill: procmux's own cgroup, under which every instance runs in
//! a cgroup of its own, where cgroups can be had; otherwise each instance's process group as it
//! is created, and again as it ends. At a clean exit procmux says `bye`. If the pipe closes
//! without it, procmux is gone: the watchdog SIGKILLs every group and cgroup it still knows,
//! removes the cgroups, and exits. The protocol is one line per message (`protocol.rs`).
//!
//! # Properties
//!
//! - Nothing while waiting: the watchdog blocks in `read(2)` (no timer, no thread, no
//!   runtime); procmux's side blocks in `waitid(2)` on one thread and otherwise only writes
//!   when something starts or ends.
//! - Small: a few pages of its own (see the figures in the crate's tests); it maps the same
//!   binary and libc as procmux, whose pages it shares.
//! - Deaf to the terminal: it leads its own process group, so the terminal's Ctrl-C, Ctrl-Z
//!   and hang-up (which go to procmux's group) and a `kill -9` of procmux's whole group miss
//!   it, and it blocks SIGINT, SIGTERM, SIGHUP, SIGTSTP, SIGQUIT, SIGTTIN and SIGTTOU sent to
//!   it directly. Only SIGKILL ends it; procmux then says so on a system line and starts
//!   another ([`Notice`]), at most five times a minute.
//! - Never late: each call writes its line before returning, so a group that procmux was
//!   told about is known to the watchdog even if procmux dies right after.
//! - Never kills by mistake: it only acts when the pipe closes without `bye`; it never sends
//!   to group 0 or 1, nor to its own group; it only touches cgroup2 directories. A group is
//!   forgotten as soon as its job has ended (the supervisor has by then swept the group, so
//!   the id is free only once nothing is left in it); pids are handed out in sequence, so an
//!   id cannot name a new group in the moment between the end and the `forget`.
//!
//! # Layout
//!
//! - `protocol.rs`: [`Message`], its line format, and what can be sent ([`Pgid`],
//!   [`CgroupPath`]).
//! - `tracked.rs`: [`Tracked`], the set both sides keep.
//! - `serve.rs`: the watchdog process: read, then exit or sweep.
//! - [`cgroup`]: killing and removing a cgroup subtree.
//! - `handle.rs`: [`Watchdog`], procmux's side.
//! - `spawn.rs`: starting one watchdog process.
//! - `monitor.rs`: the thread that notices a dead watchdog and starts another.
//! - `restarts.rs`: how often that may happen.
//! - `notice.rs`: [`Notice`], the system lines.

#[cfg(target_os = "linux")]
pub mod cgroup;
mod handle;
#[cfg(target_os = "linux")]
mod monitor;
mod notice;
mod protocol;
mod restarts;
#[cfg(target_os = "linux")]
mod serve;
#[cfg(target_os = "linux")]
mod spawn;
mod tracked;

use std::process::ExitCode;

pub use handle::Watchdog;
pub use notice::{Death, NoReplacement, Notice};
pub use protocol::{CgroupPath, MAX_LINE, Message, ParseError, Pgid, Untrackable};
#[cfg(target_os = "linux")]
pub use serve::ARG;
#[cfg(target_os = "linux")]
pub use spawn::PROGRAM_ENV;
pub use tracked::Tracked;

/// If this process was started as a watchdog (`procmux __watchdog`), runs it and returns its
/// exit code; otherwise returns `None` at once. Call it first thing in `main`.
pub fn serve_if_asked() -> Option<ExitCode> {
    #[cfg(target_os = "linux")]
    if std::env::args_os().nth(1).is_some_and(|arg| arg == ARG) {
        return Some(serve::serve());
    }
    None
}
