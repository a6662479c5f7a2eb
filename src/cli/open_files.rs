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

/// Raises the soft limit for a fleet of `instances` (see the module's docs). Gives a warning
/// to show when the limit stays too small, or cannot be read or set.
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
    shortfall(instances, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

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
