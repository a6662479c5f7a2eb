//! [`ManifestError`] and [`Warning`]: what went wrong, where (file, line, column, the line
//! itself), and how to render it the way rustc and just do:
//!
//! ```text
//! error: unknown key "comand"
//!   --> procmux.toml:7:1
//!    |
//!  7 | comand = "x"
//!    | ^^^^^^
//!    = help: did you mean "command"?
//! ```

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A position in a manifest or env file, with the text needed to show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as it should be shown: relative to the working directory when it is inside it.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The whole line, without its line ending, to quote under the `-->` line.
    pub line_text: String,
    /// How many characters the carets cover (at least 1).
    pub width: usize,
}

impl Location {
    /// The location of the byte range `span` in `text`, a file shown as `path`.
    ///
    /// Spans past the end of the text, or inside a UTF-8 sequence, are clamped; this never
    /// panics.
    pub fn from_span(path: &Path, text: &str, span: Range<usize>) -> Self {
        let start = floor_char_boundary(text, span.start.min(text.len()));
        let end = floor_char_boundary(text, span.end.clamp(start, text.len()));
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line_text = text[line_start..line_end].trim_end_matches('\r');
        let line = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        let width = text[start..end.min(line_end)].chars().count().max(1);
        Self {
            path: path.to_path_buf(),
            line,
            column,
            line_text: line_text.to_owned(),
            width,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// What kind of problem a [`ManifestError`] is, for callers that react differently to some.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No manifest was found, or the named one does not exist.
    NotFound,
    /// A file exists but could not be read (permissions, not UTF-8, ...).
    Io,
    /// The file is not valid TOML, or a line of a Procfile or env file cannot be parsed.
    Syntax,
    /// A key that procmux does not know.
    UnknownKey,
    /// A value of the wrong type or out of range, an empty command, a bad process name.
    InvalidValue,
    /// The same process is defined twice.
    Duplicate,
    /// The manifest defines no process at all.
    NoProcesses,
    /// An env file named explicitly (in the manifest or with `-e`) does not exist.
    MissingEnvFile,
    /// The formation (`-m`) names a process that does not exist.
    Formation,
}

/// Why a manifest could not be loaded: a plain message, where (when a file position is
/// known), and an optional hint such as "did you mean ...".
///
/// `Display` gives one line (`message at file:line:col`), fit for a log or a status line;
/// [`ManifestError::render`] gives the multi-line report with the quoted line and carets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ManifestError {
    /// What kind of problem this is.
    pub kind: ErrorKind,
    /// The plain message, without position (`unknown key "comand"`).
    pub message: String,
    /// Where the problem is, when it is in a file.
    pub location: Option<Box<Location>>,
    /// Extra lines shown as `= help: ...` / `= note: ...`.
    pub notes: Vec<Note>,
}

/// A `= help:` or `= note:` line under a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A suggestion the user can act on.
    Help(String),
    /// Background that explains the error.
    Note(String),
}

impl ManifestError {
    /// A new error with no location and no notes.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            location: None,
            notes: Vec::new(),
        }
    }

    /// Sets where the error is.
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(Box::new(location));
        self
    }

    /// Sets or clears where the error is.
    pub(crate) fn with_location(mut self, location: Option<Location>) -> Self {
        self.location = location.map(Box::new);
        self
    }

    /// Adds a `= help:` line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.notes.push(Note::Help(help.into()));
        self
    }

    /// Adds a `= note:` line.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(Note::Note(note.into()));
        self
    }

    /// The multi-line report: `error: message`, the `-->` position, the quoted line with
    /// carets under the offending part, then the notes. Ends with a newline.
    pub fn render(&self) -> String {
        render(
            "error",
            &self.message,
            self.location.as_deref(),
            &self.notes,
        )
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        one_line(f, &self.message, self.location.as_deref())
    }
}

/// `message at file:line:col`, or the message alone.
fn one_line(f: &mut fmt::Formatter<'_>, message: &str, location: Option<&Location>) -> fmt::Result {
    f.write_str(message)?;
    match location {
        Some(location) => write!(f, " at {location}"),
        None => Ok(()),
    }
}

