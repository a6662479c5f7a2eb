//! The limit on open files (`RLIMIT_NOFILE`): raised at the start of `run` so that a large
//! fleet fits, with a warning when even the raised limit is too small for it.
//!
//! Each instance holds up to five descriptors in procmux (its stdout and stderr pipes, a
//! pidfd, and under cgroup tracking its cgroup's `cgroup.procs` and `cgroup.events`, kept open
//! so that a stop reads them without opening them), so the soft limit many desktops still
//! start programs with, 1,024, stopped a fleet of three descriptors each at about 330
//! instances with "too many open files". The hard limit is the ceiling an unprivileged
//! process may raise its own soft limit to, and it is usually far higher.
//!
//! Decision: raise the soft limit to the hard one, capped at [`RAISED_LIMIT`], and never
//! lower it. The children inherit the raised limit (a spawn that reset it would need code
//! between `fork` and `exec`, which costs the cheaper spawn path), as Go programs' children
//! did before Go 1.21: only a program that both opens more than 1,024 files and uses
//! `select(2)` can tell, and the cap keeps programs that close every possible descriptor at
//! start from looping over a million of them.
//!
//! # The descriptor table, sized before the first spawn
//!
//! The kernel's table of a process's descriptors starts with room for 64 and doubles when a
//! new descriptor does not fit; and when the table is shared (procmux has several threads,
//! and its spawning children share it until they unshare), each doubling first waits for an
//! RCU grace period, 8 to 15 ms here, on whichever thread opened that descriptor. A fleet of
//! 100 went through four doublings while it started, and they were most of what kept its
//! start above 1.5x bare `sh &`. So `run` grows the table once, to the fleet's
//! [`needed`] size, while procmux still has one thread (no wait at all then). Until 100
//! processes all ran: 0.069 s instead of 0.092 s (medians of 21 interleaved runs), and
//! `benches/compare.sh --workloads fleet --runs 15` went from 1.82x to 1.30x bare `sh &`
//! under cgroup tracking. The table costs 8 bytes a descriptor of kernel memory (64 KB for a
//! fleet of 1,000) and stays that size. A reload that adds instances may still grow it, once
//! per doubling, on the thread that opens the descriptor.

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::fcntl::{FcntlArg, fcntl};
use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// The soft limit procmux raises to, at most (the hard limit may be lower).
pub const RAISED_LIMIT: u64 = 65_536;

/// Descriptors procmux holds for each instance: stdout and stderr pipes, a pidfd, and the
/// run's `cgroup.procs` and `cgroup.events`.
const PER_INSTANCE: u64 = 5;

/// Descriptors procmux holds whatever the fleet: stdio, the runtime's, the watchers', the
/// control socket's, the watchdog's pipe, and a margin for a spawn's pipes in flight.
const BASE: u64 = 64;

/// The soft limit to set, given the current soft and hard limits: `None` to leave it.
pub fn raised(soft: u64, hard: u64) -> Option<u64> {
    let target = hard.min(RAISED_LIMIT);
    (target > soft).then_some(target)
}

/// How many descriptors a fleet of `instances` needs.
pub fn needed(instances: usize) -> u64 {
    BASE + PER_INSTANCE * u64::try_from(instances).unwrap_or(u64::MAX / PER_INSTANCE)
}

/// The warning to give when a fleet of `instances` does not fit in `limit` open files.
pub fn shortfall(instances: usize, limit: u64) -> Option<String> {
    let needed = needed(instances);
    (needed > limit).then(|| {
        format!(
            "{instances} instances need about {needed} open files, and the limit is {limit}: \
             some will fail to start (raise the hard limit, `ulimit -Hn`, or run fewer)"
        )
    })
}

/// The warning `run` would give for a fleet of `instances`, without changing the limit
/// (`procmux check`).
pub fn foreseen_shortfall(instances: usize) -> Option<String> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    shortfall(instances, raised(soft, hard).unwrap_or(soft))
}

/// The highest descriptor number to reserve so that the table holds `needed` descriptors
/// within `limit` ones (`None` when the standard three already reach it).
pub fn table_top(needed: u64, limit: u64) -> Option<RawFd> {
    let top = needed.min(limit).checked_sub(1)?;
    RawFd::try_from(top).ok().filter(|&top| top > 2)
}

