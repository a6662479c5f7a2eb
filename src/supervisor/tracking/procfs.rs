//! Reading `/proc`: the state, parent and process group of a process, and finding the
//! children of procmux and the members of a process group.
//!
//! Everything here is a snapshot: a process can start or end between two reads, so callers
//! treat the answers as hints to act on (signal, reap) and tolerate "no such process".

use std::fs;

/// What `/proc/<pid>/stat` says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub(crate) pid: i32,
    /// The one-letter state: `R`, `S`, `D`, `T`, `Z`, ...
    pub(crate) state: u8,
    pub(crate) ppid: i32,
    pub(crate) pgrp: i32,
}

impl Stat {
    /// Whether the process has ended and waits to be reaped (or is being torn down).
    pub(crate) fn is_dead(&self) -> bool {
        matches!(self.state, b'Z' | b'X' | b'x')
    }
}

/// Reads `/proc/<pid>/stat`; `None` if the process is gone (or `/proc` is not there).
pub(crate) fn stat(pid: i32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parses a stat line. The command name is in parentheses and may itself contain spaces and
/// parentheses, so the fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text.get(..open)?.trim().parse().ok()?;
    let mut fields = text.get(close + 1..)?.split_ascii_whitespace();
    let state = *fields.next()?.as_bytes().first()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some(Stat {
        pid,
        state,
        ppid,
        pgrp,
    })
}

/// Every process visible in `/proc`, as far as it can be read.
pub(crate) fn all() -> Vec<Stat> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            let pid: i32 = name.to_str()?.parse().ok()?;
            stat(pid)
        })
        .collect()
}

/// The children of process `parent`.
///
/// Uses `/proc/<parent>/task/*/children` when the kernel has it (`CONFIG_PROC_CHILDREN`),
/// which is cheap; otherwise scans every process's stat for its parent.
pub(crate) fn children(parent: i32) -> Vec<Stat> {
    if let Some(pids) = children_from_task_lists(parent) {
        return pids.into_iter().filter_map(stat).collect();
    }
    all().into_iter().filter(|s| s.ppid == parent).collect()
}

fn children_from_task_lists(parent: i32) -> Option<Vec<i32>> {
    let tasks = fs::read_dir(format!("/proc/{parent}/task")).ok()?;
    let mut pids = Vec::new();
    for task in tasks {
        let path = task.ok()?.path().join("children");
        let list = fs::read_to_string(path).ok()?;
        pids.extend(
            list.split_ascii_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    Some(pids)
}

/// The live (not yet ended) members of process group `pgrp`.
pub(crate) fn live_group_members(pgrp: i32) -> Vec<Stat> {
    all()
        .into_iter()
        .filter(|s| s.pgrp == pgrp && !s.is_dead())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_with_spaces_and_parentheses() {
        let stat = parse_stat("42 (a (b) c) S 7 42 42 0 -1").expect("parses");
        assert_eq!(
            stat,
            Stat {
                pid: 42,
                state: b'S',
                ppid: 7,
                pgrp: 42
            }
        );
        assert!(!stat.is_dead());
        assert!(parse_stat("42 (zombie) Z 1 9 9").is_some_and(|s| s.is_dead()));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn finds_this_process_and_its_group() {
        let me = i32::try_from(std::process::id()).expect("pids fit in i32");
        let own = stat(me).expect("this process has a stat");
        assert_eq!(own.pid, me);
        assert!(live_group_members(own.pgrp).iter().any(|s| s.pid == me));
        assert!(children(own.ppid).iter().any(|s| s.pid == me));
    }
}
