//! Descriptors procmux inherited without close-on-exec (a pipe of the shell or tool that
//! started it, say): marked close-on-exec at the start of `run`, so that no process of the
//! stack holds one.
//!
//! Decision: the processes of a stack start with stdin, stdout and stderr only, as under
//! foreman (Ruby's spawn) and honcho (Python's `close_fds`). A stray inherited pipe held by a
//! long-running child keeps whoever reads its other end waiting for an end that never comes.
//! The vfork spawn used under cgroup tracking closes everything above 2 in the child; this
//! makes the spawns that go through std (process-group tracking, the watchdog, `exec`
//! readiness checks) agree. `procmux exec` does not do it: it runs one command as if typed.

use nix::libc;

/// Marks every descriptor above 2 close-on-exec (`close_range` with `CLOSE_RANGE_CLOEXEC`,
/// Linux 5.11). On older kernels nothing changes and the inherited descriptors are passed on,
/// as they were before.
pub fn close_on_exec_above_stdio() {
    #[allow(unsafe_code)]
    // SAFETY: a system call by numbers alone; it changes only descriptor flags.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
}
