//! [`Program`]: what a command runs (a program with arguments, or a shell command line), the
//! `argv` that becomes, and how it reads back to a person.

use std::borrow::Cow;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use super::shell::Shell;
use super::shell_rule::exec_form;

/// The program a [`Command`](super::command::Command) runs.
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

/// How the arguments after the program are passed.
pub(crate) enum Args {
    /// One `argv` entry each.
    Quoted(Vec<OsString>),
    /// Appended to the command line as they are (Windows shells that parse it themselves).
    #[cfg_attr(not(windows), allow(dead_code, reason = "built on Windows only"))]
    Raw(Vec<OsString>),
}

impl Program {
    /// The program and its arguments as written, without the `exec` rule (`sh -c 'a && b'`):
    /// what a person would run by hand. Lossy where a path is not UTF-8.
    pub fn words(&self) -> Vec<String> {
        match self {
            Self::Exec { prog, args } => std::iter::once(prog.to_string_lossy().into_owned())
                .chain(args.iter().cloned())
                .collect(),
            Self::Shell {
                shell,
                command,
                args,
            } => std::iter::once(shell.prog.to_string_lossy().into_owned())
                .chain(shell.options.iter().cloned())
                .chain(
                    shell
                        .program_option
                        .as_deref()
                        .map(|o| o.to_string_lossy().into_owned()),
                )
                .chain(std::iter::once(command.clone()))
                .chain(args.iter().cloned())
                .collect(),
        }
    }

    /// The program and its arguments, with the `exec` rule applied to simple shell commands.
    pub(crate) fn argv(&self) -> (OsString, Args) {
        match self {
            Self::Exec { prog, args } => (
                prog.clone().into_os_string(),
                Args::Quoted(args.iter().map(OsString::from).collect()),
            ),
            Self::Shell {
                shell,
                command,
                args,
            } => {
                let line: Cow<'_, str> = if cfg!(unix) && shell.is_posix() {
                    exec_form(command)
                } else {
                    Cow::Borrowed(command)
                };
                let mut argv: Vec<OsString> = shell.options.iter().map(OsString::from).collect();
                argv.extend(shell.program_option.as_deref().map(OsString::from));
                argv.push(line.into_owned().into());
                argv.extend(args.iter().map(OsString::from));
                let args = if cfg!(windows) && !shell.quote {
                    Args::Raw(argv)
                } else {
                    Args::Quoted(argv)
                };
                (shell.prog.clone().into_os_string(), args)
            }
        }
    }
}

/// Shows the program the way a person would type it: `prog arg 'an arg'`, or the shell
/// command line as written (without the `exec` the rule may add), followed by its arguments.
impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (first, args): (Cow<'_, str>, &[String]) = match self {
            Self::Exec { prog, args } => (prog.to_string_lossy(), args),
            Self::Shell { command, args, .. } => (Cow::Borrowed(command), args),
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

    fn shell(command: &str) -> Program {
        Program::Shell {
            shell: Shell::new("sh"),
            command: command.into(),
            args: Vec::new(),
        }
    }

    fn quoted(program: &Program) -> Vec<OsString> {
        match program.argv().1 {
            Args::Quoted(args) | Args::Raw(args) => args,
        }
    }

    #[test]
    fn displays_exec_and_shell_programs() {
        let exec = Program::Exec {
            prog: "/bin/echo".into(),
            args: vec!["hello".into(), "two words".into(), "it's".into()],
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
        assert_eq!(quoted(&shell("sleep 10")), ["-c", "exec sleep 10"]);
        assert_eq!(quoted(&shell("sleep 10; true")), ["-c", "sleep 10; true"]);
        let fish = Program::Shell {
            shell: Shell {
                options: vec!["-l".into()],
                ..Shell::new("/bin/fish")
            },
            command: "sleep 10".into(),
            args: vec!["zero".into()],
        };
        assert_eq!(quoted(&fish), ["-l", "-c", "sleep 10", "zero"]);
    }
}
