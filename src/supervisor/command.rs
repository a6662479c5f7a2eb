//! [`Command`]: what a job runs (a program or a shell command line) and how (group, session,
//! signal mask, parent-death signal), and how that becomes a spawnable
//! [`process_wrap::tokio::CommandWrap`].

use std::borrow::Cow;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use process_wrap::tokio::CommandWrap;

use super::Signal;
use super::shell_rule::exec_form;

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

/// The program a [`Command`] runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Program {
    /// Run a program directly, with arguments, without a shell.
    Exec {
        /// The program: a path, or a name looked up in `PATH`.
        prog: PathBuf,
        /// Its arguments.
        args: Vec<String>,
    },
    /// Run a command line through a shell (`sh -c 'command line'`).
    ///
    /// On Unix, when the shell is a POSIX shell and the command line is one simple command, it
    /// runs as `exec command line`, so that the program replaces the shell and receives
    /// signals itself. See [`Shell`] for the exact rule.
    Shell {
        /// The shell to run the command line with.
        shell: Shell,
        /// The command line.
        command: String,
        /// Arguments after the command line: `$0`, `$1`, ... for a POSIX shell.
        args: Vec<String>,
    },
}

/// A shell that runs command lines: its program, options, and the option that introduces the
/// command line (`-c`).
///
/// # The `exec` rule
///
/// On Unix, for a POSIX shell (`sh`, `bash`, `dash`, `zsh`, `ksh`, `mksh`, `ash`, `yash`,
/// `busybox`, by file name) a command line is prefixed with `exec ` when it is one simple
/// command:
/// - it contains no `;`, `|`, newline or carriage return, and no `&` other than in a
///   redirection such as `2>&1`;
/// - its first word is not a variable assignment (`FOO=1 cmd`), not a reserved word
///   (`if`, `for`, `{`, `!`, ...), does not start with `(`, and is not a builtin that has no
///   program of that name (`.`, `cd`, `ulimit`, `export`, `exec`, ...).
///
/// Anything else runs unchanged, with the shell as the parent of whatever it starts; use a
/// grouped command so that signals reach those processes too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shell {
    /// The shell program, e.g. `sh` or `/bin/bash`.
    pub prog: OsString,
    /// Options given before the program option, e.g. `-e`.
    pub options: Vec<OsString>,
    /// The option that makes the next argument the command line (`-c`), if the shell needs one.
    pub program_option: Option<OsString>,
}

impl Shell {
    /// A Unix-style shell that takes its command line with `-c`: `Shell::new("sh")` runs
    /// `sh -c 'command line'`.
    pub fn new(name: impl Into<OsString>) -> Self {
        Self {
            prog: name.into(),
            options: Vec::new(),
            program_option: Some("-c".into()),
        }
    }

    /// Windows' `cmd.exe`, which takes its command line with `/C`.
    pub fn cmd() -> Self {
        Self {
            prog: "cmd.exe".into(),
            options: Vec::new(),
            program_option: Some("/C".into()),
        }
    }

    /// Whether this shell follows POSIX `sh` syntax, so the `exec` rule applies.
    fn is_posix(&self) -> bool {
        let name = std::path::Path::new(&self.prog)
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        matches!(
            name,
            "sh" | "bash" | "dash" | "zsh" | "ksh" | "mksh" | "ash" | "yash" | "busybox"
        )
    }
}

/// How to spawn a [`Command`].
///
/// `SpawnOptions { grouped: true, ..Default::default() }` is what a process manager usually
/// wants: the job's signals and kills reach the whole process tree the command starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SpawnOptions {
    /// Run the command as the leader of a new process group (Unix). Signals, stops and kills
    /// then go to the whole group, and when the leader ends, the rest of the group is killed.
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
}

impl Command {
    /// The command as a [`CommandWrap`], ready for the spawn hook and then spawning.
    ///
    /// Each call builds a fresh one, which is why a restart sees the same command as the first
    /// start even after a spawn hook changed the previous one.
    pub fn to_spawnable(&self) -> CommandWrap {
        let (prog, args) = self.argv();
        let mut wrap = CommandWrap::with_new(prog, |command| {
            command.args(args);
        });
        self.options.apply(&mut wrap);
        wrap
    }

