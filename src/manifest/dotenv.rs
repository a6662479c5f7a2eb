//! The `.env` parser (dotenv semantics), written here because dotenvy's errors carry no line
//! numbers.
//!
//! Rules, one per line of the file:
//!
//! - blank lines and lines whose first non-blank character is `#` are skipped;
//! - an entry is `KEY=value`, optionally prefixed by `export `; spaces around `=` are allowed;
//!   keys are letters, digits, `_` and `.`, not starting with a digit;
//! - `'single quotes'` are literal and may span lines;
//! - `"double quotes"` may span lines and understand `\n \t \r \" \\ \$`, and `${VAR}` / `$VAR`;
//! - unquoted values end at the end of the line or at a ` #` comment, lose surrounding blanks and
//!   understand `${VAR}` / `$VAR` and `\$`;
//! - after a closing quote only blanks and a `#` comment may follow;
//! - a variable is looked up among the keys defined earlier in the same file, then in what the
//!   caller passes (the inherited environment and earlier env files); unset variables expand to
//!   nothing, like in a shell, and each such reference is reported so that the loader can warn
//!   (`pa$$word` unquoted is `pa$` and a reference to `$word`);
//! - a later definition of a key replaces an earlier one;
//! - a value is at most [`MAX_ENV_VALUE`](super::bounds::MAX_ENV_VALUE) long after expansion,
//!   and the file's entries together at most the budget the caller gives.
//!
//! Anything else is an error at its byte position: no character is silently dropped.

use std::collections::BTreeMap;
use std::ops::Range;

use super::bounds::{self, MAX_ENV_VALUE, entry_size};
use super::expand::{ExpandError, Expanded, expand};

/// A line that cannot be parsed, with the byte range it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DotenvError {
    /// Byte range in the file.
    pub span: Range<usize>,
    /// Plain message.
    pub message: String,
}

impl DotenvError {
    fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            span,
            message: message.into(),
        }
    }
}

/// A parsed `.env` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// The entries in file order (of their last definition), after expansion.
    pub entries: Vec<(String, String)>,
    /// The byte ranges of references to variables defined nowhere, in file order.
    pub undefined: Vec<Range<usize>>,
}

/// Parses a whole `.env` file into its entries, in file order, after expansion.
///
/// `lookup` resolves variables that the file itself has not defined (yet). `budget` is how
/// many bytes (names and values) the entries may take together; the value that crosses it is
/// an error.
pub(crate) fn parse(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    budget: usize,
) -> Result<Parsed, DotenvError> {
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut undefined = Vec::new();
    let mut size = 0usize;
    let mut defined: BTreeMap<String, String> = BTreeMap::new();
    let mut pos = 0;
    while pos < text.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let line = &text[pos..line_end];
        let indent = line.len() - line.trim_start().len();
        let body = line.trim();
        if body.is_empty() || body.starts_with('#') {
            pos = line_end + 1;
            continue;
        }
        let mut cursor = pos + indent;
        if let Some(rest) = body.strip_prefix("export")
            && rest.starts_with([' ', '\t'])
        {
            cursor += "export".len();
            cursor += blank_len(&text[cursor..line_end]);
        }
        let key_len = text[cursor..line_end]
            .find(|c: char| !(c == '_' || c == '.' || c.is_ascii_alphanumeric()))
            .unwrap_or(line_end - cursor);
        let key = &text[cursor..cursor + key_len];
        if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
            let width = text[cursor..line_end]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
            return Err(DotenvError::new(
                cursor..cursor + width,
                "expected KEY=value (a key is letters, digits, _ and ., not starting with a digit)",
            ));
        }
        cursor += key_len;
        cursor += blank_len(&text[cursor..line_end]);
        if !text[cursor..line_end].starts_with('=') {
            let width = text[cursor..line_end]
                .trim_end_matches('\r')
                .chars()
                .next()
                .map_or(0, char::len_utf8);
            return Err(DotenvError::new(
                cursor..cursor + width,
                format!("expected \"=\" after the key {key:?}"),
            ));
        }
        cursor += 1;
        cursor += blank_len(&text[cursor..line_end]);
        let lookup_here = |name: &str| defined.get(name).cloned().or_else(|| lookup(name));
        let (value, end) = match text[cursor..].chars().next() {
            Some(quote @ ('\'' | '"')) => {
                let (value, close) = quoted(text, cursor, quote, &lookup_here)?;
                (value, close + 1)
            }
            _ => unquoted(text, cursor, line_end, &lookup_here)?,
        };
        undefined.extend(value.undefined);
        let value = value.value;
        // What follows the value on its (last) line must be blanks or a comment.
        let rest_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
        let rest = text[end..rest_end].trim();
        if !rest.is_empty() && !rest.starts_with('#') {
            let start = end + blank_len(&text[end..rest_end]);
            return Err(DotenvError::new(
                start..rest_end,
                "unexpected characters after the value (quote it, or start a comment with \" #\")",
            ));
        }
        if let Some(old) = defined.get(key) {
            size = size.saturating_sub(entry_size(key, old));
        }
        size = size.saturating_add(entry_size(key, &value));
        if size > budget {
            return Err(DotenvError::new(
                cursor..end,
                bounds::environment_too_large(),
            ));
        }
        defined.insert(key.to_owned(), value.clone());
        entries.retain(|(existing, _)| existing != key);
        entries.push((key.to_owned(), value));
        pos = rest_end + 1;
    }
    Ok(Parsed { entries, undefined })
}

