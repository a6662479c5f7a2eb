//! [`ProcessEnd`]: how a supervised process ended, in a platform-neutral form, and the exit code
//! a shell would report for it.

use std::fmt;
use std::num::{NonZeroI32, NonZeroI64};
use std::process::ExitStatus;

use super::Signal;

/// How a process ended.
///
/// Built from the [`ExitStatus`] that waiting on the process gave; see
/// [`ProcessEnd::exit_code`] for the number a shell would put in `$?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcessEnd {
    /// Exited with status 0.
    Success,
    /// Exited with a non-zero status.
    ExitError(NonZeroI64),
    /// Was ended by a signal.
    ExitSignal(Signal),
    /// Was stopped (paused) by the signal with this number.
    ExitStop(NonZeroI32),
    /// Ended by a Windows exception (an NTSTATUS code).
    Exception(NonZeroI32),
    /// Was continued after being stopped.
    Continued,
}

impl ProcessEnd {
    /// The exit code a POSIX shell reports for this end: the status itself for a normal exit,
    /// `128 + n` for a process ended or stopped by signal `n`, the code for an exception, and 0
    /// for success and for a continued process.
    pub fn exit_code(&self) -> i64 {
        match *self {
            Self::Success | Self::Continued => 0,
            Self::ExitError(code) => code.get(),
            Self::ExitSignal(signal) => 128 + i64::from(signal_number(signal)),
            Self::ExitStop(signal) => 128 + i64::from(signal.get()),
            Self::Exception(code) => i64::from(code.get()),
        }
    }

    /// Whether this is [`ProcessEnd::Success`].
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success)
    }

    /// A platform [`ExitStatus`] that converts back to this end (for tests, as in
    /// `watchexec-events`).
    ///
    /// Unlike upstream's, it never panics: on Unix an exit code keeps its low 8 bits (what
    /// `exit(2)` keeps), and an [`Exception`](Self::Exception), which Unix does not have,
    /// becomes the exit code of its low 8 bits.
    #[cfg(unix)]
    pub fn into_exitstatus(self) -> ExitStatus {
        use std::os::unix::process::ExitStatusExt;
        let code = |code: i64| i32::try_from(code & 0xff).unwrap_or_default() << 8;
        ExitStatus::from_raw(match self {
            Self::Success => 0,
            Self::ExitError(value) => code(value.get()),
            Self::Exception(value) => code(value.get().into()),
            Self::ExitSignal(signal) => signal.to_raw() & 0x7f,
            Self::ExitStop(signal) => ((signal.get() & 0xff) << 8) | 0x7f,
            Self::Continued => 0xffff,
        })
    }

    /// A platform [`ExitStatus`] for this end (for tests). Signals, stops and continues,
    /// which Windows does not have, become exit code 1.
    #[cfg(windows)]
    pub fn into_exitstatus(self) -> ExitStatus {
        use std::os::windows::process::ExitStatusExt;
        ExitStatus::from_raw(match self {
            Self::Success => 0,
            Self::ExitError(value) => value.get() as u32,
            Self::Exception(value) => value.get() as u32,
            Self::ExitSignal(_) | Self::ExitStop(_) | Self::Continued => 1,
        })
    }
}

#[cfg(unix)]
fn signal_number(signal: Signal) -> i32 {
    signal.to_raw()
}

#[cfg(not(unix))]
fn signal_number(signal: Signal) -> i32 {
    match signal {
        Signal::Custom(raw) => raw,
        _ => 0,
    }
}

#[cfg(unix)]
impl From<ExitStatus> for ProcessEnd {
    fn from(status: ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        if let Some(code) = status.code() {
            return NonZeroI64::new(code.into()).map_or(Self::Success, Self::ExitError);
        }
        if let Some(raw) = status.signal() {
            return Self::ExitSignal(Signal::from_raw(raw).unwrap_or(Signal::Custom(raw)));
        }
        if let Some(stop) = status.stopped_signal().and_then(NonZeroI32::new) {
            return Self::ExitStop(stop);
        }
        if status.continued() {
            return Self::Continued;
        }
        // A wait status that is none of the above cannot come out of waitpid(2) without
        // WUNTRACED/WCONTINUED oddities; report it as the raw value rather than invent a signal.
        NonZeroI64::new(status.into_raw().into()).map_or(Self::Success, Self::ExitError)
    }
}