    /// The program and its arguments, with the `exec` rule applied to simple shell commands.
    fn argv(&self) -> (OsString, Vec<OsString>) {
        match &self.program {
            Program::Exec { prog, args } => (
                prog.clone().into_os_string(),
                args.iter().map(OsString::from).collect(),
            ),
            Program::Shell {
                shell,
                command,
                args,
            } => {
                let line: Cow<'_, str> = if cfg!(unix) && shell.is_posix() {
                    exec_form(command)
                } else {
                    Cow::Borrowed(command)
                };
                let mut argv = shell.options.clone();
                argv.extend(shell.program_option.clone());
                argv.push(line.into_owned().into());
                argv.extend(args.iter().map(OsString::from));
                (shell.prog.clone(), argv)
            }
        }
    }
}

impl SpawnOptions {
    #[cfg(unix)]
    fn apply(&self, wrap: &mut CommandWrap) {
        use process_wrap::tokio::{ProcessGroup, ProcessSession, ResetSigmask};
        // A session is also a group, and process-wrap warns against stacking both wrappers.
        if self.session {
            wrap.wrap(ProcessSession);
        } else if self.grouped {
            wrap.wrap(ProcessGroup::leader());
        }
        if self.reset_sigmask {
            wrap.wrap(ResetSigmask);
        }
        #[cfg(target_os = "linux")]
        if let Some(signal) = self.parent_death_signal {
            wrap.wrap(super::pdeathsig::ParentDeathSignal(signal));
        }
    }

    #[cfg(not(unix))]
    fn apply(&self, _wrap: &mut CommandWrap) {}

    /// Whether the job's process is the leader of its own group, so that group-wide signals
    /// and kills apply.
    pub(crate) fn owns_group(&self) -> bool {
        cfg!(unix) && (self.grouped || self.session)
    }
}

/// Shows the command the way a person would type it: `prog arg 'an arg'`, or the shell command
/// line as written (without the `exec` the rule may add).
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (first, args): (Cow<'_, str>, &[String]) = match &self.program {
            Program::Exec { prog, args } => (prog.to_string_lossy(), args),
            Program::Shell { command, args, .. } => (Cow::Borrowed(command), args),
        };
        f.write_str(&first)?;
        for arg in args {
            write!(f, " {}", quote(arg))?;
        }
        Ok(())
    }
}

/// Single-quotes an argument for display when it would not read back as one word.
fn quote(arg: &str) -> Cow<'_, str> {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        Cow::Borrowed(arg)
    } else {
        Cow::Owned(format!("'{}'", arg.replace('\'', r"'\''")))
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
    fn displays_exec_and_shell_commands() {
        let exec = Command {
            program: Program::Exec {
                prog: "/bin/echo".into(),
                args: vec!["hello".into(), "two words".into(), "it's".into()],
            },
            options: SpawnOptions::default(),
        };
        assert_eq!(exec.to_string(), r"/bin/echo hello 'two words' 'it'\''s'");
        assert_eq!(
            shell("sleep 10 && echo done").to_string(),
            "sleep 10 && echo done"
        );
    }

    #[cfg(unix)]
    #[test]
    fn shell_commands_get_exec_only_when_simple() {
        let argv = |command: &str| shell(command).argv().1;
        assert_eq!(argv("sleep 10"), ["-c", "exec sleep 10"]);
        assert_eq!(argv("sleep 10; true"), ["-c", "sleep 10; true"]);
        let mut custom = Shell::new("/bin/fish");
        custom.options.push("-l".into());
        let fish = Command {
            program: Program::Shell {
                shell: custom,
                command: "sleep 10".into(),
                args: vec!["zero".into()],
            },
            options: SpawnOptions::default(),
        };
        assert_eq!(fish.argv().1, ["-l", "-c", "sleep 10", "zero"]);
    }

    #[test]
    fn equal_commands_hash_equal() {
        use std::collections::HashSet;
        let set: HashSet<Command> = [shell("a"), shell("a"), shell("b")].into_iter().collect();
        assert_eq!(set.len(), 2);
    }
}
