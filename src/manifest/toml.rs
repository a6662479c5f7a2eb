//! `procmux.toml` into [`RawManifest`]: TOML syntax, unknown keys, process names and value
//! types, each reported at its line and column.
//!
//! The text is read twice: once into toml's spanned document to check every key against the
//! keys procmux knows (so the error can name the key, list the allowed ones and suggest the
//! nearest), then by serde into the typed [`RawManifest`], whose errors carry the span of the
//! offending value.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ErrorKind, Location, ManifestError, nearest, quoted_list};
use super::raw::RawManifest;
use super::ready::{CHECK_KEYS, READY_KEYS};

/// The top-level keys of `procmux.toml`.
pub(crate) const TOP_KEYS: &[&str] = &["settings", "env", "processes"];

/// The keys of `[settings]`.
pub(crate) const SETTINGS_KEYS: &[&str] = &[
    "shell",
    "stop_signal",
    "stop_timeout",
    "env_file",
    "port",
    "timestamps",
    "watch_debounce",
];

/// The keys of `[processes.NAME]`. A new key is a field of `RawProcess` and a name here; a
/// test checks that the two agree.
pub(crate) const PROCESS_KEYS: &[&str] = &[
    "command",
    "cwd",
    "env",
    "env_file",
    "stop_signal",
    "stop_timeout",
    "instances",
    "restart",
    "max_restarts",
    "can_die",
    "autostart",
    "port",
    "color",
    "depends_on",
    "ready",
    "watch",
    "watch_ignore",
];

/// Parses and checks `text`, the content of the TOML manifest shown as `path`.
pub(crate) fn parse(path: &Path, text: &str) -> Result<RawManifest, ManifestError> {
    let at = |span: Range<usize>| Location::from_span(path, text, span);
    let document = DeTable::parse(text).map_err(|error| {
        let error_at = error.span().map(at);
        ManifestError::new(ErrorKind::Syntax, first_line(error.message())).with_location(error_at)
    })?;
    if let Some(problem) = check_document(document.get_ref()) {
        return Err(problem.into_error(at));
    }
    toml::from_str::<RawManifest>(text).map_err(|error| {
        let error_at = error.span().map(at);
        ManifestError::new(ErrorKind::InvalidValue, first_line(error.message()))
            .with_location(error_at)
    })
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_owned()
}

/// A problem found while walking the document; the first one in the file wins.
struct Problem {
    span: Range<usize>,
    error: ManifestError,
}

impl Problem {
    fn into_error(self, at: impl Fn(Range<usize>) -> Location) -> ManifestError {
        self.error.at(at(self.span))
    }
}

fn check_document(document: &DeTable<'_>) -> Option<Problem> {
    let mut problems = Vec::new();
    find_nul(document, &mut problems);
    check_keys(document, TOP_KEYS, "the top level", &mut problems);
    for (key, value) in document {
        if TOP_KEYS.contains(&key.get_ref().as_ref()) {
            expect_table(value, &format!("{:?}", key.get_ref()), &mut problems);
        }
    }
    if let Some(settings) = table(document, "settings") {
        check_keys(settings, SETTINGS_KEYS, "[settings]", &mut problems);
    }
    if let Some(processes) = table(document, "processes") {
        for (name, value) in processes {
            if name.get_ref() == RESERVED_NAME {
                problems.push(Problem {
                    span: name.span(),
                    error: reserved_name(),
                });
            } else if !is_process_name(name.get_ref()) {
                problems.push(Problem {
                    span: name.span(),
                    error: ManifestError::new(
                        ErrorKind::InvalidValue,
                        format!("invalid process name {:?}", name.get_ref()),
                    )
                    .help("process names are letters, digits, \"_\" and \"-\""),
                });
            }
            if let DeValue::Table(process) = value.get_ref() {
                check_keys(process, PROCESS_KEYS, "[processes.NAME]", &mut problems);
                check_ready(process, &mut problems);
            } else {
                expect_table(
                    value,
                    &format!("process {:?}", name.get_ref()),
                    &mut problems,
                );
            }
        }
    }
    problems
        .into_iter()
        .min_by_key(|problem| problem.span.start)
}

/// A `ready` table: known keys, and exactly one check.
fn check_ready(process: &DeTable<'_>, out: &mut Vec<Problem>) {
    let Some((key, value)) = process.iter().find(|(key, _)| key.get_ref() == "ready") else {
        return;
    };
    // Not a table: serde reports the type at the value.
    let DeValue::Table(ready) = value.get_ref() else {
        return;
    };
    let problems_before = out.len();
    check_keys(ready, READY_KEYS, "a ready table", out);
    // `ready = { tpc = 5432 }` has no check because of the typo: say only that.
    let misspelt = out.len() > problems_before;
    let mut checks: Vec<&Spanned<std::borrow::Cow<'_, str>>> = ready
        .iter()
        .map(|(key, _)| key)
        .filter(|key| CHECK_KEYS.contains(&key.get_ref().as_ref()))
        .collect();
    checks.sort_by_key(|key| key.span().start);
    let one_of = format!(
        "a ready table takes exactly one of {}",
        quoted_list(CHECK_KEYS).replacen(" and ", " or ", 1)
    );
    match checks.as_slice() {
        [] if misspelt => {}
        [] => out.push(Problem {
            span: key.span(),
            error: ManifestError::new(ErrorKind::InvalidValue, "ready has no check").help(one_of),
        }),
        [_] => {}
        [first, second, ..] => out.push(Problem {
            span: second.span(),
            error: ManifestError::new(
                ErrorKind::InvalidValue,
                format!(
                    "two checks in one ready table: {:?} and {:?}",
                    first.get_ref(),
                    second.get_ref()
                ),
            )
            .help(one_of),
        }),
    }
}

