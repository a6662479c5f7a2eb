//! [`Signal`]: the signals a job can send, with conversions to and from platform numbers and
//! names.
//!
//! Names parse the way people write them in manifests and on command lines: `TERM`,
//! `SIGTERM`, `term`, `sigterm` and `15` are all [`Signal::Terminate`]. The conversions of
//! `watchexec-signals` are here too ([`Signal::to_nix`], [`Signal::from_nix`],
//! [`Signal::from_unix_str`], [`Signal::from_windows_str`], `From<i32>`), so code written
//! against it ports unchanged.

use std::fmt;
use std::str::FromStr;

/// A signal to send to a supervised process.
///
/// The named variants cover what process managers use day to day; any other platform signal
/// is [`Signal::Custom`] with its raw number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// `SIGHUP`: the terminal went away; many daemons reload their configuration on it.
    Hangup,
    /// `SIGKILL`: ends the process at once; it cannot be caught.
    ForceStop,
    /// `SIGINT`: what Ctrl-C sends.
    Interrupt,
    /// `SIGQUIT`: quit, often with a core dump.
    Quit,
    /// `SIGTERM`: the polite request to end, and the default stop signal.
    Terminate,
    /// `SIGUSR1`: user-defined.
    User1,
    /// `SIGUSR2`: user-defined.
    User2,
    /// `SIGCONT`: continue a stopped process.
    Continue,
    /// `SIGSTOP`: stop (pause) the process; it cannot be caught.
    Suspend,
    /// `SIGTSTP`: what Ctrl-Z sends.
    TerminalSuspend,
    /// Any other signal, by its platform number.
    Custom(i32),
}

/// A signal name or number that this platform does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signal {input:?} (expected a name such as TERM, SIGINT or KILL, or a number)")]
pub struct UnknownSignal {
    /// What was given, as written.
    pub input: String,
}

impl Signal {
    /// The platform signal number.
    #[cfg(unix)]
    pub fn to_raw(self) -> i32 {
        use nix::sys::signal::Signal as Nix;
        match self {
            Self::Hangup => Nix::SIGHUP as i32,
            Self::ForceStop => Nix::SIGKILL as i32,
            Self::Interrupt => Nix::SIGINT as i32,
            Self::Quit => Nix::SIGQUIT as i32,
            Self::Terminate => Nix::SIGTERM as i32,
            Self::User1 => Nix::SIGUSR1 as i32,
            Self::User2 => Nix::SIGUSR2 as i32,
            Self::Continue => Nix::SIGCONT as i32,
            Self::Suspend => Nix::SIGSTOP as i32,
            Self::TerminalSuspend => Nix::SIGTSTP as i32,
            Self::Custom(raw) => raw,
        }
    }

    /// The signal for a platform number: a named variant when there is one, else
    /// [`Signal::Custom`]. Numbers that are no signal on this platform give `None`.
    #[cfg(unix)]
    pub fn from_raw(raw: i32) -> Option<Self> {
        use nix::sys::signal::Signal as Nix;
        let nix = Nix::try_from(raw).ok()?;
        Some(match nix {
            Nix::SIGHUP => Self::Hangup,
            Nix::SIGKILL => Self::ForceStop,
            Nix::SIGINT => Self::Interrupt,
            Nix::SIGQUIT => Self::Quit,
            Nix::SIGTERM => Self::Terminate,
            Nix::SIGUSR1 => Self::User1,
            Nix::SIGUSR2 => Self::User2,
            Nix::SIGCONT => Self::Continue,
            Nix::SIGSTOP => Self::Suspend,
            Nix::SIGTSTP => Self::TerminalSuspend,
            _ => Self::Custom(raw),
        })
    }

    /// The [`nix`] signal, if this platform has it (always, but for a [`Signal::Custom`] number
    /// it does not know).
    #[cfg(unix)]
    pub fn to_nix(self) -> Option<nix::sys::signal::Signal> {
        nix::sys::signal::Signal::try_from(self.to_raw()).ok()
    }

    /// The signal for a [`nix`] signal: a named variant when there is one, else
    /// [`Signal::Custom`].
    #[cfg(unix)]
    pub fn from_nix(signal: nix::sys::signal::Signal) -> Self {
        Self::from_raw(signal as i32).unwrap_or(Self::Custom(signal as i32))
    }