/// Something the loader accepted but the user probably wants to know about, such as a
/// Procfile line that is not an entry, a variable defined nowhere or a missing `cwd` folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The plain message.
    pub message: String,
    /// Where it is, when it is in a file.
    pub location: Option<Location>,
    /// Extra lines shown as `= help: ...` / `= note: ...`.
    pub notes: Vec<Note>,
}

impl Warning {
    /// A new warning with no location and no notes.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            location: None,
            notes: Vec::new(),
        }
    }

    /// Sets where the warning is.
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Adds a `= help:` line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.notes.push(Note::Help(help.into()));
        self
    }

    /// Adds a `= note:` line.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(Note::Note(note.into()));
        self
    }

    /// The multi-line report, like [`ManifestError::render`] with `warning:`.
    pub fn render(&self) -> String {
        render(
            "warning",
            &self.message,
            self.location.as_ref(),
            &self.notes,
        )
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        one_line(f, &self.message, self.location.as_ref())
    }
}

fn render(level: &str, message: &str, location: Option<&Location>, notes: &[Note]) -> String {
    let mut out = format!("{level}: {message}\n");
    let gutter = location.map_or(1, |l| l.line.to_string().len());
    let pad = " ".repeat(gutter + 1);
    if let Some(location) = location {
        out.push_str(&format!("{pad}--> {location}\n"));
        out.push_str(&format!("{pad} |\n"));
        out.push_str(&format!(" {} | {}\n", location.line, location.line_text));
        // Keep tabs from the quoted line so the carets line up under it in any terminal.
        let lead: String = location
            .line_text
            .chars()
            .take(location.column - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        out.push_str(&format!("{pad} | {lead}{}\n", "^".repeat(location.width)));
    }
    for note in notes {
        let (label, text) = match note {
            Note::Help(text) => ("help", text),
            Note::Note(text) => ("note", text),
        };
        out.push_str(&format!("{pad} = {label}: {text}\n"));
    }
    out
}

/// The candidate closest to `input`, when one is close enough to be a likely typo.
pub(crate) fn nearest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let input_len = input.chars().count();
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(input, candidate), candidate))
        .filter(|&(distance, candidate)| {
            let len = input_len.min(candidate.chars().count());
            distance > 0 && distance < len.max(2) && (distance <= 2 || distance <= len / 3)
        })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// `"a", "b" and "c"` for a help line listing allowed keys.
pub(crate) fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("{item:?}")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let text = "[processes.web]\ncomand = \"x\"\n";
        let error = ManifestError::new(ErrorKind::UnknownKey, "unknown key \"comand\"")
            .at(Location::from_span(Path::new("procmux.toml"), text, 16..22))
            .help("did you mean \"command\"?");
        assert_eq!(
            error.render(),
            "error: unknown key \"comand\"\n  --> procmux.toml:2:1\n   |\n 2 | comand = \"x\"\n   | ^^^^^^\n   = help: did you mean \"command\"?\n"
        );
        assert_eq!(
            error.to_string(),
            "unknown key \"comand\" at procmux.toml:2:1"
        );
    }

    #[test]
    fn spans_out_of_range_do_not_panic() {
        let text = "aé\r\nb";
        for start in 0..10 {
            for end in 0..10 {
                let _ = Location::from_span(Path::new("x"), text, start..end);
            }
        }
        let location = Location::from_span(Path::new("x"), text, 3..4);
        assert_eq!((location.line, location.column), (1, 3));
        assert_eq!(location.line_text, "aé");
    }

    #[test]
    fn suggests_close_names_only() {
        let keys = ["command", "cwd", "env", "env_file"];
        assert_eq!(nearest("comand", keys), Some("command"));
        assert_eq!(nearest("env_files", keys), Some("env_file"));
        assert_eq!(nearest("wbe", ["web", "worker"]), Some("web"));
        assert_eq!(nearest("zzzzzz", keys), None);
        assert_eq!(nearest("x", keys), None);
    }
}
