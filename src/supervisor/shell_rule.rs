//! The `exec` rule: which shell command lines are one simple command, so that running them as
//! `exec command line` makes the program replace the shell (and receive signals itself).
//!
//! The rule errs on the side of leaving a command line alone: a missed `exec` only costs an
//! extra shell process, a wrong one breaks the command.

use std::borrow::Cow;

/// Reserved words, and builtins that either have no program of the same name or mean
/// something different as a program (`exec cd` would fail or do nothing useful).
pub(crate) const NOT_A_PROGRAM: &[&str] = &[
    // Reserved words.
    "!", "{", "}", "[[", "]]", "case", "do", "done", "elif", "else", "esac", "fi", "for",
    "function", "if", "in", "select", "then", "time", "until", "while", "coproc",
    // Special and regular builtins that only make sense inside the shell.
    ".", ":", "alias", "bg", "break", "builtin", "cd", "command", "continue", "declare", "eval",
    "exec", "exit", "export", "fg", "getopts", "hash", "jobs", "let", "local", "readonly",
    "return", "set", "shift", "source", "trap", "typeset", "ulimit", "umask", "unalias", "unset",
    "wait",
];

/// The command line to give the shell: `exec ` + the line when it is one simple command, the
/// line unchanged otherwise.
pub(crate) fn exec_form(line: &str) -> Cow<'_, str> {
    if is_simple(line) {
        Cow::Owned(format!("exec {}", line.trim_start()))
    } else {
        Cow::Borrowed(line)
    }
}

fn is_simple(line: &str) -> bool {
    if line.contains([';', '|', '\n', '\r']) || has_control_ampersand(line) {
        return false;
    }
    let Some(first) = line.split_whitespace().next() else {
        return false;
    };
    let assignment = first
        .split_once('=')
        .is_some_and(|(name, _)| !name.is_empty() && is_name(name));
    !(assignment
        || first.starts_with('(')
        || first.starts_with('#')
        || NOT_A_PROGRAM.contains(&first))
}

/// An `&` that is not part of a `>&` or `<&` redirection: `&`, `&&` and bash's `&>` all make
/// the line more than one simple command under POSIX `sh`.
fn has_control_ampersand(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'&' && !(i > 0 && matches!(bytes[i - 1], b'>' | b'<')))
}

fn is_name(word: &str) -> bool {
    let mut bytes = word.bytes();
    bytes
        .next()
        .is_some_and(|b| b == b'_' || b.is_ascii_alphabetic())
        && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_commands_are_execed() {
        for line in [
            "sleep 10",
            "  sleep 10",
            "echo $(date) > out 2>&1",
            "python -m http.server --bind=127.0.0.1",
            "/bin/true",
        ] {
            assert_eq!(
                exec_form(line),
                format!("exec {}", line.trim_start()),
                "{line}"
            );
        }
    }

    #[test]
    fn anything_else_is_left_alone() {
        for line in [
            "",
            "   ",
            "a; b",
            "a && b",
            "a || b",
            "a | b",
            "a &",
            "a &> log",
            "a\nb",
            "FOO=1 cmd",
            "cd /tmp",
            ". ./env",
            "ulimit -n 1024",
            "exec sleep 1",
            "if true",
            "{ a }",
            "! false",
            "(a)",
            "# comment",
            "trap '' INT",
        ] {
            assert_eq!(exec_form(line), line, "{line:?}");
        }
    }

    #[test]
    fn an_equals_sign_after_the_first_word_is_no_assignment() {
        assert_eq!(exec_form("env FOO=1 cmd"), "exec env FOO=1 cmd");
        assert_eq!(exec_form("--x=1"), "exec --x=1");
    }
}
