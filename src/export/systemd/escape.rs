//! Writing values so that systemd reads them back byte for byte.
//!
//! The rules, from systemd.syntax(7) "Quoting", systemd.service(5) "Command lines",
//! systemd.exec(5) `Environment=` and systemd.unit(5) "Specifiers", and from how systemd
//! 252 applies them (`config_parse_exec`, `config_parse_environ`):
//!
//! - A command line is split into words; a word wrapped in double quotes keeps its spaces, and
//!   inside it C escapes are decoded (`\\`, `\"`, `\n`, `\t`, `\r`, `\xNN`...). Every word that
//!   is not made of plain characters is written that way here, so a word never depends on the
//!   quoting rules' corner cases (quotes in mid-word, a lone `;`, a leading `-@+!:`).
//! - Specifiers (`%n`, `%h`...) are expanded after the unquoting, in every word and in
//!   `Environment=`, `WorkingDirectory=`, `User=` and `Description=`: `%` is written `%%`.
//! - In command lines, `$NAME`, `${NAME}` are replaced at exec time and `$$` is a `$`: every
//!   `$` is written `$$` (`$$` is a `$` wherever it stands, so doubling all is exact). In
//!   `Environment=`, `$` has no meaning and is written as is.
//! - A line ending in an odd number of backslashes continues on the next line; newlines can
//!   only be written as escapes. Quoted values end with `"` and comments double their
//!   backslashes, so no line here ends that way.
//! - Settings that are not unquoted (`WorkingDirectory=`, `User=`, `Description=`) take the
//!   rest of the line with its surrounding whitespace stripped: a value with control
//!   characters or surrounding spaces cannot be written there, and is an error.

use std::fmt::Write as _;
use std::time::Duration;

/// Why a value cannot be written in a unit file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscapeError {
    /// A NUL byte: no C string, so no process argument or variable, can hold it.
    #[error("it contains a NUL byte")]
    Nul,
    /// A control character where systemd takes the value literally.
    #[error("it contains a control character ({0:?}), which this setting cannot hold")]
    Control(char),
    /// Leading or trailing whitespace where systemd strips it.
    #[error("it starts or ends with whitespace, which systemd strips from this setting")]
    Whitespace,
    /// A program systemd cannot run from a unit: not absolute, or with quotes, backslashes or
    /// control characters in its path.
    #[error(
        "the program {0:?} is not an absolute path free of quotes, backslashes, `$` and control characters"
    )]
    Program(String),
    /// An environment variable name systemd does not accept.
    #[error(
        "systemd accepts only names of letters, digits and underscores, not starting with a digit"
    )]
    EnvName,
}

/// Characters that need neither quotes nor escapes in a command-line word.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ',' | ':' | '=' | '@')
}

/// One command-line word of `ExecStart=` and friends (an argument: see [`exec_line`] for the
/// program).
pub fn exec_word(word: &str) -> Result<String, EscapeError> {
    if !word.is_empty() && word.chars().all(is_plain) {
        return Ok(word.to_owned());
    }
    quoted(word, true)
}

/// A whole command line: the program and its arguments.
///
/// The program must be an absolute path: systemd reads `-`, `@`, `+`, `!` and `:` at the
/// start of the unquoted first word as flags, and refuses quotes, backslashes and control
/// characters in it (`string_is_safe`), so no quoting can carry those there.
pub fn exec_line(argv: &[String]) -> Result<String, EscapeError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(EscapeError::Program(String::new()));
    };
    let unsafe_char = |c: char| c.is_control() || matches!(c, '"' | '\'' | '\\' | '$');
    if !program.starts_with('/') || program.chars().any(unsafe_char) {
        return Err(EscapeError::Program(program.clone()));
    }
    let mut line = exec_word(program)?;
    for arg in args {
        line.push(' ');
        line.push_str(&exec_word(arg)?);
    }
    Ok(line)
}

/// One `Environment=` assignment, quoted whole: `"NAME=value"`.
pub fn env_assignment(name: &str, value: &str) -> Result<String, EscapeError> {
    let mut bytes = name.bytes();
    let valid_name = bytes
        .next()
        .is_some_and(|b| b == b'_' || b.is_ascii_alphabetic())
        && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric());
    if !valid_name {
        return Err(EscapeError::EnvName);
    }
    quoted(&format!("{name}={value}"), false)
}

/// `text` in double quotes with systemd's C escapes, `%` doubled, and `$` doubled when
/// `dollar` (command lines).
fn quoted(text: &str, dollar: bool) -> Result<String, EscapeError> {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\0' => return Err(EscapeError::Nul),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            '%' => out.push_str("%%"),
            '$' if dollar => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// A value systemd takes literally but for specifiers (`WorkingDirectory=`, `User=`,
/// `Description=`).
pub fn plain_value(text: &str) -> Result<String, EscapeError> {
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(if c == '\0' {
            EscapeError::Nul
        } else {
            EscapeError::Control(c)
        });
    }
    if text.trim() != text || text.ends_with('\\') {
        return Err(EscapeError::Whitespace);
    }
    Ok(text.replace('%', "%%"))
}

