//! Starting one watchdog process: the procmux binary again with the hidden argument, its
//! stdin a pipe whose write end procmux keeps.
//!
//! - The program is `/proc/self/exe`, the very binary procmux runs from, even after a
//!   rebuild replaced the file on disk (so both ends always speak the same protocol).
//! - It leads its own process group (`process_group(0)`, done by `posix_spawn` itself, so
//!   there is no moment when it is still in procmux's group), so that a signal to procmux's
//!   group (`kill -9 -PGID`, a shell's `kill %1`, an IDE stopping the "job") does not take the
//!   watchdog along with procmux: that is exactly when it is needed. It stays in procmux's
//!   session: a new session would need a `pre_exec` (unsafe, and a fork instead of
//!   `posix_spawn`), and would add nothing, since the terminal's signals reach only the
//!   foreground group and the session leader, and the watchdog blocks them anyway.
//! - Its cwd is `/`, so it never holds a project folder (or a mount) busy; its stdout is
//!   `/dev/null` and its stderr procmux's, for the one line it prints after a crash.
//! - procmux's end of the pipe is close-on-exec (std creates every pipe with `O_CLOEXEC`), so
//!   no child inherits it: the pipe closes exactly when procmux dies. It is made
//!   non-blocking, so that a write from the event loop can never wait, and grown to 1 MiB
//!   where the kernel allows, so that only a watchdog that stopped reading fills it.

use crate::supervisor::tracking::spawn_known_child;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use nix::fcntl::{FcntlArg, OFlag, fcntl};

use super::serve::ARG;

/// A test hook: the program to start as the watchdog instead of `/proc/self/exe` (for
/// example a path that does not exist, to see procmux run without one).
pub const PROGRAM_ENV: &str = "PROCMUX_TEST_WATCHDOG_EXE";

/// The pipe size asked for.
const PIPE_SIZE: i32 = 1 << 20;

/// A freshly started watchdog.
#[derive(Debug)]
pub struct Started {
    /// The process, to wait on.
    pub child: Child,
    /// The write end of its stdin, non-blocking.
    pub pipe: File,
}

/// The program procmux starts as its watchdog: itself, unless the test hook says otherwise.
pub fn default_program() -> PathBuf {
    std::env::var_os(PROGRAM_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/proc/self/exe"))
}

/// Starts `program __watchdog`.
pub fn start(program: &Path) -> io::Result<Started> {
    let mut command = Command::new(program);
    command
        .arg0("procmux")
        .arg(ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .current_dir("/")
        .process_group(0);
    // Registered as a child procmux waits for itself (its monitor does), so that the orphan
    // reaper (procmux as a subreaper or PID 1) never takes its exit.
    let mut child = spawn_known_child(|| command.spawn(), |child| Some(child.id()))?;
    let Some(stdin) = child.stdin.take() else {
        // Cannot happen with Stdio::piped(); a watchdog nobody can talk to is no use.
        let _ = child.kill();
        let _ = child.wait();
        return Err(io::Error::other("the watchdog has no stdin"));
    };
    let pipe = File::from(OwnedFd::from(stdin));
    let nonblocking = fcntl(&pipe, FcntlArg::F_GETFL)
        .map(|flags| OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK)
        .and_then(|flags| fcntl(&pipe, FcntlArg::F_SETFL(flags)));
    if let Err(error) = nonblocking {
        let _ = child.kill();
        let _ = child.wait();
        return Err(error.into());
    }
    // Best effort: the default 64 KiB is still some 5,000 messages.
    let _ = fcntl(&pipe, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
    Ok(Started { child, pipe })
}
