//! The process-group wrapper: [`ProcessGroup`] makes the child the leader of a new group (or
//! session), and [`GroupChild`] waits for the leader only and signals the whole group.
//!
//! It replaces `process-wrap`'s `ProcessGroup`, whose child waits with `waitpid(-pgid)`: that
//! collects every member of the group, and once procmux is a subreaper (members are then
//! procmux's children) it blocks in `spawn_blocking` until every one of them has died, and
//! would take exits meant for others. Here the leader is waited for through tokio (by its
//! pid), and what becomes of the rest of the group is the job's business.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::ExitStatus;

use nix::sys::signal::{Signal as NixSignal, killpg};
use nix::unistd::Pid;
use process_wrap::tokio::{ChildWrapper, CommandWrap, CommandWrapper};
use tokio::process::Command;

/// Makes the command the leader of a new process group, or of a new session (which is also a
/// new group) when `session` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessGroup {
    /// Start a new session (`setsid`) rather than only a new group.
    pub session: bool,
}

impl CommandWrapper for ProcessGroup {
    fn pre_spawn(&mut self, command: &mut Command, core: &CommandWrap) -> io::Result<()> {
        if self.session {
            // process-wrap's session wrapper registers the `setsid` in the child; only its
            // pre-spawn step is used, not its child wrapper.
            process_wrap::tokio::ProcessSession.pre_spawn(command, core)
        } else {
            command.process_group(0);
            Ok(())
        }
    }

    fn wrap_child(
        &mut self,
        inner: Box<dyn ChildWrapper>,
        _core: &CommandWrap,
    ) -> io::Result<Box<dyn ChildWrapper>> {
        Ok(match GroupChild::leading(inner) {
            Ok(child) => Box::new(child),
            // Not a group leader (a spawn function made the child some other way): leave it
            // as it is rather than signal a group it does not lead.
            Err(inner) => inner,
        })
    }
}

/// A child that leads its own process group.
///
/// `wait` and `try_wait` are the leader's (tokio reaps it by pid); `signal` and `start_kill`
/// reach the whole group with `killpg`. Dropped before the leader was reaped, it kills the
/// group, so that a child spawned straight from
/// [`Command::to_spawnable`](super::command::Command::to_spawnable) dies with its handle.
#[derive(Debug)]
pub struct GroupChild {
    inner: Box<dyn ChildWrapper>,
    pgid: Pid,
    exited: Option<ExitStatus>,
}

impl GroupChild {
    /// Wraps a child that is the leader of its own group; gives it back otherwise.
    fn leading(inner: Box<dyn ChildWrapper>) -> Result<Self, Box<dyn ChildWrapper>> {
        let Some(pid) = inner.id().and_then(|id| i32::try_from(id).ok()) else {
            return Err(inner);
        };
        let pid = Pid::from_raw(pid);
        match nix::unistd::getpgid(Some(pid)) {
            Ok(pgid) if pgid == pid => {}
            // Already gone (or a zombie whose group cannot be read): it was made a leader by
            // this wrapper's pre-spawn step, unless a spawn function made it; `killpg` on a
            // group that is not there only fails.
            Err(_) => {}
            Ok(_) => return Err(inner),
        }
        Ok(Self {
            inner,
            pgid: pid,
            exited: None,
        })
    }

    /// The process group id (the leader's pid).
    pub fn pgid(&self) -> u32 {
        u32::try_from(self.pgid.as_raw()).unwrap_or_default()
    }

    fn killpg(&self, signal: NixSignal) -> io::Result<()> {
        killpg(self.pgid, signal).map_err(io::Error::from)
    }
}

impl ChildWrapper for GroupChild {
    fn inner(&self) -> &dyn ChildWrapper {
        self.inner.as_ref()
    }

    fn inner_mut(&mut self) -> &mut dyn ChildWrapper {
        self.inner.as_mut()
    }

    fn into_inner(self: Box<Self>) -> Box<dyn ChildWrapper> {
        let mut this = *self;
        // Disarm the drop: the caller takes over the leader.
        this.exited = Some(ExitStatus::default());
        let placeholder: Box<dyn ChildWrapper> = Box::new(Detached::default());
        std::mem::replace(&mut this.inner, placeholder)
    }

    fn start_kill(&mut self) -> io::Result<()> {
        self.killpg(NixSignal::SIGKILL)
    }

    fn wait(&mut self) -> Pin<Box<dyn Future<Output = io::Result<ExitStatus>> + Send + '_>> {
        Box::pin(async move {
            if let Some(status) = self.exited {
                return Ok(status);
            }
            let status = self.inner.wait().await?;
            self.exited = Some(status);
            Ok(status)
        })
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.exited {
            return Ok(Some(status));
        }
        let status = self.inner.try_wait()?;
        self.exited = status;
        Ok(status)
    }

    fn signal(&self, signal: i32) -> io::Result<()> {
        let signal = NixSignal::try_from(signal).map_err(io::Error::from)?;
        self.killpg(signal)
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.killpg(NixSignal::SIGKILL);
        }
    }
}

/// What a [`GroupChild`] holds after `into_inner` gave its child away: never used, since the
/// wrapper is consumed, but a `Box<dyn ChildWrapper>` must be left in its place.
#[derive(Debug, Default)]
struct Detached {
    stdin: Option<tokio::process::ChildStdin>,
    stdout: Option<tokio::process::ChildStdout>,
    stderr: Option<tokio::process::ChildStderr>,
}

impl ChildWrapper for Detached {
    fn inner(&self) -> &dyn ChildWrapper {
        self
    }

    fn inner_mut(&mut self) -> &mut dyn ChildWrapper {
        self
    }

    fn into_inner(self: Box<Self>) -> Box<dyn ChildWrapper> {
        self
    }

    // Every method is given, as the defaults would recurse into `inner`, which is itself.
    fn stdin(&mut self) -> &mut Option<tokio::process::ChildStdin> {
        &mut self.stdin
    }

    fn stdout(&mut self) -> &mut Option<tokio::process::ChildStdout> {
        &mut self.stdout
    }

    fn stderr(&mut self) -> &mut Option<tokio::process::ChildStderr> {
        &mut self.stderr
    }

    fn id(&self) -> Option<u32> {
        None
    }

    fn start_kill(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn wait(&mut self) -> Pin<Box<dyn Future<Output = io::Result<ExitStatus>> + Send + '_>> {
        Box::pin(async { Ok(ExitStatus::default()) })
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        Ok(Some(ExitStatus::default()))
    }

    fn signal(&self, _signal: i32) -> io::Result<()> {
        Ok(())
    }
}
