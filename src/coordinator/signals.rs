//! The signals procmux reacts to, as one stream of [`Incoming`] signals, and the ones it
//! deliberately ignores.
//!
//! - SIGINT, SIGTERM, SIGHUP and SIGQUIT ask procmux to stop (a second one of any of them
//!   kills at once: the fleet decides).
//! - SIGTSTP (Ctrl-Z) and SIGCONT (`fg`): procmux stops every child's process group, then
//!   itself, and continues them all when continued. Children run in their own groups, so the
//!   terminal's Ctrl-Z reaches only procmux.
//! - Every other signal whose default would end procmux (SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM,
//!   SIGPROF, SIGIO, SIGPWR, SIGSTKFLT, SIGXCPU, SIGXFSZ, the real-time signals) is caught and
//!   dropped, not forwarded: most programs die of a USR1 they did not expect. A handler rather
//!   than `SIG_IGN`, because an ignored signal stays ignored in every child across `exec`,
//!   while a handler is reset there. Faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE), SIGABRT,
//!   SIGTRAP and SIGSYS keep their defaults.

use std::io;

use tokio::signal::unix::{Signal as Listener, SignalKind, signal};

use crate::supervisor::Signal;

/// A signal the runner acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// Stop everything (INT, TERM, HUP, QUIT).
    Stop(Signal),
    /// Ctrl-Z: stop the children's groups, then procmux.
    Suspend,
    /// procmux was continued: continue the children.
    Resume,
}

/// Listens for the signals procmux acts on, and swallows the ones it ignores.
pub struct Signals {
    interrupt: Listener,
    terminate: Listener,
    hangup: Listener,
    quit: Listener,
    suspend: Listener,
    resume: Listener,
    /// Kept alive, never read: being registered is what keeps these from ending procmux.
    _ignored: Vec<Listener>,
}

/// The signals caught only so that they do not end procmux.
fn ignored() -> Vec<i32> {
    use nix::libc;
    let mut numbers = vec![
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGIO,
        libc::SIGPWR,
        libc::SIGXCPU,
        libc::SIGXFSZ,
    ];
    #[cfg(any(target_os = "linux", target_os = "android"))]
    numbers.push(libc::SIGSTKFLT);
    #[cfg(target_os = "linux")]
    numbers.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    numbers
}

impl Signals {
    /// Installs the handlers. From here on these signals no longer stop or kill procmux: they
    /// arrive through [`Signals::recv`], or nowhere.
    pub fn install() -> io::Result<Self> {
        let mut ignored_listeners = Vec::new();
        for number in ignored() {
            // A real-time signal the platform reserves cannot be registered; it is not ours.
            if let Ok(listener) = signal(SignalKind::from_raw(number)) {
                ignored_listeners.push(listener);
            }
        }
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
            quit: signal(SignalKind::quit())?,
            suspend: signal(SignalKind::from_raw(nix::libc::SIGTSTP))?,
            resume: signal(SignalKind::from_raw(nix::libc::SIGCONT))?,
            _ignored: ignored_listeners,
        })
    }

    /// The next signal to act on.
    pub async fn recv(&mut self) -> Incoming {
        tokio::select! {
            _ = self.interrupt.recv() => Incoming::Stop(Signal::Interrupt),
            _ = self.terminate.recv() => Incoming::Stop(Signal::Terminate),
            _ = self.hangup.recv() => Incoming::Stop(Signal::Hangup),
            _ = self.quit.recv() => Incoming::Stop(Signal::Quit),
            _ = self.suspend.recv() => Incoming::Suspend,
            _ = self.resume.recv() => Incoming::Resume,
        }
    }
}
