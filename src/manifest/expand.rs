//! `${VAR}` and `$VAR` expansion in env values (of `.env` files and of `[env]` tables), with
//! the escapes of double-quoted dotenv strings.

use std::ops::Range;

/// An expansion that cannot be done, with the byte range in the input it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpandError {
    /// Byte range in the expanded input.
    pub span: Range<usize>,
    /// Plain message.
    pub message: String,
}

/// Expands `input`:
///
/// - `${NAME}` and `$NAME` become `lookup(NAME)`, or nothing when it is unset (like a shell);
/// - `\$` is a literal `$`;
/// - with `escapes` (double-quoted dotenv values), `\n`, `\t`, `\r`, `\"` and `\\` too; any other
///   backslash is kept as written, so no character is ever dropped;
/// - a `$` not followed by a name or `{` is kept as written;
/// - a carriage return right before a line feed is dropped (CRLF files).
pub(crate) fn expand(
    input: &str,
    escapes: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '\r' if matches!(chars.peek(), Some((_, '\n'))) => {}
            '\\' => match chars.peek().map(|&(_, next)| next) {
                Some('$') => {
                    chars.next();
                    out.push('$');
                }
                Some(next) if escapes => {
                    let decoded = match next {
                        'n' => Some('\n'),
                        't' => Some('\t'),
                        'r' => Some('\r'),
                        '"' => Some('"'),
                        '\\' => Some('\\'),
                        _ => None,
                    };
                    match decoded {
                        Some(decoded) => {
                            chars.next();
                            out.push(decoded);
                        }
                        None => out.push('\\'),
                    }
                }
                _ => out.push('\\'),
            },
            '$' => match chars.peek().map(|&(_, next)| next) {
                Some('{') => {
                    chars.next();
                    let name_start = at + 2;
                    let Some(close) = input[name_start..].find('}') else {
                        return Err(ExpandError {
                            span: at..input.len(),
                            message: "unterminated \"${\": expected a closing \"}\"".into(),
                        });
                    };
                    let name = &input[name_start..name_start + close];
                    if !is_name(name) {
                        return Err(ExpandError {
                            span: at..name_start + close + 1,
                            message: format!(
                                "invalid variable name {name:?} in \"${{...}}\" (expected letters, digits and _)"
                            ),
                        });
                    }
                    out.push_str(&lookup(name).unwrap_or_default());
                    while chars.next_if(|&(i, _)| i <= name_start + close).is_some() {}
                }
                Some(next) if next == '_' || next.is_ascii_alphabetic() => {
                    let name_start = at + 1;
                    let mut name_end = name_start;
                    while let Some((i, n)) =
                        chars.next_if(|&(_, n)| n == '_' || n.is_ascii_alphanumeric())
                    {
                        name_end = i + n.len_utf8();
                    }
                    out.push_str(&lookup(&input[name_start..name_end]).unwrap_or_default());
                }
                _ => out.push('$'),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Whether `name` is a shell variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/me".into()),
            "A_1" => Some("one".into()),
            _ => None,
        }
    }

    fn run(input: &str, escapes: bool) -> Result<String, ExpandError> {
        expand(input, escapes, &lookup)
    }

    #[test]
    fn expands_braced_and_bare_names() {
        assert_eq!(run("${HOME}/x", false).as_deref(), Ok("/home/me/x"));
        assert_eq!(run("$HOME/x", false).as_deref(), Ok("/home/me/x"));
        assert_eq!(run("$A_1-$A_1", false).as_deref(), Ok("one-one"));
        assert_eq!(run("[$MISSING]", false).as_deref(), Ok("[]"));
        assert_eq!(run("${MISSING}x", false).as_deref(), Ok("x"));
    }

    #[test]
    fn keeps_lone_dollars_and_escaped_dollars() {
        assert_eq!(run("cost: 5$", false).as_deref(), Ok("cost: 5$"));
        assert_eq!(run("$1 $-", false).as_deref(), Ok("$1 $-"));
        assert_eq!(run(r"\$HOME", false).as_deref(), Ok("$HOME"));
        assert_eq!(run(r"\$HOME", true).as_deref(), Ok("$HOME"));
    }

    #[test]
    fn escapes_only_when_asked() {
        assert_eq!(run(r#"a\nb\t\"\\"#, true).as_deref(), Ok("a\nb\t\"\\"));
        assert_eq!(run(r"a\nb", false).as_deref(), Ok(r"a\nb"));
        assert_eq!(run(r"\d\", true).as_deref(), Ok(r"\d\"));
        assert_eq!(run(r"\\$HOME", true).as_deref(), Ok(r"\/home/me"));
    }

    #[test]
    fn reports_bad_braces() {
        let error = run("x ${HOME", false).expect_err("unterminated");
        assert_eq!(error.span, 2..8);
        let error = run("${1A}", false).expect_err("bad name");
        assert_eq!(error.span, 0..5);
        assert!(run("${}", false).is_err());
    }

    #[test]
    fn drops_cr_before_lf_only() {
        assert_eq!(run("a\r\nb\rc", true).as_deref(), Ok("a\nb\rc"));
    }
}
