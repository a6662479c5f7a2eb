//! Joining a cgroup between `fork` and `exec`, so that not one instruction of the command
//! runs outside its cgroup (a child that forks at once cannot leave a grandchild behind in
//! procmux's own cgroup).
//!
//! This is how std's spawn joins (the vfork spawn, `supervisor::vfork`, has its own child
//! code): the only hook that runs in the child after `fork` and before `exec` is `pre_exec`,
//! hence the `unsafe`. The parent opens the cgroup's `cgroup.procs` for writing; the child
//! writes `0` ("this process") to that descriptor.

use std::fs::File;
use std::io::{self, Write};
use std::process::Command;
use std::sync::Arc;

/// What the child does once it has joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterJoin {
    /// Go on to `exec` the command.
    Exec,
    /// Fail the spawn with `ECANCELED` instead of running anything: the probe procmux runs at
    /// start to learn whether it can move processes at all.
    Cancel,
}

/// The error the probe's child fails with when it joined; any other error is the reason it
/// could not.
pub(crate) const JOINED: i32 = nix::libc::ECANCELED;

/// Makes the command's child move itself into the cgroup whose `cgroup.procs` is `procs`
/// before it runs anything.
pub(crate) fn join_before_exec(command: &mut Command, procs: Arc<File>, after: AfterJoin) {
    use std::os::unix::process::CommandExt;

    #[allow(unsafe_code)]
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
    // calls are allowed. It writes one byte through `<&File as Write>::write_all`: write(2),
    // retried on EINTR, a direct system call. No allocation (errors are `io::Error`'s
    // heap-free OS-error or constant forms, as is `from_raw_os_error`), no locks, nothing
    // another thread of the parent could have held at fork time. The `Arc<File>` is only borrowed, never
    // cloned or dropped, in the child, so its reference count (shared memory before the fork,
    // a private copy after) is not touched. The descriptor is close-on-exec, so the program
    // does not inherit it.
    unsafe {
        command.pre_exec(move || {
            (&*procs).write_all(b"0")?;
            match after {
                AfterJoin::Exec => Ok(()),
                AfterJoin::Cancel => Err(io::Error::from_raw_os_error(JOINED)),
            }
        });
    }
}
