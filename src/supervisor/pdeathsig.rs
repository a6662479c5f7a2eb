//! The parent-death signal (Linux `PR_SET_PDEATHSIG`), as a `process-wrap` command wrapper so
//! it composes with the group and session wrappers.
//!
//! One of the two places in the supervisor that need `unsafe` (the other is the cgroup join,
//! `tracking/join.rs`): setting it must happen in the child between `fork` and `exec`, which
//! only `pre_exec` offers.

use std::io;

use nix::sys::signal::Signal as NixSignal;
use nix::unistd::{Pid, getppid};
use process_wrap::tokio::{CommandWrap, CommandWrapper};
use tokio::process::Command;

use super::Signal;

/// Asks the kernel to send this signal to the child when the thread that spawned it exits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParentDeathSignal(pub(crate) Signal);

impl CommandWrapper for ParentDeathSignal {
    fn pre_spawn(&mut self, command: &mut Command, _core: &CommandWrap) -> io::Result<()> {
        let signal = NixSignal::try_from(self.0.to_raw()).map_err(io::Error::from)?;
        // Read in the parent: after the fork, getppid() in the child must still say this.
        let parent = Pid::this();
        #[allow(unsafe_code)]
        // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
        // calls are allowed. It calls prctl(2), getppid(2) and kill(2) through nix, which are
        // plain system calls: no allocation, no locks, no access to state another thread of the
        // parent could have been holding at fork time. `signal` and `parent` are Copy values
        // moved in, so nothing is shared with the parent.
        unsafe {
            command.pre_exec(move || {
                nix::sys::prctl::set_pdeathsig(signal)?;
                // The parent may have died between fork and prctl, in which case the kernel
                // will never send the signal: send it ourselves, as it would have.
                if getppid() != parent {
                    nix::sys::signal::raise(signal)?;
                }
                Ok(())
            });
        }
        Ok(())
    }
}
