//! [`Command`]: what a job runs ([`Program`], [`Shell`]) and how ([`SpawnOptions`]: group,
//! session, signal mask, parent-death signal, the stop of leftovers, the terminal
//! foreground), and how that becomes a spawnable [`process_wrap::tokio::CommandWrap`].

use std::fmt;
use std::time::Duration;

use process_wrap::tokio::{CommandWrap, KillOnDrop};

use super::Signal;
pub use super::group::{GroupChild, ProcessGroup};
use super::program::Args;
pub use super::program::Program;
pub use super::shell::Shell;

/// A command to supervise: the program and the spawn options.
///
/// `Command` is a value: two equal commands run the same way, which is what lets an owner
/// compare the command of a running job with a freshly loaded one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Command {
    /// What to run.
    pub program: Program,
    /// How to run it.
    pub options: SpawnOptions,
}

/// A stop signal and the grace period before SIGKILL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StopPolicy {
    /// The signal asking the processes to end.
    pub signal: Signal,
    /// How long they have before SIGKILL. A grace too long to add to the current time means
    /// no deadline.
    pub grace: Duration,
}

impl StopPolicy {
    /// What leftovers get when [`SpawnOptions::leftover_stop`] is not set: SIGTERM and 5
    /// seconds, procmux's default stop for a process.
    pub const DEFAULT_LEFTOVERS: Self = Self {
        signal: Signal::Terminate,
        grace: Duration::from_secs(5),
    };
}

/// How to spawn a [`Command`].
///
/// `SpawnOptions { grouped: true, ..Default::default() }` is what a process manager usually
/// wants: the job owns the whole process tree the command starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SpawnOptions {
    /// Run the command as the leader of a new process group (Unix), which the job then owns:
    /// signals, stops and kills reach the whole group, and the job ends only once everything
    /// it owns has ended (see the module docs, "How a grouped job ends").
    pub grouped: bool,
    /// Run the command in a new session (Unix `setsid`), which also makes a new group; it
    /// behaves as `grouped` and also detaches from the controlling terminal.
    pub session: bool,
    /// Unblock all signals in the child (Unix): the child otherwise inherits the signal mask
    /// of the thread that spawned it.
    pub reset_sigmask: bool,
    /// On Linux, the signal the child gets when its parent dies (`PR_SET_PDEATHSIG`), so a
    /// crashed or SIGKILLed process manager does not leave its children running.
    ///
    /// The kernel sends it when the *thread* that spawned the child exits, not the process.
    /// Jobs spawn from their tokio task, which runs on a runtime worker thread; the worker
    /// threads of a multi-thread runtime (and the only thread of a current-thread runtime)
    /// live as long as the runtime, so in practice the signal fires when the runtime or the
    /// process goes away. Avoid it if job tasks may run on short-lived threads (for example
    /// inside `spawn_blocking` or a runtime that is built and dropped repeatedly).
    ///
    /// Applies to the spawned process only, not to the processes it starts. Ignored on
    /// other platforms.
    pub parent_death_signal: Option<Signal>,
    /// How a grouped job stops the processes left when its leader ends by itself (a shell's
    /// background jobs, a launcher's children): this signal, then SIGCONT, then SIGKILL when
    /// the grace, counted from the leader's end, runs out. `None` means
    /// [`StopPolicy::DEFAULT_LEFTOVERS`]: SIGTERM and 5 seconds. Give the process's own stop
    /// signal and timeout here.
    pub leftover_stop: Option<StopPolicy>,
    /// Give the process the terminal's foreground when it needs it (Unix, grouped and not
    /// `session`).
    ///
    /// When the leader is paused by SIGTTIN or SIGTTOU (it read from, or changed, the
    /// terminal from the background), the job gives its process group the foreground of the
    /// controlling terminal, as a job-control shell would, and continues it; the foreground
    /// is taken back, and the terminal state restored, when the run ends. If the leader is
    /// deliberately suspended (SIGSTOP or SIGTSTP) while holding the foreground, the
    /// foreground is taken back at once, and given again when it is continued (SIGCONT),
    /// provided the terminal is not in another group's hands. Only granted while procmux (or
    /// the job) holds the terminal's foreground. With no controlling terminal, a no-op.
    pub grant_foreground: bool,
}

impl SpawnOptions {
    /// The stop leftovers get: [`leftover_stop`](Self::leftover_stop) or the default.
    pub fn leftovers(&self) -> StopPolicy {
        self.leftover_stop.unwrap_or(StopPolicy::DEFAULT_LEFTOVERS)
    }

    /// Whether the job's process is the leader of its own group, which the job owns.
    pub(crate) fn owns_group(&self) -> bool {
        cfg!(unix) && (self.grouped || self.session)
    }

    #[cfg(unix)]
    fn apply(&self, wrap: &mut CommandWrap) {
        if self.owns_group() {
            wrap.wrap(ProcessGroup {
                session: self.session,
            });
        }
        if self.reset_sigmask {
            wrap.wrap(process_wrap::tokio::ResetSigmask);
        }
        #[cfg(target_os = "linux")]
        if let Some(signal) = self.parent_death_signal {
            wrap.wrap(super::pdeathsig::ParentDeathSignal(signal));
        }
    }

    #[cfg(not(unix))]
    fn apply(&self, _wrap: &mut CommandWrap) {}
}

impl Command {
    /// The command as a [`CommandWrap`], ready for the spawn hook and then spawning.
    ///
    /// Each call builds a fresh one, which is why a restart sees the same command as the first
    /// start even after a spawn hook changed the previous one. A child spawned from it dies
    /// when dropped unreaped (its whole group, when grouped).
    pub fn to_spawnable(&self) -> CommandWrap {
        let (prog, args) = self.program.argv();
        let mut wrap = CommandWrap::with_new(prog, |command| match args {
            Args::Quoted(args) => {
                command.args(args);
            }
            Args::Raw(args) => {
                #[cfg(windows)]
                for arg in args {
                    command.raw_arg(arg);
                }
                #[cfg(not(windows))]
                command.args(args);
            }
        });
        wrap.wrap(KillOnDrop);
        self.options.apply(&mut wrap);
        wrap
    }
}

/// Shows the command the way a person would type it: see [`Program`]'s `Display`.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.program.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(command: &str) -> Command {
        Command {
            program: Program::Shell {
                shell: Shell::new("sh"),
                command: command.into(),
                args: Vec::new(),
            },
            options: SpawnOptions::default(),
        }
    }

    #[test]
    fn equal_commands_hash_equal() {
        use std::collections::HashSet;
        let set: HashSet<Command> = [shell("a"), shell("a"), shell("b")].into_iter().collect();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn leftovers_default_to_term_and_five_seconds() {
        let options = SpawnOptions::default();
        assert_eq!(options.leftovers(), StopPolicy::DEFAULT_LEFTOVERS);
        let own = StopPolicy {
            signal: Signal::Interrupt,
            grace: Duration::from_millis(1),
        };
        let options = SpawnOptions {
            leftover_stop: Some(own),
            ..options
        };
        assert_eq!(options.leftovers(), own);
    }
}