fn blank_len(text: &str) -> usize {
    text.len() - text.trim_start_matches([' ', '\t']).len()
}

/// A quoted value starting at `open` (the quote); returns the value (with file positions) and
/// the closing quote's byte index.
fn quoted(
    text: &str,
    open: usize,
    quote: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(Expanded, usize), DotenvError> {
    let start = open + 1;
    let mut escaped = false;
    let close = text[start..].char_indices().find_map(|(i, c)| {
        if quote == '"' && escaped {
            escaped = false;
            return None;
        }
        if quote == '"' && c == '\\' {
            escaped = true;
            return None;
        }
        (c == quote).then_some(start + i)
    });
    let Some(close) = close else {
        let name = if quote == '"' { "double" } else { "single" };
        return Err(DotenvError::new(
            open..open + 1,
            format!(
                "unterminated {name}-quoted value: no closing {quote} before the end of the file"
            ),
        ));
    };
    let content = &text[start..close];
    let value = if quote == '\'' {
        if content.len() > MAX_ENV_VALUE {
            return Err(DotenvError::new(open..close + 1, bounds::value_too_long()));
        }
        Expanded {
            value: content.replace("\r\n", "\n"),
            undefined: Vec::new(),
        }
    } else {
        expand(content, true, lookup, MAX_ENV_VALUE).map_err(|e| shift(e, start))?
    };
    Ok((shift_undefined(value, start), close))
}

/// An unquoted value from `start` to the end of the line or a ` #` comment; returns the value
/// and where its text ends.
fn unquoted(
    text: &str,
    start: usize,
    line_end: usize,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(Expanded, usize), DotenvError> {
    let line = &text[start..line_end];
    let mut end = line.len();
    // `KEY= #note` is an empty value and a comment; `KEY=#x` is "#x".
    let mut previous_blank = text[..start].ends_with([' ', '\t']);
    for (i, c) in line.char_indices() {
        if c == '#' && previous_blank {
            end = i;
            break;
        }
        previous_blank = c == ' ' || c == '\t';
    }
    let raw = line[..end].trim_end();
    let value = expand(raw, false, lookup, MAX_ENV_VALUE).map_err(|e| shift(e, start))?;
    Ok((shift_undefined(value, start), start + raw.len()))
}

fn shift(error: ExpandError, by: usize) -> DotenvError {
    DotenvError::new(error.span.start + by..error.span.end + by, error.message)
}

/// Moves the undefined references of a value expanded from `text[by..]` to file positions.
fn shift_undefined(mut expanded: Expanded, by: usize) -> Expanded {
    for span in &mut expanded.undefined {
        *span = span.start + by..span.end + by;
    }
    expanded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Parsed {
        parse(
            text,
            &|name| (name == "HOME").then(|| "/home/me".to_owned()),
            usize::MAX,
        )
        .unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
    }

    fn env(text: &str) -> Vec<(String, String)> {
        parsed(text).entries
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn error(text: &str) -> DotenvError {
        parse(text, &|_| None, usize::MAX).expect_err(text)
    }

    #[test]
    fn undefined_references_have_file_positions() {
        let text = "A=1\nB=\"Hello ${UNDEFINED}!\"\nC=pa$$word\nD='$literal'\nE=\\$x $A\n";
        let spans: Vec<&str> = parsed(text)
            .undefined
            .iter()
            .map(|span| &text[span.clone()])
            .collect();
        assert_eq!(spans, ["${UNDEFINED}", "$word"]);
    }

    #[test]
    fn values_and_files_are_bounded() {
        // Each value doubles the one before: the 22nd is past 1 MiB.
        let mut text = "A0=x\n".to_owned();
        for i in 1..40 {
            text.push_str(&format!("A{i}=$A{prev}$A{prev}\n", prev = i - 1));
        }
        let error = error(&text);
        assert!(error.message.contains("1 MiB"), "{}", error.message);
        let line = text[..error.span.start].matches('\n').count() + 1;
        assert_eq!(line, 22);
        let error = parse("A=12345\nB=678\n", &|_| None, 9).expect_err("over 9");
        assert_eq!(error.span, 10..13);
        assert!(error.message.contains("16 MiB"), "{}", error.message);
        // A replaced key counts once.
        assert!(parse("A=1234\nA=5678\n", &|_| None, 6).is_ok());
    }

    #[test]
    fn plain_entries_comments_and_blank_lines() {
        assert_eq!(
            env("# comment\n\nA=1\n  B = two words  \nC=\n"),
            pairs(&[("A", "1"), ("B", "two words"), ("C", "")])
        );
    }

    #[test]
    fn export_prefix() {
        assert_eq!(
            env("export A=1\nexport\tB=2\nexport=3\n"),
            pairs(&[("A", "1"), ("B", "2"), ("export", "3")])
        );
    }

    #[test]
    fn inline_comments_need_a_blank_before() {
        assert_eq!(
            env("A=x # note\nB=x#y\nC= #only\n"),
            pairs(&[("A", "x"), ("B", "x#y"), ("C", "")])
        );
    }

    #[test]
    fn single_quotes_are_literal() {
        assert_eq!(
            env("A='$HOME \\n # x' # c\nB='multi\nline'\n"),
            pairs(&[("A", "$HOME \\n # x"), ("B", "multi\nline")])
        );
    }

    #[test]
    fn double_quotes_escape_and_expand() {
        assert_eq!(
            env("A=\"a\\nb \\\"q\\\" \\\\ \\$HOME $HOME\"\nB=\"one\ntwo\"\n"),
            pairs(&[("A", "a\nb \"q\" \\ $HOME /home/me"), ("B", "one\ntwo")])
        );
    }

    #[test]
    fn expands_earlier_keys_before_the_inherited_environment() {
        assert_eq!(
            env("HOME=/srv\nA=${HOME}/x\nB=$A/y\nC=$UNSET.\n"),
            pairs(&[
                ("HOME", "/srv"),
                ("A", "/srv/x"),
                ("B", "/srv/x/y"),
                ("C", ".")
            ])
        );
        assert_eq!(env("A=$HOME"), pairs(&[("A", "/home/me")]));
    }

    #[test]
    fn later_definitions_win() {
        assert_eq!(env("A=1\nB=2\nA=3\n"), pairs(&[("B", "2"), ("A", "3")]));
    }

    #[test]
    fn crlf_endings() {
        assert_eq!(
            env("A=1\r\nB='x'\r\nC=\"l1\r\nl2\"\r\n"),
            pairs(&[("A", "1"), ("B", "x"), ("C", "l1\nl2")])
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        let text = "A=1\nnot a line\n";
        assert_eq!(error(text).span, 8..9);
        assert_eq!(error("A=1\n=x\n").span, 4..5);
        assert_eq!(error("1A=x").span, 0..1);
        assert_eq!(error("A=\"open\nB=2\n").span, 2..3);
        assert_eq!(error("A='open").span, 2..3);
        assert_eq!(error("A='x' y").span, 6..7);
        assert_eq!(error("A=${B").span, 2..5);
        assert!(error("A=\"x\" junk").message.contains("after the value"));
        assert!(error("export A").message.contains("\"=\""));
    }
}
