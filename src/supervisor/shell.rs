//! [`Shell`]: the shell that runs command lines, with the same fields as
//! `watchexec-supervisor`'s, and the `exec` rule's test of whether it follows POSIX `sh`
//! syntax.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::path::PathBuf;

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
    pub prog: PathBuf,
    /// Options given before the program option, e.g. `-e`.
    pub options: Vec<String>,
    /// The option that makes the next argument the command line (`-c`), if the shell needs one.
    pub program_option: Option<Cow<'static, OsStr>>,
    /// Whether the command line and arguments are passed as quoted arguments (`true`, always
    /// the case on Unix, where each is its own `argv` entry) or raw (`false`, Windows only:
    /// `cmd.exe` and PowerShell parse their command line themselves).
    pub quote: bool,
}

impl Shell {
    /// A Unix-style shell that takes its command line with `-c`: `Shell::new("sh")` runs
    /// `sh -c 'command line'`. Quoting is the platform's default (on everywhere but Windows).
    pub fn new(name: impl Into<PathBuf>) -> Self {
        Self::with_quoting(name, !cfg!(windows))
    }

    /// Like [`new`](Self::new), with quoting chosen (it only matters on Windows).
    pub fn with_quoting(name: impl Into<PathBuf>, quote: bool) -> Self {
        Self {
            prog: name.into(),
            options: Vec::new(),
            program_option: Some(Cow::Borrowed(OsStr::new("-c"))),
            quote,
        }
    }

    /// Windows' `cmd.exe`, which takes its command line with `/C`, with the platform's
    /// default quoting (off on Windows).
    pub fn cmd() -> Self {
        Self {
            program_option: Some(Cow::Borrowed(OsStr::new("/C"))),
            ..Self::new("cmd.exe")
        }
    }

    /// Whether this shell follows POSIX `sh` syntax, so the `exec` rule applies.
    pub(crate) fn is_posix(&self) -> bool {
        let name = self
            .prog
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        matches!(
            name,
            "sh" | "bash" | "dash" | "zsh" | "ksh" | "mksh" | "ash" | "yash" | "busybox"
        )
    }
}
