//! The exec check: run a command, pass on exit code 0.
//!
//! The command runs in a process group of its own, with stdin, stdout and stderr on
//! `/dev/null` (a check's chatter is not the stack's output). When the attempt times out, or
//! the future is dropped (a coordinator that gave up waiting), the whole group is killed, not
//! just its leader: `sh -c 'pg_isready; sleep 5'` must not leave a `sleep` behind. After a
//! normal exit the group is killed too, for whatever the command left running in the
//! background.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use crate::supervisor::tracking::{forget_child, spawn_known_child};
use nix::sys::signal::{Signal as NixSignal, killpg};
use nix::unistd::Pid;

use super::ExecProbe;
use super::error::{AttemptError, short_reason};

/// One run of the command, at most `attempt_timeout` long.
pub(crate) async fn attempt(
    probe: &ExecProbe,
    attempt_timeout: Duration,
) -> Result<(), AttemptError> {
    let Some((program, args)) = probe.argv.split_first() else {
        return Err(AttemptError::Spawn {
            program: String::new(),
            reason: "empty command".into(),
        });
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .envs(&probe.env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(cwd) = &probe.cwd {
        command.current_dir(cwd);
    }
    // Registered as a child procmux waits for itself, so that an orphan reaper (procmux as a
    // subreaper or PID 1) never takes its exit.
    let mut child =
        spawn_known_child(|| command.spawn(), tokio::process::Child::id).map_err(|error| {
            AttemptError::Spawn {
                program: program.clone(),
                reason: short_reason(&error),
            }
        })?;
    let _known = child.id().map(KnownChild);
    // The leader's pid is the group's id (process_group(0)).
    let _group = child.id().map(|pid| GroupKill(Pid::from_raw(pid as i32)));
    match tokio::time::timeout(attempt_timeout, child.wait()).await {
        Ok(Ok(status)) => judge(status),
        Ok(Err(error)) => Err(AttemptError::io(&error)),
        // `_group` kills the group on the way out; kill_on_drop reaps the leader.
        Err(_) => Err(AttemptError::TimedOut {
            after: attempt_timeout,
        }),
    }
}

fn judge(status: ExitStatus) -> Result<(), AttemptError> {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(()),
        (Some(code), _) => Err(AttemptError::ExitCode { code }),
        (None, Some(signal)) => Err(AttemptError::Signal { signal }),
        (None, None) => Err(AttemptError::ExitCode { code: -1 }),
    }
}

/// Forgets the registered child when the attempt is over (waited for, or dropped to be
/// killed and reaped by tokio).
struct KnownChild(u32);

impl Drop for KnownChild {
    fn drop(&mut self) {
        forget_child(self.0);
    }
}

/// Kills the process group when dropped: on timeout, on cancellation, and after a normal exit
/// (for what the command left in the background). A group that is already gone is fine.
struct GroupKill(Pid);

impl Drop for GroupKill {
    fn drop(&mut self) {
        let _ = killpg(self.0, NixSignal::SIGKILL);
    }
}