/// Grows this process's descriptor table to hold descriptor `top` (see the module's docs),
/// by duplicating a descriptor there and closing it again. Best effort: the table grows by
/// itself anyway, later and slower.
pub fn reserve_table(top: RawFd) {
    let Ok(null) = File::open("/dev/null") else {
        return;
    };
    if let Ok(fd) = fcntl(&null, FcntlArg::F_DUPFD_CLOEXEC(top)) {
        #[allow(unsafe_code)]
        // SAFETY: `fcntl` just returned this new descriptor, owned by no one else; it is
        // closed when the `OwnedFd` drops, here.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
    }
}

/// Raises the soft limit for a fleet of `instances` and sizes the descriptor table for it
/// (see the module's docs; call it while procmux has one thread). Gives a warning to show
/// when the limit stays too small, or cannot be read or set.
pub fn raise_for(instances: usize) -> Option<String> {
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(error) => return Some(format!("cannot read the open-files limit: {error}")),
    };
    let limit = match raised(soft, hard) {
        None => soft,
        Some(target) => match setrlimit(Resource::RLIMIT_NOFILE, target, hard) {
            Ok(()) => target,
            Err(_) => soft,
        },
    };
    if let Some(top) = table_top(needed(instances), limit) {
        reserve_table(top);
    }
    shortfall(instances, limit)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_table_is_sized_for_the_fleet_within_the_limit() {
        assert_eq!(table_top(needed(100), 65_536), Some(563));
        assert_eq!(table_top(needed(100_000), 4096), Some(4095));
        assert_eq!(table_top(2, 1024), None);
        assert_eq!(table_top(needed(0), 0), None);
    }

    /// The kernel's table (`FDSize` in `/proc/self/status`) holds the reserved descriptor
    /// afterwards, and the reservation leaves nothing open.
    #[test]
    fn reserving_grows_the_descriptor_table_and_leaves_nothing_open() {
        fn fd_size() -> u64 {
            std::fs::read_to_string("/proc/self/status")
                .unwrap()
                .lines()
                .find_map(|line| line.strip_prefix("FDSize:"))
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        }
        fn open_count() -> usize {
            std::fs::read_dir("/proc/self/fd").unwrap().count()
        }
        let top = 3000;
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        if soft <= top && setrlimit(Resource::RLIMIT_NOFILE, hard.min(8192), hard).is_err() {
            eprintln!("skipped: the open-files limit is below {top}");
            return;
        }
        let open_before = open_count();
        reserve_table(RawFd::try_from(top).unwrap());
        assert!(
            fd_size() > top,
            "FDSize {} after reserving {top}",
            fd_size()
        );
        assert!(!std::path::Path::new(&format!("/proc/self/fd/{top}")).exists());
        // Other tests of this binary open and close descriptors meanwhile: allow a few.
        assert!(open_count() <= open_before + 8);
    }

    #[test]
    fn a_low_soft_limit_is_raised_to_the_hard_one() {
        assert_eq!(raised(1024, 4096), Some(4096));
    }

    #[test]
    fn the_raise_stops_at_the_cap() {
        assert_eq!(raised(1024, 1_048_576), Some(RAISED_LIMIT));
        assert_eq!(raised(1024, u64::MAX), Some(RAISED_LIMIT));
    }

    #[test]
    fn a_limit_already_high_enough_is_left_alone() {
        assert_eq!(raised(1_048_576, 1_048_576), None);
        assert_eq!(raised(RAISED_LIMIT, 1_048_576), None);
        assert_eq!(raised(4096, 4096), None);
    }

    #[test]
    fn a_fleet_that_does_not_fit_is_warned_of() {
        assert_eq!(shortfall(190, 1024), None);
        let warning = shortfall(400, 1024).expect("400 x 5 + 64 > 1024");
        assert_eq!(
            warning,
            "400 instances need about 2064 open files, and the limit is 1024: some will fail \
             to start (raise the hard limit, `ulimit -Hn`, or run fewer)"
        );
    }
}
