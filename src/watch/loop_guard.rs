//! [`LoopGuard`]: the rule that stops a process that restarts itself by writing files it
//! watches. Pure; the coordinator keeps one per watched process.
//!
//! More than [`LoopGuard::LIMIT`] restarts by changes within [`LoopGuard::WINDOW`] pause the
//! process's watch restarts. While paused, changes keep arriving (they are the loop); the
//! first change after [`LoopGuard::QUIET`] without any is taken as the user's and resumes.
//! A reload (or a manual restart) resets the guard.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What to do with one change set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Restart the process.
    Restart,
    /// This change makes too many: pause (tell the user, naming the file).
    Pause,
    /// Paused: ignore the change.
    Ignore,
}

/// Restarts by changes in the last [`LoopGuard::WINDOW`], or paused.
#[derive(Debug, Clone, Default)]
pub struct LoopGuard {
    restarts: VecDeque<Instant>,
    /// When paused: the time of the last change seen.
    paused_at: Option<Instant>,
}

impl LoopGuard {
    /// Restarts allowed within [`LoopGuard::WINDOW`].
    pub const LIMIT: usize = 10;
    /// The window restarts are counted over.
    pub const WINDOW: Duration = Duration::from_secs(10);
    /// The quiet time after which a change resumes a paused process.
    pub const QUIET: Duration = Duration::from_secs(1);

    /// Decides about a change set that arrived at `now`.
    pub fn on_change(&mut self, now: Instant) -> Verdict {
        if let Some(last) = self.paused_at {
            if now.saturating_duration_since(last) < Self::QUIET {
                self.paused_at = Some(now);
                return Verdict::Ignore;
            }
            self.reset();
        }
        while self
            .restarts
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= Self::WINDOW)
        {
            self.restarts.pop_front();
        }
        if self.restarts.len() >= Self::LIMIT {
            self.restarts.clear();
            self.paused_at = Some(now);
            return Verdict::Pause;
        }
        self.restarts.push_back(now);
        Verdict::Restart
    }

    /// Whether restarts by changes are paused.
    pub fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    /// Forgets the history (a reload, a manual restart).
    pub fn reset(&mut self) {
        self.restarts.clear();
        self.paused_at = None;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn ten_restarts_in_ten_seconds_are_allowed_the_eleventh_pauses() {
        let t0 = Instant::now();
        let mut guard = LoopGuard::default();
        for i in 0..10 {
            assert_eq!(guard.on_change(at(t0, i * 500)), Verdict::Restart, "{i}");
        }
        assert_eq!(guard.on_change(at(t0, 5_000)), Verdict::Pause);
        assert!(guard.is_paused());
    }

    #[test]
    fn restarts_spread_over_more_than_the_window_never_pause() {
        let t0 = Instant::now();
        let mut guard = LoopGuard::default();
        for i in 0..100 {
            assert_eq!(guard.on_change(at(t0, i * 1_001)), Verdict::Restart, "{i}");
        }
    }

    #[test]
    fn a_paused_process_resumes_on_a_change_after_a_quiet_second() {
        let t0 = Instant::now();
        let mut guard = LoopGuard::default();
        for i in 0..10 {
            guard.on_change(at(t0, i * 100));
        }
        assert_eq!(guard.on_change(at(t0, 1_000)), Verdict::Pause);
        // The loop goes on: each change keeps it paused, however long it lasts.
        for i in 1..30 {
            assert_eq!(guard.on_change(at(t0, 1_000 + i * 900)), Verdict::Ignore);
        }
        assert_eq!(
            guard.on_change(at(t0, 1_000 + 29 * 900 + 1_000)),
            Verdict::Restart
        );
        assert!(!guard.is_paused());
    }

    #[test]
    fn a_reset_resumes_at_once() {
        let t0 = Instant::now();
        let mut guard = LoopGuard::default();
        for i in 0..11 {
            guard.on_change(at(t0, i));
        }
        assert!(guard.is_paused());
        guard.reset();
        assert_eq!(guard.on_change(at(t0, 20)), Verdict::Restart);
    }
}
