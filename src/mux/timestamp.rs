//! The optional `HH:MM:SS ` stamp, in local time, formatted at most once per second.
//!
//! Asking the time zone database for every one of 800,000 lines would cost more than the
//! rest of the line handling together; a stamp only changes once a second, so each pump keeps
//! the last one and compares whole seconds, which is one clock read per read of its pipe.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Local, NaiveTime, Timelike};

/// Length of a stamp: `HH:MM:SS` and the space that separates it from the name.
pub const STAMP_LEN: usize = 9;

/// The stamp of the last second asked for.
#[derive(Debug, Default)]
pub struct StampCache {
    /// Seconds since the epoch of `text`; `None` until the first stamp.
    second: Option<u64>,
    /// The formatted stamp for `second`.
    text: [u8; STAMP_LEN],
}

impl StampCache {
    /// A cache that formats on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stamp for `now`, reformatted only when the second changed.
    pub fn stamp(&mut self, now: SystemTime) -> &[u8; STAMP_LEN] {
        let second = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if self.second != Some(second) {
            self.text = format_stamp(DateTime::<Local>::from(now).time());
            self.second = Some(second);
        }
        &self.text
    }
}

/// `HH:MM:SS ` of a time of day; pure so that the bytes are tested without a time zone.
pub fn format_stamp(time: NaiveTime) -> [u8; STAMP_LEN] {
    let digits = |n: u32| [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8];
    let [h1, h2] = digits(time.hour());
    let [m1, m2] = digits(time.minute());
    let [s1, s2] = digits(time.second());
    [h1, h2, b':', m1, m2, b':', s1, s2, b' ']
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_hh_mm_ss() {
        let t = NaiveTime::from_hms_opt(14, 3, 7).expect("valid time");
        assert_eq!(&format_stamp(t), b"14:03:07 ");
        let t = NaiveTime::from_hms_opt(0, 0, 0).expect("valid time");
        assert_eq!(&format_stamp(t), b"00:00:00 ");
        // A leap second is still two digits.
        let t = NaiveTime::from_hms_milli_opt(23, 59, 59, 1500).expect("valid time");
        assert_eq!(&format_stamp(t), b"23:59:59 ");
    }

    #[test]
    fn same_second_reuses_the_stamp_and_next_second_changes_it() {
        let mut cache = StampCache::new();
        let base = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let first = *cache.stamp(base);
        assert_eq!(cache.second, Some(1_700_000_000));
        assert_eq!(*cache.stamp(base + Duration::from_millis(999)), first);
        let next = *cache.stamp(base + Duration::from_secs(1));
        assert_ne!(next, first);
        assert_eq!(cache.second, Some(1_700_000_001));
        let expected = format_stamp(DateTime::<Local>::from(base).time());
        assert_eq!(first, expected);
    }
}