    /// Parses a Unix signal name or number, in any case, with or without `SIG`: `hup`,
    /// `SIGINT`, `Kill`, `15`. The same as [`FromStr`].
    pub fn from_unix_str(input: &str) -> Result<Self, UnknownSignal> {
        input.parse()
    }

    /// Parses a Windows control event name, in any case, mapped to its Unix counterpart as
    /// `watchexec-signals` does: `CTRL-CLOSE`, `CTRL+CLOSE` or `CLOSE` is
    /// [`Hangup`](Signal::Hangup); `CTRL-BREAK`, `CTRL+BREAK` or `BREAK` is
    /// [`Terminate`](Signal::Terminate); `CTRL-C`, `CTRL+C` or `C` is
    /// [`Interrupt`](Signal::Interrupt); `STOP`, `FORCE-STOP`, `KILL` or `SIGKILL` is
    /// [`ForceStop`](Signal::ForceStop).
    pub fn from_windows_str(input: &str) -> Result<Self, UnknownSignal> {
        match input.trim().to_ascii_uppercase().as_str() {
            "CTRL-CLOSE" | "CTRL+CLOSE" | "CLOSE" => Ok(Self::Hangup),
            "CTRL-BREAK" | "CTRL+BREAK" | "BREAK" => Ok(Self::Terminate),
            "CTRL-C" | "CTRL+C" | "C" => Ok(Self::Interrupt),
            "KILL" | "SIGKILL" | "FORCE-STOP" | "STOP" => Ok(Self::ForceStop),
            _ => Err(UnknownSignal {
                input: input.to_owned(),
            }),
        }
    }

    /// The conventional name without the `SIG` prefix (`TERM`, `INT`, `KILL`), or the number
    /// for a custom signal this platform cannot name.
    pub fn name(self) -> String {
        match self {
            Self::Hangup => "HUP".into(),
            Self::ForceStop => "KILL".into(),
            Self::Interrupt => "INT".into(),
            Self::Quit => "QUIT".into(),
            Self::Terminate => "TERM".into(),
            Self::User1 => "USR1".into(),
            Self::User2 => "USR2".into(),
            Self::Continue => "CONT".into(),
            Self::Suspend => "STOP".into(),
            Self::TerminalSuspend => "TSTP".into(),
            Self::Custom(raw) => custom_name(raw),
        }
    }
}

/// From a raw signal number: the named variant when there is one, else
/// [`Signal::Custom`] (also for numbers that are no signal here). Off Unix, Linux's numbers
/// are used as a portable approximation.
impl From<i32> for Signal {
    fn from(raw: i32) -> Self {
        #[cfg(unix)]
        return Self::from_raw(raw).unwrap_or(Self::Custom(raw));
        #[cfg(not(unix))]
        match raw {
            1 => Self::Hangup,
            2 => Self::Interrupt,
            3 => Self::Quit,
            9 => Self::ForceStop,
            10 => Self::User1,
            12 => Self::User2,
            15 => Self::Terminate,
            18 => Self::Continue,
            19 => Self::Suspend,
            20 => Self::TerminalSuspend,
            _ => Self::Custom(raw),
        }
    }
}

#[cfg(unix)]
fn custom_name(raw: i32) -> String {
    match nix::sys::signal::Signal::try_from(raw) {
        // nix names signals "SIGWINCH"; we print them the way `kill -l` does.
        Ok(nix) => nix.as_str().trim_start_matches("SIG").to_owned(),
        Err(_) => raw.to_string(),
    }
}

#[cfg(not(unix))]
fn custom_name(raw: i32) -> String {
    raw.to_string()
}

/// `SIGTERM` prints as `SIGTERM`; a signal with no name prints as its number.
impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        if name.bytes().all(|b| b.is_ascii_digit()) {
            f.write_str(&name)
        } else {
            write!(f, "SIG{name}")
        }
    }
}

impl FromStr for Signal {
    type Err = UnknownSignal;

    /// Parses `TERM`, `SIGTERM`, `term`, `sigterm` or `15` (any case, surrounding spaces
    /// ignored).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownSignal {
            input: input.to_owned(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(unknown());
        }
        if trimmed.bytes().all(|b| b.is_ascii_digit()) {
            let raw: i32 = trimmed.parse().map_err(|_| unknown())?;
            return signal_from_number(raw).ok_or_else(unknown);
        }
        let upper = trimmed.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        signal_from_name(bare).ok_or_else(unknown)
    }
}

