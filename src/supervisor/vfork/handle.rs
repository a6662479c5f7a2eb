//! [`PidfdChild`]: the handle of a child made by a vfork-style spawn, waited for and signalled
//! through its pidfd, which names that one process even after its pid is reused.

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::pin::Pin;
use std::process::ExitStatus;

use nix::libc;
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use process_wrap::tokio::ChildWrapper;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::process::{ChildStderr, ChildStdin, ChildStdout};

/// A child process, its pidfd and its piped stdout and stderr.
///
/// Like a `tokio::process::Child` with `kill_on_drop`: dropped before it was reaped, it is
/// SIGKILLed and reaped in the background.
#[derive(Debug)]
pub(crate) struct PidfdChild {
    pid: u32,
    /// Readable once the process has ended.
    pidfd: AsyncFd<OwnedFd>,
    status: Option<ExitStatus>,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
}

impl PidfdChild {
    /// Takes over a child and its pipes. Registers the descriptors with the current runtime,
    /// which the caller checked there is (tokio panics without one).
    pub(super) fn new(
        pid: u32,
        pidfd: OwnedFd,
        stdout: OwnedFd,
        stderr: OwnedFd,
    ) -> io::Result<Self> {
        #[allow(unsafe_code)]
        // SAFETY: the `OwnedFd` is moved in and owned by the `AsyncFd` for its whole life, and
        // always gives the same descriptor.
        let pidfd = unsafe { AsyncFd::register_with_interest(pidfd, Interest::READABLE) }
            .map_err(io::Error::from)?;
        Ok(Self {
            pid,
            pidfd,
            status: None,
            stdin: None,
            stdout: Some(ChildStdout::from_std(stdout.into())?),
            stderr: Some(ChildStderr::from_std(stderr.into())?),
        })
    }

    fn signal_raw(&self, signal: i32) -> io::Result<()> {
        send_signal(self.pidfd.get_ref(), signal)
    }
}

/// `pidfd_send_signal(2)`.
fn send_signal(pidfd: &OwnedFd, signal: i32) -> io::Result<()> {
    #[allow(unsafe_code)]
    // SAFETY: a system call on an open pidfd, with no siginfo (null) and no flags.
    let sent = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if sent == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reaps the process if it has ended: `waitid(P_PIDFD, WEXITED | WNOHANG)`.
fn reap_now(pidfd: &OwnedFd) -> io::Result<Option<ExitStatus>> {
    let status = waitid(
        Id::PIDFd(pidfd.as_fd()),
        WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG,
    )
    .map_err(io::Error::from)?;
    Ok(match status {
        WaitStatus::Exited(_, code) => Some(ExitStatus::from_raw((code & 0xff) << 8)),
        WaitStatus::Signaled(_, signal, core_dumped) => Some(ExitStatus::from_raw(
            signal as i32 | if core_dumped { 0x80 } else { 0 },
        )),
        _ => None,
    })
}

impl ChildWrapper for PidfdChild {
    fn inner(&self) -> &dyn ChildWrapper {
        self
    }

    fn inner_mut(&mut self) -> &mut dyn ChildWrapper {
        self
    }

    fn into_inner(self: Box<Self>) -> Box<dyn ChildWrapper> {
        self
    }

    fn stdin(&mut self) -> &mut Option<ChildStdin> {
        &mut self.stdin
    }

    fn stdout(&mut self) -> &mut Option<ChildStdout> {
        &mut self.stdout
    }

    fn stderr(&mut self) -> &mut Option<ChildStderr> {
        &mut self.stderr
    }

    /// The pid until the process is reaped, as tokio's child gives it.
    fn id(&self) -> Option<u32> {
        self.status.is_none().then_some(self.pid)
    }

    fn start_kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid argument: can't kill an exited process",
            ));
        }
        self.signal_raw(libc::SIGKILL)
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = reap_now(self.pidfd.get_ref())?;
        }
        Ok(self.status)
    }

    fn wait(&mut self) -> Pin<Box<dyn Future<Output = io::Result<ExitStatus>> + Send + '_>> {
        Box::pin(async move {
            loop {
                if let Some(status) = self.status {
                    return Ok(status);
                }
                let mut ready = self.pidfd.readable().await?;
                match reap_now(ready.get_inner())? {
                    Some(status) => self.status = Some(status),
                    None => ready.clear_ready(),
                }
            }
        })
    }

    fn signal(&self, signal: i32) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        self.signal_raw(signal)
    }
}

impl Drop for PidfdChild {
    fn drop(&mut self) {
        if self.status.is_some() || matches!(reap_now(self.pidfd.get_ref()), Ok(Some(_))) {
            return;
        }
        let _ = self.signal_raw(libc::SIGKILL);
        // Reaped once it has died, by pidfd: not by pid, which another reaper may already
        // have freed for reuse.
        let pidfd = match self.pidfd.get_ref().try_clone() {
            Ok(pidfd) => pidfd,
            Err(_) => return,
        };
        let reap = move || {
            let _ = waitid(Id::PIDFd(pidfd.as_fd()), WaitPidFlag::WEXITED);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(reap)),
            Err(_) => drop(std::thread::Builder::new().spawn(reap)),
        }
    }
}
