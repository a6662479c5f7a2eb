//! One command in the foreground of procmux's terminal, the way a shell runs it: `procmux
//! exec`.
//!
//! The command gets its own process group; when procmux owns the terminal's foreground, the
//! command is made the foreground group (before it execs, so it never reads the terminal as a
//! background job), so Ctrl-C, Ctrl-\ and Ctrl-Z from the terminal reach the command alone,
//! exactly once. Signals sent to procmux itself (SIGINT, SIGTERM, SIGHUP, SIGQUIT, from a
//! script or an IDE) are forwarded to the command. When the command stops (Ctrl-Z), procmux
//! takes the terminal back and stops itself, so the shell sees the job stopped; `fg`
//! continues procmux, which hands the terminal back and continues the command. At the end,
//! procmux takes the terminal back and gives the command's exit code, 128 + N for a command
//! that died of signal N, as a shell does.
//!
//! The forwarded signals (and SIGTTOU, so that procmux may take the terminal back from the
//! background) are blocked in procmux and read by one thread with `sigwait`; the command
//! starts with an empty signal mask.

use std::io::{self, IsTerminal};
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::sys::signal::{self, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpgrp, tcgetpgrp, tcsetpgrp};

/// The signals procmux forwards to the command.
const FORWARDED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// Runs `command` in the foreground and returns its exit code (128 + N for signal N).
///
/// Fails only when the command cannot be spawned; the error is the spawn's.
pub fn run(mut command: Command) -> io::Result<i32> {
    let mut blocked = SigSet::empty();
    for signal in FORWARDED {
        blocked.add(signal);
    }
    blocked.add(Signal::SIGTTOU);
    signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&blocked), None)
        .map_err(io::Error::from)?;

    let stdin = io::stdin();
    let owns_terminal =
        stdin.is_terminal() && tcgetpgrp(&stdin).is_ok_and(|foreground| foreground == getpgrp());
    command.process_group(0);
    hand_over_on_exec(&mut command, owns_terminal);
    let child = command.spawn()?;
    let pid =
        Pid::from_raw(i32::try_from(child.id()).map_err(|_| io::Error::other("pid too large"))?);
    if owns_terminal {
        // Also here, so whichever of the two runs first wins the race to exec.
        let _ = tcsetpgrp(&stdin, pid);
    }
    // Signals sent to procmux go to the command; the thread lives until procmux exits.
    let mut forwarded = SigSet::empty();
    for signal in FORWARDED {
        forwarded.add(signal);
    }
    std::thread::Builder::new()
        .name("procmux-forward".into())
        .spawn(move || {
            while let Ok(signal) = forwarded.wait() {
                let _ = signal::kill(pid, signal);
            }
        })?;

    let code = loop {
        match waitpid(pid, Some(WaitPidFlag::WUNTRACED)) {
            Ok(WaitStatus::Exited(_, code)) => break code,
            Ok(WaitStatus::Signaled(_, signal, _)) => break 128 + signal as i32,
            Ok(WaitStatus::Stopped(_, _)) => {
                // Ctrl-Z: the shell must see the job stopped, which is procmux.
                if owns_terminal {
                    let _ = tcsetpgrp(&stdin, getpgrp());
                }
                let _ = signal::raise(Signal::SIGSTOP);
                // Continued (`fg`): give the terminal back and continue the command.
                if owns_terminal {
                    let _ = tcsetpgrp(&stdin, pid);
                }
                let _ = signal::killpg(pid, Signal::SIGCONT);
            }
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(error) => return Err(io::Error::from(error)),
        }
    };
    drop(child);
    if owns_terminal {
        // SIGTTOU is blocked, so a background procmux may take the terminal back.
        let _ = tcsetpgrp(&stdin, getpgrp());
    }
    Ok(code)
}

/// Makes the child its own group's leader, the terminal's foreground (when procmux owns it),
/// and gives it an empty signal mask, between fork and exec.
fn hand_over_on_exec(command: &mut Command, owns_terminal: bool) {
    #[allow(unsafe_code)]
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
    // calls are allowed: setpgid(2), getpid(2), tcsetpgrp(3) (an ioctl) and sigprocmask(2), all
    // plain system calls through nix, with no allocation and no lock (fd 0 is borrowed raw,
    // not through `std::io::stdin()`, which may allocate). Nothing is captured but a bool;
    // fd 0 is open for the whole closure, being the child's stdin.
    unsafe {
        command.pre_exec(move || {
            let me = nix::unistd::getpid();
            let _ = nix::unistd::setpgid(me, me);
            if owns_terminal {
                // SIGTTOU is blocked (inherited), so a background group may take it.
                let _ = tcsetpgrp(std::os::fd::BorrowedFd::borrow_raw(0), me);
            }
            signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
            Ok(())
        });
    }
}
