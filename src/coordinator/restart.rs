//! The restart policy: whether an ended process runs again, and after how long.
//!
//! Pure decisions, no timers: the coordinator asks [`RestartTracker::on_exit`] when a process
//! ends and arms its own timer with the delay it gets back.
//!
//! The backoff starts at 100 ms and doubles on every consecutive restart, up to 30 s. A run
//! that stayed up for 10 s counts as healthy: the next failure starts again at 100 ms, and the
//! `max_restarts` budget is renewed. Counting consecutive restarts rather than all restarts
//! is deliberate: a server that crashes once a day should not be given up on after ten days,
//! while one that crashes on boot should be given up on after `max_restarts` quick tries.

use std::time::Duration;

use crate::manifest::RestartPolicy;

/// The first restart delay.
pub const INITIAL_DELAY: Duration = Duration::from_millis(100);
/// The longest restart delay.
pub const MAX_DELAY: Duration = Duration::from_secs(30);
/// A run that lasted this long resets the backoff and the restart budget.
pub const HEALTHY_UPTIME: Duration = Duration::from_secs(10);

/// What to do with a process that just ended on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartDecision {
    /// Start it again after `delay`; this is restart number `attempt` in the current streak
    /// (1-based), out of `limit` if the manifest sets `max_restarts`.
    Restart {
        /// How long to wait before starting it again.
        delay: Duration,
        /// Which consecutive restart this is, 1-based.
        attempt: u32,
        /// The `max_restarts` bound, if any.
        limit: Option<u32>,
    },
    /// Its policy does not cover this ending: leave it ended.
    NotCovered,
    /// Its policy covers this ending but `max_restarts` consecutive restarts were spent.
    GaveUp {
        /// How many restarts were made before giving up.
        restarts: u32,
    },
}

impl RestartDecision {
    /// Whether this is [`RestartDecision::Restart`].
    pub fn is_restart(&self) -> bool {
        matches!(self, Self::Restart { .. })
    }
}

/// The restart streak of one process instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestartTracker {
    /// Consecutive restarts since the last healthy run.
    streak: u32,
}

impl RestartTracker {
    /// Decides what follows an ending: `success` tells whether the process exited with
    /// code 0, `uptime` how long this run lasted.
    pub fn on_exit(
        &mut self,
        policy: RestartPolicy,
        max_restarts: Option<u32>,
        success: bool,
        uptime: Duration,
    ) -> RestartDecision {
        let covered = match policy {
            RestartPolicy::No => false,
            RestartPolicy::OnFailure => !success,
            RestartPolicy::Always => true,
        };
        if !covered {
            return RestartDecision::NotCovered;
        }
        if uptime >= HEALTHY_UPTIME {
            self.streak = 0;
        }
        if max_restarts.is_some_and(|limit| self.streak >= limit) {
            return RestartDecision::GaveUp {
                restarts: self.streak,
            };
        }
        let delay = backoff_delay(self.streak);
        self.streak += 1;
        RestartDecision::Restart {
            delay,
            attempt: self.streak,
            limit: max_restarts,
        }
    }
}

/// The delay before restart number `previous + 1` of a streak: 100 ms, 200 ms, 400 ms, ...,
/// capped at 30 s.
pub fn backoff_delay(previous: u32) -> Duration {
    // 2^9 * 100 ms already exceeds the cap, so the shift never overflows.
    let factor = 1u32 << previous.min(9);
    INITIAL_DELAY.saturating_mul(factor).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Duration = Duration::from_millis(50);

    fn delays(tracker: &mut RestartTracker, count: usize) -> Vec<Duration> {
        (0..count)
            .map(
                |_| match tracker.on_exit(RestartPolicy::Always, None, false, QUICK) {
                    RestartDecision::Restart { delay, .. } => delay,
                    other => panic!("expected a restart, got {other:?}"),
                },
            )
            .collect()
    }

    #[test]
    fn delays_double_from_100ms_up_to_30s() {
        let mut tracker = RestartTracker::default();
        let ms: Vec<u128> = delays(&mut tracker, 12)
            .iter()
            .map(Duration::as_millis)
            .collect();
        assert_eq!(
            ms,
            [
                100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000
            ]
        );
    }

    #[test]
    fn a_healthy_run_resets_the_backoff() {
        let mut tracker = RestartTracker::default();
        delays(&mut tracker, 4);
        let after_healthy = tracker.on_exit(RestartPolicy::Always, None, false, HEALTHY_UPTIME);
        assert_eq!(
            after_healthy,
            RestartDecision::Restart {
                delay: INITIAL_DELAY,
                attempt: 1,
                limit: None
            }
        );
    }

    #[test]
    fn policy_decides_which_endings_are_covered() {
        let cases = [
            (RestartPolicy::No, false, false),
            (RestartPolicy::No, true, false),
            (RestartPolicy::OnFailure, false, true),
            (RestartPolicy::OnFailure, true, false),
            (RestartPolicy::Always, false, true),
            (RestartPolicy::Always, true, true),
        ];
        for (policy, success, restarts) in cases {
            let decision = RestartTracker::default().on_exit(policy, None, success, QUICK);
            assert_eq!(
                matches!(decision, RestartDecision::Restart { .. }),
                restarts,
                "{policy:?} success={success}: {decision:?}"
            );
        }
    }

    #[test]
    fn max_restarts_bounds_a_streak_and_a_healthy_run_renews_it() {
        let mut tracker = RestartTracker::default();
        for attempt in 1..=3 {
            assert_eq!(
                tracker.on_exit(RestartPolicy::OnFailure, Some(3), false, QUICK),
                RestartDecision::Restart {
                    delay: backoff_delay(attempt - 1),
                    attempt,
                    limit: Some(3)
                }
            );
        }
        assert_eq!(
            tracker.on_exit(RestartPolicy::OnFailure, Some(3), false, QUICK),
            RestartDecision::GaveUp { restarts: 3 }
        );
        assert!(matches!(
            tracker.on_exit(RestartPolicy::OnFailure, Some(3), false, HEALTHY_UPTIME),
            RestartDecision::Restart { attempt: 1, .. }
        ));
    }

    #[test]
    fn max_restarts_zero_never_restarts() {
        assert_eq!(
            RestartTracker::default().on_exit(RestartPolicy::Always, Some(0), false, QUICK),
            RestartDecision::GaveUp { restarts: 0 }
        );
    }
}
