//! `${VAR}` and `$VAR` expansion in env values (of `.env` files and of `[env]` tables), with
//! the escapes of double-quoted dotenv strings, the reporting of variables defined nowhere, and
//! the bound on the expanded length.

use std::ops::Range;

use super::bounds;

/// An expansion that cannot be done, with the byte range in the input it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpandError {
    /// Byte range in the expanded input.
    pub span: Range<usize>,
    /// Plain message.
    pub message: String,
}

/// A successful expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expanded {
    /// The expanded text.
    pub value: String,
    /// The byte ranges in the input of each `$NAME` / `${NAME}` whose variable `lookup` did
    /// not know (they expanded to nothing), in input order.
    pub undefined: Vec<Range<usize>>,
}

/// Expands `input`:
///
/// - `${NAME}` and `$NAME` become `lookup(NAME)`, or nothing when it is unset (like a shell;
///   the reference is listed in [`Expanded::undefined`]);
/// - `\$` is a literal `$`;
/// - with `escapes` (double-quoted dotenv values), `\n`, `\t`, `\r`, `\"` and `\\` too; any other
///   backslash is kept as written, so no character is ever dropped;
/// - a `$` not followed by a name or `{` is kept as written;
/// - a carriage return right before a line feed is dropped (CRLF files).
///
/// The result may be at most `limit` bytes long: past it the expansion stops with an error
/// over the whole input, before allocating more.
pub(crate) fn expand(
    input: &str,
    escapes: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
    limit: usize,
) -> Result<Expanded, ExpandError> {
    let too_long = || ExpandError {
        span: 0..input.len(),
        message: bounds::value_too_long(),
    };
    let mut out = String::with_capacity(input.len().min(limit));
    let mut undefined = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if out.len() > limit {
            return Err(too_long());
        }
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
                    let end = name_start + close + 1;
                    match lookup(name) {
                        Some(value) if out.len().saturating_add(value.len()) > limit => {
                            return Err(too_long());
                        }
                        Some(value) => out.push_str(&value),
                        None => undefined.push(at..end),
                    }
                    while chars.next_if(|&(i, _)| i < end).is_some() {}
                }
                Some(next) if next == '_' || next.is_ascii_alphabetic() => {
                    let name_start = at + 1;
                    let mut name_end = name_start;
                    while let Some((i, n)) =
                        chars.next_if(|&(_, n)| n == '_' || n.is_ascii_alphanumeric())
                    {
                        name_end = i + n.len_utf8();
                    }
                    match lookup(&input[name_start..name_end]) {
                        Some(value) if out.len().saturating_add(value.len()) > limit => {
                            return Err(too_long());
                        }
                        Some(value) => out.push_str(&value),
                        None => undefined.push(at..name_end),
                    }
                }
                _ => out.push('$'),
            },
            c => out.push(c),
        }
    }
    if out.len() > limit {
        return Err(too_long());
    }
    Ok(Expanded {
        value: out,
        undefined,
    })
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
        expand(input, escapes, &lookup, 1000).map(|e| e.value)
    }

    #[test]
    fn lists_undefined_references() {
        let expanded = expand("a $NOPE ${HOME} ${ALSO_NOPE}!", false, &lookup, 1000);
        assert_eq!(expanded.map(|e| e.undefined), Ok(vec![2..7, 16..28]));
        // `pa$$word`: the first `$` is literal, `$word` is a reference.
        let expanded = expand("pa$$word", false, &lookup, 1000).expect("expands");
        assert_eq!(expanded.value, "pa$");
        assert_eq!(expanded.undefined.len(), 1);
        assert_eq!(expanded.undefined[0], 3..8);
        assert_eq!(
            expand(r"\$NOPE", false, &lookup, 1000).map(|e| e.undefined),
            Ok(vec![])
        );
    }

    #[test]
    fn stops_at_the_limit() {
        assert_eq!(run("0123456789", false).map(|v| v.len()), Ok(10));
        let long = "x".repeat(1001);
        assert_eq!(run(&long, false).map_err(|e| e.span), Err(0..1001));
        let error = expand("$HOME$HOME", false, &lookup, 10).expect_err("past 10");
        assert_eq!(error.span, 0..10);
        assert!(error.message.contains("1 MiB"), "{}", error.message);
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
