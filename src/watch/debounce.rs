//! [`Debouncer`]: bursts of changes into one change set per target, after a quiet time.
//!
//! Pure: the caller passes the time in and sleeps until [`Debouncer::deadline`] itself, so
//! a timer exists only while a burst is open. Each change restarts its target's quiet time
//! (a trailing debounce): a burst of saves gives one change set, at the quiet time after the
//! last save.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;

/// How many changed paths a change set names; the others are counted.
pub const SHOWN_PATHS: usize = 5;

/// How many distinct paths a burst remembers to count them exactly; past that, `more` is a
/// lower bound (a `git checkout` of 100,000 files must not hold them all).
const TRACKED_PATHS: usize = 10_000;

/// What changed in one burst.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// The first few changed paths in path order, without duplicates.
    pub paths: Vec<PathBuf>,
    /// How many other distinct paths changed.
    pub more: usize,
}

#[derive(Debug)]
struct Burst {
    due: Instant,
    paths: BTreeSet<PathBuf>,
    untracked: usize,
}

/// Open bursts, by target.
#[derive(Debug)]
pub struct Debouncer<K> {
    bursts: BTreeMap<K, Burst>,
}

impl<K> Default for Debouncer<K> {
    fn default() -> Self {
        Self {
            bursts: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone> Debouncer<K> {
    /// Records a change to `key` at `now` (with the changed path, when there is one): its
    /// change set is due once `quiet` passes with no further change.
    pub fn record(&mut self, key: K, path: Option<PathBuf>, quiet: Duration, now: Instant) {
        let burst = self.bursts.entry(key).or_insert_with(|| Burst {
            due: now,
            paths: BTreeSet::new(),
            untracked: 0,
        });
        burst.due = now + quiet;
        if let Some(path) = path
            && !burst.paths.contains(&path)
        {
            if burst.paths.len() < TRACKED_PATHS {
                burst.paths.insert(path);
            } else {
                burst.untracked += 1;
            }
        }
    }

    /// When the next change set is due; `None` when no burst is open (no timer needed).
    pub fn deadline(&self) -> Option<Instant> {
        self.bursts.values().map(|b| b.due).min()
    }

    /// Removes and returns the change sets due at `now`.
    pub fn take_due(&mut self, now: Instant) -> Vec<(K, ChangeSet)> {
        let due: Vec<K> = self
            .bursts
            .iter()
            .filter(|(_, b)| b.due <= now)
            .map(|(k, _)| k.clone())
            .collect();
        due.into_iter()
            .filter_map(|key| {
                let burst = self.bursts.remove(&key)?;
                let total = burst.paths.len() + burst.untracked;
                let paths: Vec<PathBuf> = burst.paths.into_iter().take(SHOWN_PATHS).collect();
                let more = total - paths.len();
                Some((key, ChangeSet { paths, more }))
            })
            .collect()
    }

    /// Drops `key`'s open burst, if any.
    pub fn forget(&mut self, key: &K) {
        self.bursts.remove(key);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const Q: Duration = Duration::from_millis(100);

    fn path(name: &str) -> Option<PathBuf> {
        Some(PathBuf::from(name))
    }

    #[test]
    fn nothing_open_needs_no_timer() {
        let debouncer: Debouncer<&str> = Debouncer::default();
        assert_eq!(debouncer.deadline(), None);
    }

    #[test]
    fn a_burst_is_due_a_quiet_time_after_its_last_change() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        for i in 0..5 {
            d.record(
                "web",
                path("/p/a.rs"),
                Q,
                t0 + Duration::from_millis(10 * i),
            );
        }
        assert_eq!(d.deadline(), Some(t0 + Duration::from_millis(140)));
        assert!(d.take_due(t0 + Duration::from_millis(139)).is_empty());
        let due = d.take_due(t0 + Duration::from_millis(140));
        assert_eq!(
            due,
            [(
                "web",
                ChangeSet {
                    paths: vec!["/p/a.rs".into()],
                    more: 0
                }
            )]
        );
        assert_eq!(d.deadline(), None);
    }

    #[test]
    fn paths_are_sorted_deduplicated_and_the_rest_counted() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        for name in [
            "/p/h", "/p/g", "/p/a", "/p/f", "/p/a", "/p/e", "/p/d", "/p/c",
        ] {
            d.record(1, path(name), Q, t0);
        }
        let (_, set) = d.take_due(t0 + Q).pop().unwrap();
        let shown: Vec<&str> = set.paths.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(shown, ["/p/a", "/p/c", "/p/d", "/p/e", "/p/f"]);
        assert_eq!(set.more, 2);
    }

    #[test]
    fn targets_are_independent() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        d.record("a", None, Q, t0);
        d.record("b", None, Duration::from_millis(300), t0);
        assert_eq!(d.take_due(t0 + Q).len(), 1);
        assert_eq!(d.deadline(), Some(t0 + Duration::from_millis(300)));
        d.forget(&"b");
        assert_eq!(d.deadline(), None);
    }
}
