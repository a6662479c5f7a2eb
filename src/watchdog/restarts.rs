//! [`Restarts`]: how often a dead watchdog is replaced. A watchdog that keeps dying (killed by
//! a script in a loop, or unable to run at all) must not turn procmux into a fork loop; past
//! the budget procmux says so and runs without one.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The window the budget counts deaths in (worded in [`super::notice::RESTART_WINDOW_TEXT`]).
pub const WINDOW: Duration = Duration::from_secs(60);

/// Replacements allowed within [`WINDOW`].
pub const MAX_RESTARTS: usize = 5;

/// The recent replacements.
#[derive(Debug, Default)]
pub struct Restarts {
    recent: VecDeque<Instant>,
}

impl Restarts {
    /// A watchdog died at `now`: `Ok(())` if another may be started (and counts it), else
    /// `Err(deaths)`, the number of deaths in the window, this one included.
    pub fn allow(&mut self, now: Instant) -> Result<(), usize> {
        while self
            .recent
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= WINDOW)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= MAX_RESTARTS {
            return Err(self.recent.len() + 1);
        }
        self.recent.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_replacements_a_minute_then_none_until_the_window_moves_on() {
        let start = Instant::now();
        let mut restarts = Restarts::default();
        for i in 0..MAX_RESTARTS as u32 {
            assert_eq!(
                restarts.allow(start + Duration::from_secs(i.into())),
                Ok(())
            );
        }
        assert_eq!(
            restarts.allow(start + Duration::from_secs(30)),
            Err(MAX_RESTARTS + 1)
        );
        // The first death is a minute old: one more is allowed, and only one.
        assert_eq!(restarts.allow(start + WINDOW), Ok(()));
        assert!(restarts.allow(start + WINDOW).is_err());
    }
}
