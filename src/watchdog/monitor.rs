//! The monitor thread: waits for the watchdog process to exit, and unless procmux said
//! goodbye, reports it and starts another that is told everything tracked.
//!
//! It blocks in `waitid(WNOWAIT)`, which costs nothing while the watchdog lives and does not
//! reap: the pid stays the watchdog's (a zombie at worst) until this thread has taken the
//! lock and moved the state off [`State::Up`], so a handle that kills a stalled watchdog
//! under the lock can never hit a reused pid. Only this pid is waited for, never `-1`, so
//! tokio's children are left to tokio.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::Child;
use std::sync::Arc;
use std::time::Instant;

use nix::errno::Errno;
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::Pid;

use super::handle::{Shared, State, kill, write_message};
use super::notice::{Death, NoReplacement, Notice};
use super::protocol::Message;
use super::restarts::Restarts;
use super::spawn;

/// A small stack: the thread only waits, locks, and starts a process.
const STACK_SIZE: usize = 64 * 1024;

/// Starts the monitor thread for `child`. If that fails, the child has been dropped
/// without being reaped: the caller kills and reaps it by pid.
pub(super) fn spawn(shared: Arc<Shared>, child: Child) -> io::Result<()> {
    std::thread::Builder::new()
        .name("procmux-watchdog".into())
        .stack_size(STACK_SIZE)
        .spawn(move || run(&shared, child))
        .map(drop)
}

/// Watches one watchdog after the other until procmux says goodbye or none can be started.
fn run(shared: &Shared, mut child: Child) {
    let mut restarts = Restarts::default();
    loop {
        let old = child.id();
        wait_for_exit(old);
        let mut link = shared.lock();
        let status = child.wait();
        let stalled = matches!(link.state, State::Up { stalled: true, .. });
        link.state = State::Restarting;
        if link.bye {
            link.state = State::Off;
            shared.changed.notify_all();
            return;
        }
        drop(link);
        let cause = match status {
            _ if stalled => Death::Stalled,
            Ok(status) => match (status.code(), status.signal()) {
                (Some(code), _) => Death::Exited(code),
                (None, Some(signal)) => Death::Signal(signal),
                (None, None) => Death::Exited(-1),
            },
            // Reaped by someone else (a `waitpid(-1)` elsewhere in the process).
            Err(_) => Death::Exited(-1),
        };
        let lost = |why| {
            shared.lock().state = State::Off;
            shared.changed.notify_all();
            shared.report(Notice::Lost {
                old,
                cause: cause.clone(),
                why,
            });
        };
        if let Err(deaths) = restarts.allow(Instant::now()) {
            return lost(NoReplacement::TooOften(deaths));
        }
        let spawn::Started {
            child: new,
            mut pipe,
        } = match spawn::start(&shared.program) {
            Ok(started) => started,
            Err(error) => return lost(NoReplacement::Unstartable(error.to_string())),
        };
        let pid = new.id();
        let mut link = shared.lock();
        if link.bye {
            // procmux said goodbye while this one was starting: it gets the `bye` too.
            if write_message(&mut pipe, &Message::Bye).is_err() {
                kill(pid);
            }
            link.state = State::Closing;
            drop(link);
        } else {
            // Under the lock, so no message sent meanwhile is missed or told twice out of
            // order: everything tracked up to now, then whatever comes next.
            let replayed = link
                .tracked
                .messages()
                .try_for_each(|message| write_message(&mut pipe, &message));
            let stalled = replayed.is_err();
            if stalled {
                kill(pid);
            }
            link.state = State::Up { pid, pipe, stalled };
            drop(link);
            shared.report(Notice::Replaced {
                old,
                cause,
                new: pid,
            });
        }
        child = new;
    }
}

/// Blocks until the process `pid` has exited, without reaping it.
fn wait_for_exit(pid: u32) {
    let Ok(raw) = i32::try_from(pid) else {
        return;
    };
    loop {
        match waitid(
            Id::Pid(Pid::from_raw(raw)),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
        ) {
            Err(Errno::EINTR) => continue,
            // Exited, or no longer ours to wait for (ECHILD): either way, it is gone.
            _ => return,
        }
    }
}