#[cfg(windows)]
impl From<ExitStatus> for ProcessEnd {
    fn from(status: ExitStatus) -> Self {
        match status.code().map(NonZeroI32::new) {
            None | Some(None) => Self::Success,
            // NTSTATUS error codes have the top bit set; everything else is a plain exit code.
            Some(Some(code)) if code.get() < 0 => Self::Exception(code),
            Some(Some(code)) => Self::ExitError(code.into()),
        }
    }
}

impl fmt::Display for ProcessEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Success => f.write_str("exited successfully"),
            Self::ExitError(code) => write!(f, "exited with code {code}"),
            Self::ExitSignal(signal) => write!(f, "killed by {signal}"),
            Self::ExitStop(signal) => write!(f, "stopped by signal {signal}"),
            Self::Exception(code) => write!(f, "ended by exception {:#x}", code.get()),
            Self::Continued => f.write_str("continued"),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;

    #[test]
    fn converts_wait_statuses() {
        assert_eq!(
            ProcessEnd::from(ExitStatus::from_raw(0)),
            ProcessEnd::Success
        );
        let three = ProcessEnd::from(ExitStatus::from_raw(3 << 8));
        assert_eq!(
            three,
            ProcessEnd::ExitError(NonZeroI64::new(3).expect("3 is not 0"))
        );
        let killed = ProcessEnd::from(ExitStatus::from_raw(Signal::ForceStop.to_raw()));
        assert_eq!(killed, ProcessEnd::ExitSignal(Signal::ForceStop));
        let stopped = ProcessEnd::from(ExitStatus::from_raw((19 << 8) | 0x7f));
        assert_eq!(
            stopped,
            ProcessEnd::ExitStop(NonZeroI32::new(19).expect("19 is not 0"))
        );
        assert_eq!(
            ProcessEnd::from(ExitStatus::from_raw(0xffff)),
            ProcessEnd::Continued
        );
    }

    #[test]
    fn exit_statuses_round_trip() {
        let ends = [
            ProcessEnd::Success,
            ProcessEnd::ExitError(NonZeroI64::new(3).expect("3 is not 0")),
            ProcessEnd::ExitError(NonZeroI64::new(255).expect("255 is not 0")),
            ProcessEnd::ExitSignal(Signal::Terminate),
            ProcessEnd::ExitSignal(Signal::ForceStop),
            ProcessEnd::ExitStop(NonZeroI32::new(19).expect("19 is not 0")),
            ProcessEnd::Continued,
        ];
        for end in ends {
            assert_eq!(ProcessEnd::from(end.into_exitstatus()), end, "{end:?}");
        }
        // Out of range: what the kernel would keep, not a panic.
        let big = ProcessEnd::ExitError(NonZeroI64::new(256 + 7).expect("not 0"));
        assert_eq!(big.into_exitstatus().code(), Some(7));
        let exception = ProcessEnd::Exception(NonZeroI32::new(-1).expect("not 0"));
        assert_eq!(exception.into_exitstatus().code(), Some(255));
    }

    #[test]
    fn exit_codes_follow_the_shell() {
        assert_eq!(ProcessEnd::Success.exit_code(), 0);
        let seven = ProcessEnd::ExitError(NonZeroI64::new(7).expect("7 is not 0"));
        assert_eq!(seven.exit_code(), 7);
        assert_eq!(ProcessEnd::ExitSignal(Signal::Terminate).exit_code(), 143);
        assert_eq!(ProcessEnd::ExitSignal(Signal::ForceStop).exit_code(), 137);
        assert_eq!(ProcessEnd::ExitSignal(Signal::Interrupt).exit_code(), 130);
    }
}
