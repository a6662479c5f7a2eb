//! `depends_on`: the raw list or table, its checks (names, itself, duplicates, processes that
//! will not run, cycles), its resolution into [`Dependency`] lists, and the start order as
//! levels ([`Manifest::start_order`]).
//!
//! Decisions the design leaves open:
//!
//! - A name listed twice (`["db", "db"]`) is an error, like a duplicate key in the table form.
//! - A dependency on a process with 0 instances is an error only when the dependent itself
//!   runs: `-m web=0,db=0` with `web` depending on `db` loads.
//! - A cycle is reported at the entry of the first process (in file order) on it, and printed
//!   from that process round to it again (`web -> api -> web`).
//! - The checks walk the graph without recursion, so that no manifest can exhaust the stack.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use super::error::{ErrorKind, Location, ManifestError, nearest, quoted_list};
use super::raw::RawProcess;
use super::{Condition, Dependency, Manifest};

/// `depends_on` as written: each process name with its span and condition, in file order.
#[derive(Debug, Default, Clone)]
pub(crate) struct DependsOn(pub Vec<(Spanned<String>, Condition)>);

impl<'de> Deserialize<'de> for DependsOn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DependsVisitor;
        impl<'de> Visitor<'de> for DependsVisitor {
            type Value = DependsOn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a list of process names, or a table of name = \"started\", \"ready\" or \"completed\"",
                )
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(name) = seq.next_element::<Spanned<String>>()? {
                    entries.push((name, Condition::Ready));
                }
                Ok(DependsOn(entries))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    entries.push((name, map.next_value::<Condition>()?));
                }
                // Maps may come sorted by key; the file order is the order of the key spans.
                entries.sort_by_key(|(name, _)| name.span().start);
                Ok(DependsOn(entries))
            }
        }
        deserializer.deserialize_any(DependsVisitor)
    }
}

impl JsonSchema for DependsOn {
    fn schema_name() -> Cow<'static, str> {
        "DependsOn".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let conditions: Vec<&str> = Condition::ALL.iter().map(|c| c.as_str()).collect();
        json_schema!({
            "description": "Processes to wait for: a list of names (each must be ready), or a table of name = condition (\"started\": spawned; \"ready\": its ready check passed; \"completed\": exited with code 0).",
            "anyOf": [
                {
                    "type": "array",
                    "items": { "type": "string", "pattern": "^[A-Za-z0-9_-]+$" },
                    "uniqueItems": true
                },
                {
                    "type": "object",
                    "propertyNames": { "pattern": "^[A-Za-z0-9_-]+$" },
                    "additionalProperties": { "enum": conditions }
                }
            ]
        })
    }
}

/// Checks every process's `depends_on` against the processes and their instance counts
/// (`counts[i]` for `processes[i]`), and returns each process's dependencies in the order
/// written.
pub(crate) fn resolve(
    processes: &[(Spanned<String>, RawProcess)],
    counts: &[u32],
    at: &dyn Fn(Range<usize>) -> Location,
) -> Result<Vec<Vec<Dependency>>, ManifestError> {
    let names: Vec<&str> = processes
        .iter()
        .map(|(n, _)| n.get_ref().as_str())
        .collect();
    // edges[i]: (the process depended on, the span of the entry), in the order written.
    let mut edges: Vec<Vec<(usize, Range<usize>)>> = Vec::with_capacity(processes.len());
    let mut resolved = Vec::with_capacity(processes.len());
    for (index, (name, process)) in processes.iter().enumerate() {
        let runs = counts.get(index).is_some_and(|&count| count > 0);
        let mut own_edges = Vec::new();
        let mut own = Vec::new();
        for (entry, condition) in &process.depends_on.0 {
            let entry_name = entry.get_ref().as_str();
            let Some(target) = names.iter().position(|&n| n == entry_name) else {
                let mut error = ManifestError::new(
                    ErrorKind::InvalidValue,
                    format!("unknown process {entry_name:?} in depends_on"),
                );
                if let Some(suggestion) = nearest(entry_name, names.iter().copied()) {
                    error = error.help(format!("did you mean {suggestion:?}?"));
                }
                return Err(error
                    .note(format!("the processes are {}", quoted_list(&names)))
                    .at(at(entry.span())));
            };
            if target == index {
                return Err(ManifestError::new(
                    ErrorKind::InvalidValue,
                    format!("process {:?} depends on itself", name.get_ref()),
                )
                .at(at(entry.span())));
            }
            if own.iter().any(|d: &Dependency| d.process == entry_name) {
                return Err(ManifestError::new(
                    ErrorKind::Duplicate,
                    format!("{entry_name:?} is listed twice in depends_on"),
                )
                .at(at(entry.span())));
            }
            if runs && counts.get(target).is_some_and(|&count| count == 0) {
                return Err(ManifestError::new(
                    ErrorKind::InvalidValue,
                    format!(
                        "{} depends on {entry_name}, which will not run (0 instances)",
                        name.get_ref()
                    ),
                )
                .at(at(entry.span()))
                .help(format!(
                    "give {entry_name} instances (`instances`, or -m {entry_name}=1), or remove it from depends_on"
                )));
            }
            own_edges.push((target, entry.span()));
            own.push(Dependency {
                process: entry_name.to_owned(),
                condition: *condition,
            });
        }
        edges.push(own_edges);
        resolved.push(own);
    }
    if let Some((path, span)) = find_cycle(&edges) {
        let path: Vec<&str> = path.iter().map(|&i| names[i]).collect();
        return Err(ManifestError::new(
            ErrorKind::InvalidValue,
            format!("dependency cycle: {}", path.join(" -> ")),
        )
        .at(at(span))
        .help("remove one of these depends_on entries"));
    }
    Ok(resolved)
}