/// Strings with `\u0000`: no command line, path or environment variable can hold a NUL.
fn find_nul(table: &DeTable<'_>, out: &mut Vec<Problem>) {
    fn nul(span: Range<usize>) -> Problem {
        Problem {
            span,
            error: ManifestError::new(
                ErrorKind::InvalidValue,
                "strings cannot contain NUL (\\u0000)",
            ),
        }
    }
    fn walk(value: &Spanned<DeValue<'_>>, out: &mut Vec<Problem>) {
        match value.get_ref() {
            DeValue::String(text) if text.contains('\0') => out.push(nul(value.span())),
            DeValue::Array(items) => items.iter().for_each(|item| walk(item, out)),
            DeValue::Table(table) => find_nul(table, out),
            _ => {}
        }
    }
    for (key, value) in table {
        if key.get_ref().contains('\0') {
            out.push(nul(key.span()));
        }
        walk(value, out);
    }
}

/// `settings = 1` or `[[processes.web]]`: a table was expected.
fn expect_table(value: &Spanned<DeValue<'_>>, what: &str, out: &mut Vec<Problem>) {
    let found = match value.get_ref() {
        DeValue::Table(_) => return,
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
    };
    out.push(Problem {
        span: value.span(),
        error: ManifestError::new(
            ErrorKind::InvalidValue,
            format!("{what} must be a table, found {found}"),
        ),
    });
}

fn table<'a, 'i>(document: &'a DeTable<'i>, key: &str) -> Option<&'a DeTable<'i>> {
    document
        .iter()
        .find(|(name, _)| name.get_ref() == key)
        .and_then(|(_, value)| match value.get_ref() {
            DeValue::Table(table) => Some(table),
            _ => None,
        })
}

fn check_keys(table: &DeTable<'_>, allowed: &[&str], where_: &str, out: &mut Vec<Problem>) {
    for (key, _) in table {
        let key_text: &str = key.get_ref();
        if allowed.contains(&key_text) {
            continue;
        }
        let mut error =
            ManifestError::new(ErrorKind::UnknownKey, format!("unknown key {key_text:?}"));
        if let Some(suggestion) = nearest(key_text, allowed.iter().copied()) {
            error = error.help(format!("did you mean {suggestion:?}?"));
        }
        error = error.note(format!("the keys of {where_} are {}", quoted_list(allowed)));
        out.push(Problem {
            span: key.span(),
            error,
        });
    }
}

/// The name procmux gives its own output lines, which no process may take.
pub(crate) const RESERVED_NAME: &str = "system";

/// The error for a process named [`RESERVED_NAME`] (the caller adds the location).
pub(crate) fn reserved_name() -> ManifestError {
    ManifestError::new(
        ErrorKind::InvalidValue,
        format!("the process name {RESERVED_NAME:?} is reserved"),
    )
    .help(format!(
        "procmux prints its own messages as {RESERVED_NAME:?}; give this process another name"
    ))
}

/// Whether `name` can name a process: `^[A-Za-z0-9_-]+$`.
pub(crate) fn is_process_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> ManifestError {
        parse(Path::new("procmux.toml"), text).expect_err(text)
    }

    #[test]
    fn reports_the_first_unknown_key_in_file_order() {
        let error = error("[processes.web]\ncomand = \"x\"\n\n[settings]\nshel = \"sh\"\n");
        assert_eq!(error.message, "unknown key \"comand\"");
        let location = error.location.expect("location");
        assert_eq!((location.line, location.column, location.width), (2, 1, 6));
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let error = error("[processes.web\ncommand = 1\n");
        assert_eq!(error.kind, ErrorKind::Syntax);
        assert!(error.location.is_some());
    }

    #[test]
    fn type_errors_point_at_the_value() {
        let error = error("[processes.web]\ncommand = \"x\"\ninstances = -1\n");
        assert_eq!(error.kind, ErrorKind::InvalidValue);
        let location = error.location.expect("location");
        assert_eq!((location.line, location.column), (3, 13));
    }

    #[test]
    fn process_names() {
        assert!(is_process_name("web-1_a"));
        assert!(!is_process_name("web.1"));
        assert!(!is_process_name(""));
        let error = error("[processes.\"a b\"]\ncommand = \"x\"\n");
        assert_eq!(error.message, "invalid process name \"a b\"");
    }
}