#[cfg(unix)]
fn signal_from_number(raw: i32) -> Option<Signal> {
    Signal::from_raw(raw)
}

#[cfg(not(unix))]
fn signal_from_number(raw: i32) -> Option<Signal> {
    (raw > 0).then_some(Signal::Custom(raw))
}

#[cfg(unix)]
fn signal_from_name(bare: &str) -> Option<Signal> {
    let full = format!("SIG{bare}");
    let nix: nix::sys::signal::Signal = full.parse().ok()?;
    Signal::from_raw(nix as i32)
}

#[cfg(not(unix))]
fn signal_from_name(bare: &str) -> Option<Signal> {
    Some(match bare {
        "HUP" => Signal::Hangup,
        "KILL" => Signal::ForceStop,
        "INT" => Signal::Interrupt,
        "QUIT" => Signal::Quit,
        "TERM" => Signal::Terminate,
        "USR1" => Signal::User1,
        "USR2" => Signal::User2,
        _ => return None,
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn parses_names_numbers_and_prefixes_in_any_case() {
        for text in ["TERM", "SIGTERM", "term", "sigterm", "15", " Term "] {
            assert_eq!(text.parse::<Signal>(), Ok(Signal::Terminate), "{text}");
        }
        assert_eq!("INT".parse::<Signal>(), Ok(Signal::Interrupt));
        assert_eq!("kill".parse::<Signal>(), Ok(Signal::ForceStop));
        assert_eq!("9".parse::<Signal>(), Ok(Signal::ForceStop));
        assert_eq!("usr2".parse::<Signal>(), Ok(Signal::User2));
        assert_eq!(
            "WINCH".parse::<Signal>(),
            Ok(Signal::Custom(nix::sys::signal::Signal::SIGWINCH as i32))
        );
    }

    #[test]
    fn rejects_unknown_names_and_numbers() {
        for text in [
            "",
            "TERMINATE",
            "SIG",
            "0",
            "999",
            "-15",
            "1.5",
            "SIGSIGTERM",
        ] {
            assert!(text.parse::<Signal>().is_err(), "{text:?} should not parse");
        }
    }

    #[test]
    fn raw_numbers_round_trip() {
        for raw in 1..32 {
            if let Some(signal) = Signal::from_raw(raw) {
                assert_eq!(signal.to_raw(), raw);
                assert_eq!(signal.name().parse::<Signal>(), Ok(signal));
            }
        }
    }

    #[test]
    fn converts_like_watchexec_signals() {
        use nix::sys::signal::Signal as Nix;
        for (nix, signal) in [
            (Nix::SIGCONT, Signal::Continue),
            (Nix::SIGSTOP, Signal::Suspend),
            (Nix::SIGTSTP, Signal::TerminalSuspend),
            (Nix::SIGKILL, Signal::ForceStop),
        ] {
            assert_eq!(signal.to_nix(), Some(nix));
            assert_eq!(Signal::from_nix(nix), signal);
            assert_eq!(Signal::from(nix as i32), signal);
        }
        assert_eq!(
            Signal::from_nix(Nix::SIGABRT),
            Signal::Custom(Nix::SIGABRT as i32)
        );
        assert_eq!(Signal::from(6), Signal::Custom(6));
        assert_eq!(Signal::from(9999), Signal::Custom(9999));
        assert_eq!(Signal::Custom(9999).to_nix(), None);
        assert_eq!(Signal::from_unix_str("hup"), Ok(Signal::Hangup));
        assert_eq!(Signal::from_unix_str("Kill"), Ok(Signal::ForceStop));
        assert_eq!(Signal::from_windows_str("ctrl+close"), Ok(Signal::Hangup));
        assert_eq!(
            Signal::from_windows_str("CTRL-BREAK"),
            Ok(Signal::Terminate)
        );
        assert_eq!(Signal::from_windows_str("C"), Ok(Signal::Interrupt));
        assert_eq!(Signal::from_windows_str("Stop"), Ok(Signal::ForceStop));
        assert!(Signal::from_windows_str("TERM").is_err());
    }

    #[test]
    fn displays_with_sig_prefix() {
        assert_eq!(Signal::Terminate.to_string(), "SIGTERM");
        assert_eq!(Signal::ForceStop.to_string(), "SIGKILL");
        assert_eq!(Signal::Custom(10_000).to_string(), "10000");
    }
}