/// The first cycle found by a depth-first walk from each process in file order: the path
/// (ending where it starts) and the span of the entry its first step comes from.
fn find_cycle(edges: &[Vec<(usize, Range<usize>)>]) -> Option<(Vec<usize>, Range<usize>)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::New; edges.len()];
    for root in 0..edges.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // The current path: each process and how many of its edges were followed.
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        marks[root] = Mark::OnPath;
        while let Some(&mut (node, ref mut followed)) = path.last_mut() {
            let Some((target, _)) = edges[node].get(*followed) else {
                marks[node] = Mark::Done;
                path.pop();
                continue;
            };
            *followed += 1;
            let target = *target;
            match marks[target] {
                Mark::New => {
                    marks[target] = Mark::OnPath;
                    path.push((target, 0));
                }
                Mark::OnPath => {
                    let start = path.iter().position(|&(n, _)| n == target)?;
                    let (first, first_followed) = path[start];
                    let span = edges[first][first_followed - 1].1.clone();
                    let mut cycle: Vec<usize> = path[start..].iter().map(|&(n, _)| n).collect();
                    cycle.push(target);
                    return Some((cycle, span));
                }
                Mark::Done => {}
            }
        }
    }
    None
}

impl Manifest {
    /// The processes that run (one instance or more) grouped by start level, in file order
    /// within a level: level 1 depends on nothing, level n + 1 on processes of levels up to n
    /// (at least one of level n). For `procmux check` and the coordinator's messages; the
    /// coordinator itself starts each instance as soon as its dependencies meet their
    /// conditions, not level by level.
    ///
    /// Dependencies on processes that do not run are left out. A loaded manifest has no
    /// cycle; for one built by hand, the processes on a cycle come last, as one level.
    pub fn start_order(&self) -> Vec<Vec<&str>> {
        let running: Vec<&super::ProcessSpec> = self
            .processes
            .iter()
            .filter(|p| !p.instances.is_empty())
            .collect();
        let deps: Vec<Vec<usize>> = running
            .iter()
            .map(|process| {
                process.instances[0]
                    .depends_on
                    .iter()
                    .filter_map(|d| running.iter().position(|p| p.name == d.process))
                    .collect()
            })
            .collect();
        let mut level: Vec<Option<usize>> = vec![None; running.len()];
        let mut levels: Vec<Vec<&str>> = Vec::new();
        let mut placed = 0;
        while placed < running.len() {
            // Every process whose dependencies all have a level gets the next one.
            let ready: Vec<usize> = (0..running.len())
                .filter(|&i| level[i].is_none() && deps[i].iter().all(|&d| level[d].is_some()))
                .collect();
            let this = if ready.is_empty() {
                // A cycle (only in a hand-built manifest): put what is left in one level.
                (0..running.len()).filter(|&i| level[i].is_none()).collect()
            } else {
                ready
            };
            for &i in &this {
                level[i] = Some(levels.len());
            }
            placed += this.len();
            levels.push(this.iter().map(|&i| running[i].name.as_str()).collect());
        }
        levels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(list: &[&[usize]]) -> Vec<Vec<(usize, Range<usize>)>> {
        list.iter()
            .enumerate()
            .map(|(from, targets)| {
                targets
                    .iter()
                    .map(|&to| (to, from * 10 + to..from * 10 + to + 1))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn finds_cycles_from_the_first_process_on_them() {
        assert_eq!(find_cycle(&edges(&[&[1], &[2], &[]])), None);
        assert_eq!(
            find_cycle(&edges(&[&[1], &[0]])),
            Some((vec![0, 1, 0], 1..2))
        );
        assert_eq!(
            find_cycle(&edges(&[&[], &[2], &[3], &[1]])),
            Some((vec![1, 2, 3, 1], 12..13))
        );
        // A diamond is not a cycle.
        assert_eq!(find_cycle(&edges(&[&[1, 2], &[3], &[3], &[]])), None);
    }

    #[test]
    fn long_chains_do_not_recurse() {
        let n = 100_000;
        let chain: Vec<Vec<(usize, Range<usize>)>> = (0..n)
            .map(|i| {
                if i + 1 < n {
                    vec![(i + 1, 0..1)]
                } else {
                    vec![(0, 5..6)]
                }
            })
            .collect();
        let (path, span) = find_cycle(&chain).expect("a cycle");
        assert_eq!((path.len(), span), (n + 1, 0..1));
    }
}
