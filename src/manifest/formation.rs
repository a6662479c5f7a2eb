//! [`Formation`]: `-m web=2,worker=0,all=1`, how many instances of which process to run, and
//! the check that the processes it names exist.

use std::fmt;
use std::str::FromStr;

use super::LoadOptions;
use super::error::{ErrorKind, ManifestError, nearest, quoted_list};
use super::raw::RawManifest;

/// Instance counts from the command line, overriding the manifest's `instances`.
///
/// `all=N` applies to every process the formation does not name, whatever its `instances`
/// says (foreman's meaning); named processes get their own count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Formation {
    /// `name=count` entries in the order given (a later entry for the same name wins).
    pub counts: Vec<(String, u32)>,
    /// The `all=N` entry, if any.
    pub all: Option<u32>,
}

impl Formation {
    /// The count for `process`, when the formation sets one.
    pub fn count_for(&self, process: &str) -> Option<u32> {
        self.counts
            .iter()
            .rev()
            .find(|(name, _)| name == process)
            .map(|&(_, count)| count)
            .or(self.all)
    }
}

/// A formation that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid formation entry {entry:?}: expected NAME=COUNT, e.g. web=2,worker=0,all=1")]
pub struct FormationError {
    /// The entry as written.
    pub entry: String,
}

impl FromStr for Formation {
    type Err = FormationError;

    /// Parses `web=2,worker=0,all=1` (spaces around entries are allowed; an empty string is an
    /// empty formation).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut formation = Formation::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let error = || FormationError {
                entry: entry.to_owned(),
            };
            let (name, count) = entry.split_once('=').ok_or_else(error)?;
            let (name, count) = (name.trim(), count.trim());
            if name.is_empty() {
                return Err(error());
            }
            let count: u32 = count.parse().map_err(|_| error())?;
            if name == "all" {
                formation.all = Some(count);
            } else {
                formation.counts.push((name.to_owned(), count));
            }
        }
        Ok(formation)
    }
}

impl fmt::Display for Formation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut entries: Vec<String> = self
            .counts
            .iter()
            .map(|(name, count)| format!("{name}={count}"))
            .collect();
        if let Some(all) = self.all {
            entries.push(format!("all={all}"));
        }
        f.write_str(&entries.join(","))
    }
}

/// Every process the formation names exists (with did-you-mean when one is close).
pub(crate) fn check_formation(
    options: &LoadOptions,
    raw: &RawManifest,
) -> Result<(), ManifestError> {
    let Some(formation) = &options.formation else {
        return Ok(());
    };
    let names: Vec<&str> = raw
        .processes
        .0
        .iter()
        .map(|(n, _)| n.get_ref().as_str())
        .collect();
    for (name, _) in &formation.counts {
        if names.contains(&name.as_str()) {
            continue;
        }
        let mut error = ManifestError::new(
            ErrorKind::Formation,
            format!("unknown process {name:?} in the formation"),
        );
        if let Some(suggestion) = nearest(name, names.iter().copied()) {
            error = error.help(format!("did you mean {suggestion:?}?"));
        }
        return Err(error.note(format!("the processes are {}", quoted_list(&names))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts_and_all() {
        let formation: Formation = "web=2, worker=0,all=1".parse().expect("valid");
        assert_eq!(formation.count_for("web"), Some(2));
        assert_eq!(formation.count_for("worker"), Some(0));
        assert_eq!(formation.count_for("clock"), Some(1));
        assert_eq!(formation.to_string(), "web=2,worker=0,all=1");
        let formation: Formation = "web=1,web=3".parse().expect("valid");
        assert_eq!(formation.count_for("web"), Some(3));
        assert_eq!(formation.count_for("clock"), None);
    }

    #[test]
    fn rejects_bad_entries() {
        for text in ["web", "web=-1", "=2", "web=x", "web=2=3"] {
            assert!(text.parse::<Formation>().is_err(), "{text}");
        }
    }
}