/// Text for a `#` comment line: backslashes doubled (an odd one at the end would join the
/// next line to the comment) and control characters escaped (a newline would end it).
pub fn comment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// A systemd time span (systemd.time(7)): `5s`, `100ms`, `1500us`; systemd counts in
/// microseconds, so a finer duration is rounded up, and zero (which systemd reads as "no
/// timeout" in `TimeoutStopSec=`) becomes `1us`.
pub fn timespan(duration: Duration) -> String {
    let micros = duration.as_nanos().div_ceil(1000).max(1);
    if micros.is_multiple_of(1_000_000) {
        format!("{}s", micros / 1_000_000)
    } else if micros.is_multiple_of(1000) {
        format!("{}ms", micros / 1000)
    } else {
        format!("{micros}us")
    }
}

/// A duration as `procmux probe` reads it back exactly: `60s`, `250ms`, `10us`, `7ns`.
pub fn flag_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos.is_multiple_of(1_000_000_000) {
        format!("{}s", nanos / 1_000_000_000)
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1000) {
        format!("{}us", nanos / 1000)
    } else {
        format!("{nanos}ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_bare() {
        assert_eq!(exec_word("/bin/sh"), Ok("/bin/sh".into()));
        assert_eq!(exec_word("--queue=a,b"), Ok("--queue=a,b".into()));
        assert_eq!(
            exec_line(&["/bin/sh".into(), "-c".into(), "echo hi".into()]),
            Ok(r#"/bin/sh -c "echo hi""#.into())
        );
        assert_eq!(
            exec_line(&["/opt/my app/run".into()]),
            Ok(r#""/opt/my app/run""#.into())
        );
        for bad in ["sh", "-/bin/sh", "/bin/it's", "/a\\b", ""] {
            assert!(exec_line(&[bad.into()]).is_err(), "{bad:?}");
        }
        assert_eq!(exec_word("5432"), Ok("5432".into()));
    }

    #[test]
    fn everything_else_is_quoted_and_escaped() {
        let cases = [
            ("", r#""""#),
            (";", r#"";""#),
            ("a b", r#""a b""#),
            ("50%", r#""50%%""#),
            ("$HOME ${X} $$", r#""$$HOME $${X} $$$$""#),
            (r#"it's "q" \ "#, r#""it's \"q\" \\ ""#),
            ("a\nb\tc\rd\x01\x7f", r#""a\nb\tc\rd\x01\x7f""#),
            ("été", r#""été""#),
        ];
        for (word, expected) in cases {
            assert_eq!(exec_word(word), Ok(expected.to_owned()), "{word:?}");
        }
        assert_eq!(exec_word("a\0b"), Err(EscapeError::Nul));
    }

    #[test]
    fn environment_keeps_dollars_and_doubles_percent() {
        assert_eq!(
            env_assignment("URL", "postgres://u:p%40@h/$DB \"x\""),
            Ok(r#""URL=postgres://u:p%%40@h/$DB \"x\"""#.to_owned())
        );
        assert_eq!(
            env_assignment("A", "l1\nl2"),
            Ok(r#""A=l1\nl2""#.to_owned())
        );
        for bad in ["", "1X", "A.B", "A-B", "É"] {
            assert_eq!(
                env_assignment(bad, "v"),
                Err(EscapeError::EnvName),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn plain_values() {
        assert_eq!(
            plain_value("/srv/my app/100%"),
            Ok("/srv/my app/100%%".into())
        );
        assert_eq!(plain_value("a\nb"), Err(EscapeError::Control('\n')));
        assert_eq!(plain_value(" a"), Err(EscapeError::Whitespace));
        assert_eq!(plain_value("a\\"), Err(EscapeError::Whitespace));
    }

    #[test]
    fn comments_cannot_continue_or_break() {
        assert_eq!(comment("C:\\dir\\"), "C:\\\\dir\\\\");
        assert_eq!(comment("a\nb"), "a\\nb");
    }

    #[test]
    fn durations() {
        assert_eq!(timespan(Duration::from_secs(5)), "5s");
        assert_eq!(timespan(Duration::from_millis(100)), "100ms");
        assert_eq!(timespan(Duration::from_nanos(1500)), "2us");
        assert_eq!(timespan(Duration::ZERO), "1us");
        assert_eq!(flag_duration(Duration::from_secs(60)), "60s");
        assert_eq!(flag_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(flag_duration(Duration::from_nanos(7)), "7ns");
        assert_eq!(flag_duration(Duration::ZERO), "0s");
    }
}
