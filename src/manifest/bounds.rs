//! The bounds on values a manifest can make procmux hold (ownership.md, "Bad values"): how
//! long a duration may be and how large the environments may grow once `${VAR}` is expanded.
//!
//! Each bound is checked where the value is read, so the error points at the value that
//! crosses it, and the expansion stops at the bound instead of allocating past it: an `[env]`
//! whose values double each other fails in microseconds with an error, not gigabytes later.

use std::time::Duration;

/// The longest duration procmux accepts (`stop_timeout`, `-t`, the `ready` timings,
/// `watch_debounce`): a day is far above any grace or probe, and keeps every
/// `Instant + duration` far from overflowing.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// The largest value of one environment variable, after expansion (1 MiB). Linux refuses a
/// single argument or variable above 128 KiB anyway; this bound only stops runaway expansion.
pub const MAX_ENV_VALUE: usize = 1024 * 1024;

/// The most bytes (names and values) the variables procmux sets for one instance may take,
/// after expansion (16 MiB). `PORT` and `PS` are not counted.
pub const MAX_ENV_TOTAL: usize = 16 * 1024 * 1024;

/// The most bytes the environments of all instances of a manifest may take together
/// (256 MiB): each instance holds its own copy, so 1000 instances of a 16 MiB environment
/// would otherwise need 16 GiB.
pub const MAX_ENV_ALL: usize = 256 * 1024 * 1024;

/// How the size of an environment is counted: names and values, in bytes.
pub(crate) fn entry_size(key: &str, value: &str) -> usize {
    key.len().saturating_add(value.len())
}

/// The error message for a value longer than [`MAX_ENV_VALUE`].
pub(crate) fn value_too_long() -> String {
    "this value is longer than 1 MiB after expansion, the most procmux accepts".to_owned()
}

/// The error message for a value that makes an environment larger than [`MAX_ENV_TOTAL`].
pub(crate) fn environment_too_large() -> String {
    "with this value the environment grows past 16 MiB, the most procmux accepts".to_owned()
}
