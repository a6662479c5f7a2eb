//! The watchdog process itself: `procmux __watchdog`, started by procmux with a pipe as its
//! stdin. It reads [`Message`]s into a [`Tracked`] set until `bye` (exit, kill nothing) or
//! the end of the pipe without one (procmux was SIGKILLed or crashed: SIGKILL every tracked
//! group and cgroup, remove the cgroups, exit).
//!
//! It runs before anything else in `main` and uses std and nix only: no runtime, no thread,
//! no argument parsing, so that it stays at the cost of a blocked `read(2)`. The stop
//! signals are blocked rather than ignored: for a process that never unblocks them it is the
//! same (they stay pending, never delivered), and nix offers it without `unsafe`.

use std::io::{self, BufRead, Read};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal, killpg};
use nix::unistd::{Pid, getpgrp, getppid};

use super::cgroup::{self, KillMethod};
use super::protocol::{MAX_LINE, Message};
use super::tracked::Tracked;

/// The hidden first argument that makes the procmux binary a watchdog.
pub const ARG: &str = "__watchdog";

/// The watchdog's command name (`/proc/PID/comm`, what `ps` and `top` show), instead of the
/// `exe` of `/proc/self/exe`.
const NAME: &std::ffi::CStr = c"procmux-wdog";

/// The signals a terminal or a careless `kill` may send that must not end the watchdog:
/// Ctrl-C, `kill`, a closed terminal, Ctrl-Z, Ctrl-\, and the two a background process gets
/// for touching its terminal (it writes one line to stderr after a crash).
const BLOCKED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGTSTP,
    Signal::SIGQUIT,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
];

/// How long the cleanup may spend on cgroups whose processes take time to go.
const CGROUP_DEADLINE: Duration = Duration::from_secs(5);

/// How the messages ended.
#[derive(Debug)]
pub enum End {
    /// `bye`: procmux exits cleanly.
    Bye,
    /// The pipe closed without `bye`: procmux is gone.
    Closed,
    /// Reading failed: procmux cannot be heard any more, but may be alive.
    Failed(io::Error),
}

/// Runs the watchdog on stdin until procmux says goodbye or goes away.
pub fn serve() -> ExitCode {
    let mut blocked = SigSet::empty();
    for signal in BLOCKED {
        blocked.add(signal);
    }
    // Cannot fail for valid signals; if it did, running unprotected still beats not running.
    let _ = blocked.thread_block();
    let _ = nix::sys::prctl::set_name(NAME);
    // Read now: once procmux is dead, the parent is init or a subreaper.
    let procmux = getppid();

    let mut tracked = Tracked::default();
    match read_messages(&mut io::stdin().lock(), &mut tracked) {
        End::Bye => ExitCode::SUCCESS,
        End::Closed => {
            let sweep = sweep(&tracked);
            report(procmux, &sweep);
            ExitCode::SUCCESS
        }
        // Killing now could kill the processes of a procmux that is alive and well; exiting
        // lets it notice, start another watchdog and tell it everything again.
        End::Failed(error) => {
            eprintln!("procmux watchdog: cannot read from procmux ({error}); exiting");
            ExitCode::FAILURE
        }
    }
}

/// Applies every message from `input` to `tracked` until `bye` or the end of the input.
///
/// Lines that do not parse are skipped: they cannot come from the procmux that started this
/// watchdog (the same binary), and one bad line must not cost the others. A line longer than
/// [`MAX_LINE`] is skipped whole; a last line without its newline was cut short and is ignored.
pub fn read_messages(input: &mut impl BufRead, tracked: &mut Tracked) -> End {
    let mut line = Vec::with_capacity(64);
    let mut skipping = false;
    loop {
        line.clear();
        match input
            .by_ref()
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
        {
            Ok(0) => return End::Closed,
            Ok(_) => {}
            Err(error) => return End::Failed(error),
        }
        if line.last() != Some(&b'\n') {
            if line.len() < MAX_LINE {
                // The input ended in the middle of a line.
                return End::Closed;
            }
            skipping = true;
            continue;
        }
        if std::mem::take(&mut skipping) {
            // The tail of an overlong line.
            continue;
        }
        line.pop();
        match Message::parse(&line) {
            Ok(Message::Bye) => return End::Bye,
            Ok(message) => tracked.apply(&message),
            Err(_) => {}
        }
    }
}

