//! foreman `Procfile`s into [`RawManifest`].
//!
//! - An entry is a line matching `^([A-Za-z0-9_-]+):\s*(.+)$`: the command is everything after
//!   the first colon and the blanks that follow it (colons inside commands are fine), without
//!   trailing blanks. Commands run through the shell.
//! - Blank lines and lines whose first non-blank character is `#` are skipped; CRLF is fine.
//! - Any other line is a [`Warning`] naming its line (foreman ignores it silently).
//! - A duplicate name, an empty command, the reserved name `system` and a file with no entry are
//!   errors.
//! - An entry named `release` is Heroku's release phase (migrations before a deploy), not a dev
//!   process: it is marked so that resolution leaves it out of `procmux run` and of the PORT
//!   slots (see `resolve.rs`).

use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::error::{ErrorKind, Location, ManifestError, Warning};
use super::raw::{CommandLine, ProcessTable, RawManifest, RawProcess};
use super::toml::{RESERVED_NAME, is_process_name, reserved_name};

/// The name of Heroku's release-phase entry.
pub(crate) const RELEASE: &str = "release";

/// Parses `text`, the content of the Procfile shown as `path`.
pub(crate) fn parse(path: &Path, text: &str) -> Result<(RawManifest, Vec<Warning>), ManifestError> {
    let at = |span: Range<usize>| Location::from_span(path, text, span);
    let mut processes: Vec<(Spanned<String>, RawProcess)> = Vec::new();
    let mut warnings = Vec::new();
    let mut start = 0;
    for raw_line in text.split_inclusive('\n') {
        let line_start = start;
        start += raw_line.len();
        let line = raw_line.trim_end_matches('\n').trim_end_matches('\r');
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let name_len = line
            .find(|c: char| !(c == '_' || c == '-' || c.is_ascii_alphanumeric()))
            .unwrap_or(line.len());
        let name = &line[..name_len];
        let name_span = line_start..line_start + name_len;
        if name.is_empty() || !is_process_name(name) || !line[name_len..].starts_with(':') {
            warnings.push(
                Warning::new("ignored line: not a `name: command` entry")
                    .at(at(line_start..line_start + line.len())),
            );
            continue;
        }
        if name == RESERVED_NAME {
            return Err(reserved_name().at(at(name_span)));
        }
        let after_colon = &line[name_len + 1..];
        let command = after_colon.trim();
        let command_start =
            line_start + name_len + 1 + (after_colon.len() - after_colon.trim_start().len());
        if command.is_empty() {
            return Err(ManifestError::new(
                ErrorKind::InvalidValue,
                format!("empty command for process {name:?}"),
            )
            .at(at(name_span))
            .help("write the command after the colon: `web: bin/server`"));
        }
        if let Some((first, _)) = processes.iter().find(|(n, _)| n.get_ref() == name) {
            let first_line = at(first.span()).line;
            return Err(ManifestError::new(
                ErrorKind::Duplicate,
                format!("process {name:?} is defined twice"),
            )
            .at(at(name_span))
            .note(format!("first defined at line {first_line}")));
        }
        let command_span = command_start..command_start + command.len();
        let process = RawProcess {
            command: Some(Spanned::new(
                command_span,
                CommandLine::Shell(command.to_owned()),
            )),
            release_phase: name == RELEASE,
            ..RawProcess::default()
        };
        processes.push((Spanned::new(name_span, name.to_owned()), process));
    }
    if processes.is_empty() {
        return Err(ManifestError::new(
            ErrorKind::NoProcesses,
            format!("{} defines no process", path.display()),
        )
        .help("add a line such as `web: bin/server`"));
    }
    let manifest = RawManifest {
        processes: ProcessTable(processes),
        ..RawManifest::default()
    };
    Ok((manifest, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> (Vec<(String, String)>, Vec<usize>) {
        let (manifest, warnings) =
            parse(Path::new("Procfile"), text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let entries = manifest
            .processes
            .0
            .into_iter()
            .map(|(name, process)| {
                let command = match process.command.map(Spanned::into_inner) {
                    Some(CommandLine::Shell(command)) => command,
                    other => panic!("{other:?}"),
                };
                (name.into_inner(), command)
            })
            .collect();
        let lines = warnings
            .iter()
            .map(|w| w.location.as_ref().map_or(0, |l| l.line))
            .collect();
        (entries, lines)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn error(text: &str) -> ManifestError {
        parse(Path::new("Procfile"), text).expect_err(text)
    }

    #[test]
    fn colons_inside_commands() {
        let (entries, _) = entries("web: echo a:b http://x:80\nclock:sleep 1\n");
        assert_eq!(
            entries,
            pairs(&[("web", "echo a:b http://x:80"), ("clock", "sleep 1")])
        );
    }

    #[test]
    fn comments_blank_lines_and_crlf() {
        let (entries, warnings) =
            entries("# top\r\n\r\n  # indented\r\nweb: run  \r\nw_2-x:\tgo\r\n");
        assert_eq!(entries, pairs(&[("web", "run"), ("w_2-x", "go")]));
        assert!(warnings.is_empty());
    }

    #[test]
    fn release_is_marked() {
        let (manifest, _) = parse(Path::new("Procfile"), "release: migrate\nweb: run\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let marks: Vec<bool> = manifest
            .processes
            .0
            .iter()
            .map(|(_, p)| p.release_phase)
            .collect();
        assert_eq!(marks, [true, false]);
    }

    #[test]
    fn junk_lines_are_warnings_with_their_line() {
        let (entries, warnings) = entries("web: run\njunk\n  indented: x\nweb.1: x\nworker: go");
        assert_eq!(entries, pairs(&[("web", "run"), ("worker", "go")]));
        assert_eq!(warnings, vec![2, 3, 4]);
    }

    #[test]
    fn errors() {
        let duplicate = error("web: a\nworker: b\nweb: c\n");
        assert_eq!(duplicate.kind, ErrorKind::Duplicate);
        assert_eq!(duplicate.location.map(|l| l.line), Some(3));
        let empty = error("web: a\nworker:   \r\n");
        assert_eq!(empty.message, "empty command for process \"worker\"");
        assert_eq!(empty.location.map(|l| (l.line, l.column)), Some((2, 1)));
        assert_eq!(error("").kind, ErrorKind::NoProcesses);
        let system = error("web: a\nsystem: b\n");
        assert_eq!(system.message, "the process name \"system\" is reserved");
        assert_eq!(system.location.map(|l| (l.line, l.column)), Some((2, 1)));
        assert_eq!(error("# only\n\njunk\n").kind, ErrorKind::NoProcesses);
    }
}
