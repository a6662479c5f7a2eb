//! Commands that need no shell: a manifest command made only of plain words (`sleep 3600`,
//! `bin/worker --queue default`) runs directly, without `sh -c` in front.
//!
//! `sh -c 'sleep 3600'` already runs as `sh -c 'exec sleep 3600'` (see the supervisor's exec
//! rule), so the program is the process either way; running it directly only saves starting a
//! shell first, which is most of the cost of starting a large fleet. It is done only when
//! the result cannot differ:
//!
//! - the shell is `sh` (by any path): invoked by that name, even bash reads no startup file,
//!   whereas `zsh -c` reads `.zshenv` and `bash -c` reads `$BASH_ENV`, which a user may rely on;
//! - every word is made of characters no shell treats specially (letters, digits and
//!   `_ - . / , : @ % + =`), so there is nothing to expand, quote, glob or redirect;
//! - the first word is a program name: not an assignment and not a shell keyword or builtin
//!   (`exit 3`, `cd dir`, `ulimit -n 1024` need the shell).
//!
//! One visible difference remains, and it is on purpose: a program that does not exist is
//! reported by procmux as `failed to start` rather than by the shell as `not found`; both end
//! with exit code 127.

use std::path::Path;

use crate::supervisor::NOT_A_PROGRAM;

/// The words of `command` when it can run without `shell`, else `None`.
pub fn direct_argv(shell: &str, command: &str) -> Option<Vec<String>> {
    if Path::new(shell).file_name()? != "sh" {
        return None;
    }
    let words: Vec<&str> = command.split_ascii_whitespace().collect();
    let (first, _) = words.split_first()?;
    let plain = |word: &str| {
        word.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'_' | b'-' | b'.' | b'/' | b',' | b':' | b'@' | b'%' | b'+' | b'='
                )
        })
    };
    let program = !first.contains('=') && !NOT_A_PROGRAM.contains(first);
    (program && words.iter().all(|w| plain(w)))
        .then(|| words.iter().map(|w| (*w).to_owned()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_run_directly() {
        assert_eq!(
            direct_argv("sh", "sleep 3600"),
            Some(vec!["sleep".into(), "3600".into()])
        );
        assert_eq!(
            direct_argv("/bin/sh", "  bin/worker --queue=default,mail  -v "),
            Some(vec![
                "bin/worker".into(),
                "--queue=default,mail".into(),
                "-v".into()
            ])
        );
        assert_eq!(direct_argv("sh", "true"), Some(vec!["true".into()]));
    }

    #[test]
    fn anything_a_shell_would_interpret_keeps_the_shell() {
        for command in [
            "",
            "   ",
            "echo $PORT",
            "echo \"quoted\"",
            "echo 'quoted'",
            "ls *.rs",
            "a; b",
            "a && b",
            "a | b",
            "a > log",
            "a &",
            "cd /tmp",
            "exit 3",
            "ulimit -n 1024",
            "FOO=1 cmd",
            "~/bin/tool",
            "echo a\\ b",
            "sleep 1 # comment",
            "(sleep 1)",
            "echo `date`",
        ] {
            assert_eq!(direct_argv("sh", command), None, "{command:?}");
        }
    }

    #[test]
    fn other_shells_may_read_startup_files_so_they_are_kept() {
        for shell in ["bash", "/bin/zsh", "/usr/bin/fish", "cmd.exe"] {
            assert_eq!(direct_argv(shell, "sleep 1"), None, "{shell}");
        }
    }
}
