//! The loop of a check: attempts at an interval until one passes or the timeout runs out.
//!
//! [`wait_with`] is the loop alone, over any attempt function, so that its timing can be
//! tested with `tokio::time::pause()` and scripted results; [`super::wait_ready`] runs it with
//! the real attempts. Time is tokio's, so a paused clock drives it.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::ProbeTimings;
use super::error::{AttemptError, NotReady};

/// Waits `initial_delay`, then calls `attempt(limit)` until it returns `Ok`, sleeping
/// `interval` after each failure; returns the time it took, or [`NotReady`] once `timeout`
/// (counted from the call) has run out.
///
/// Each attempt gets `limit = min(attempt_timeout, time left)`, so the whole wait never lasts
/// much longer than `timeout`; the attempt is expected to honour it.
pub async fn wait_with<F, Fut>(timings: &ProbeTimings, mut attempt: F) -> Result<Duration, NotReady>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<(), AttemptError>>,
{
    let start = Instant::now();
    let deadline = start + timings.timeout;
    let not_ready = |last_error| NotReady {
        timeout: timings.timeout,
        elapsed: start.elapsed(),
        last_error,
    };
    if timings.initial_delay >= timings.timeout {
        tokio::time::sleep_until(deadline).await;
        return Err(not_ready(None));
    }
    tokio::time::sleep(timings.initial_delay).await;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let last_error = match attempt(timings.attempt_timeout.min(left)).await {
            Ok(()) => return Ok(start.elapsed()),
            Err(error) => error,
        };
        let next = Instant::now() + timings.interval;
        if next >= deadline {
            tokio::time::sleep_until(deadline).await;
            return Err(not_ready(Some(last_error)));
        }
        tokio::time::sleep_until(next).await;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    fn timings(initial: u64, interval: u64, attempt: u64, timeout: u64) -> ProbeTimings {
        ProbeTimings {
            initial_delay: Duration::from_millis(initial),
            interval: Duration::from_millis(interval),
            attempt_timeout: Duration::from_millis(attempt),
            timeout: Duration::from_millis(timeout),
        }
    }

    fn refused() -> AttemptError {
        AttemptError::Connect {
            reason: "connection refused".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn passes_on_the_first_success_after_the_initial_delay() {
        let calls = RefCell::new(Vec::new());
        let start = Instant::now();
        let result = wait_with(&timings(500, 250, 1000, 60_000), |limit| {
            calls.borrow_mut().push((start.elapsed(), limit));
            let n = calls.borrow().len();
            async move { if n < 3 { Err(refused()) } else { Ok(()) } }
        })
        .await;
        assert_eq!(result, Ok(Duration::from_millis(1000)));
        let at: Vec<u128> = calls.borrow().iter().map(|(t, _)| t.as_millis()).collect();
        assert_eq!(at, [500, 750, 1000]);
        assert!(
            calls
                .borrow()
                .iter()
                .all(|(_, l)| *l == Duration::from_secs(1))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_timeout_with_the_last_error() {
        let calls = RefCell::new(0u32);
        let result = wait_with(&timings(0, 250, 1000, 1000), |_| {
            *calls.borrow_mut() += 1;
            let n = *calls.borrow();
            async move {
                Err(if n == 1 {
                    AttemptError::HttpStatus { status: 503 }
                } else {
                    refused()
                })
            }
        })
        .await;
        let error = result.expect_err("never ready");
        assert_eq!(error.elapsed, Duration::from_secs(1));
        assert_eq!(error.last_error, Some(refused()));
        // At 0, 250, 500 and 750 ms; the next would be at the deadline.
        assert_eq!(*calls.borrow(), 4);
        assert_eq!(error.to_string(), "not ready within 1s: connection refused");
    }

    #[tokio::test(start_paused = true)]
    async fn slow_attempts_are_bounded_by_the_time_left() {
        let limits = RefCell::new(Vec::new());
        let result = wait_with(&timings(0, 100, 1000, 1500), |limit| {
            limits.borrow_mut().push(limit);
            async move {
                tokio::time::sleep(limit).await;
                Err(AttemptError::TimedOut { after: limit })
            }
        })
        .await;
        let error = result.expect_err("never ready");
        assert_eq!(error.elapsed, Duration::from_millis(1500));
        assert_eq!(
            *limits.borrow(),
            [Duration::from_millis(1000), Duration::from_millis(400)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_initial_delay_past_the_timeout_makes_no_attempt() {
        let result = wait_with(&timings(2000, 250, 1000, 1000), |_| async {
            panic!("no attempt expected")
        })
        .await;
        let error = result.expect_err("never ready");
        assert_eq!(error.last_error, None);
        assert_eq!(error.elapsed, Duration::from_secs(1));
    }
}