/// What the cleanup did.
#[derive(Debug, Default)]
pub struct Sweep {
    /// Process groups that still existed and were sent SIGKILL.
    pub groups: usize,
    /// Cgroups killed (or found gone already).
    pub cgroups: usize,
    /// What went wrong, one line each.
    pub failures: Vec<String>,
}

/// SIGKILLs every tracked group, kills every tracked cgroup, then removes the cgroups.
pub fn sweep(tracked: &Tracked) -> Sweep {
    let mut sweep = Sweep::default();
    let own = getpgrp();
    // Groups first: one system call each, and most of what there is to kill.
    for pgid in tracked.groups() {
        let pgid = Pid::from_raw(pgid.get());
        if pgid == own {
            continue;
        }
        match killpg(pgid, Signal::SIGKILL) {
            Ok(()) => sweep.groups += 1,
            // Ended already (procmux had not said `forget` yet).
            Err(Errno::ESRCH) => {}
            Err(error) => sweep
                .failures
                .push(format!("process group {pgid}: {error}")),
        }
    }
    let deadline = Instant::now() + CGROUP_DEADLINE;
    for path in tracked.cgroups() {
        match cgroup::kill(path.as_path(), KillMethod::Best, deadline) {
            Ok(()) => sweep.cgroups += 1,
            Err(error) => sweep.failures.push(error.to_string()),
        }
    }
    // Descendants sort after their parents: in reverse, each child goes before its parent.
    for path in tracked.cgroups().collect::<Vec<_>>().into_iter().rev() {
        if let Err(error) = cgroup::remove(path.as_path(), deadline) {
            sweep.failures.push(error.to_string());
        }
    }
    sweep
}

/// One line on stderr (procmux's, inherited) when there was something to clean up, so that a
/// crash does not end in silence.
fn report(procmux: Pid, sweep: &Sweep) {
    if sweep.groups > 0 || sweep.cgroups > 0 {
        eprintln!(
            "procmux watchdog: procmux (pid {procmux}) ended without saying goodbye: sent \
             SIGKILL to {} and {}",
            plural(sweep.groups, "process group"),
            plural(sweep.cgroups, "cgroup"),
        );
    }
    for failure in &sweep.failures {
        eprintln!("procmux watchdog: could not clean up {failure}");
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::watchdog::protocol::Pgid;

    fn read(input: &[u8]) -> (End, Tracked) {
        let mut tracked = Tracked::default();
        let end = read_messages(&mut Cursor::new(input.to_vec()), &mut tracked);
        (end, tracked)
    }

    fn groups(tracked: &Tracked) -> Vec<i32> {
        tracked.groups().map(Pgid::get).collect()
    }

    #[test]
    fn the_end_of_the_input_without_bye_is_a_crash() {
        let (end, tracked) = read(b"group 10\ngroup 11\nforget 10\n");
        assert!(matches!(end, End::Closed), "{end:?}");
        assert_eq!(groups(&tracked), [11]);
    }

    #[test]
    fn bye_ends_at_once_whatever_follows() {
        let (end, tracked) = read(b"group 10\nbye\ngroup 11\n");
        assert!(matches!(end, End::Bye), "{end:?}");
        assert_eq!(groups(&tracked), [10]);
    }

    #[test]
    fn bad_and_overlong_lines_are_skipped_and_a_cut_line_ignored() {
        let mut input = b"group 10\nnonsense\ngroup 1\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE * 2 + 5));
        input.extend(b"\ngroup 12\ngroup 1");
        let (end, tracked) = read(&input);
        assert!(matches!(end, End::Closed), "{end:?}");
        assert_eq!(groups(&tracked), [10, 12]);
        // "bye" cut short is no goodbye.
        let (end, _) = read(b"group 10\nby");
        assert!(matches!(end, End::Closed), "{end:?}");
    }

    #[test]
    fn a_sweep_of_groups_that_ended_kills_nothing_and_says_nothing() {
        // A pid far beyond any pid_max: no such group.
        let mut tracked = Tracked::default();
        tracked.apply(&Message::Group(Pgid::new(2_000_000_000).expect("valid")));
        let sweep = sweep(&tracked);
        assert_eq!((sweep.groups, sweep.cgroups), (0, 0));
        assert!(sweep.failures.is_empty(), "{:?}", sweep.failures);
    }
}
