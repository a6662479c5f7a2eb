//! The child's side of a vfork-style spawn: what it runs between `clone` and `execve`, and the
//! [`ChildPlan`] the parent prepares for it.
//!
//! The child shares the parent's memory (`CLONE_VM`) and runs on its own stack while the
//! parent's thread is suspended (`CLONE_VFORK`) until the child has called `execve` or
//! `_exit`. So it may only read what the parent prepared, write the one `error` field the
//! parent reads afterwards, and make async-signal-safe calls: no allocation, no lock, no
//! unwinding. Each step is one direct system call through its libc wrapper (bound when the
//! binary was loaded: Rust links with full RELRO, `-z now`, so no lazy binding runs here).

use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use nix::libc;

/// How the child's process group is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NewGroup {
    /// Stays in the parent's group.
    No,
    /// `setpgid(0, 0)`: leader of a new group.
    Group,
    /// `setsid()`: leader of a new session (and group).
    Session,
}

/// Everything the child needs, as raw pointers into memory the parent owns and does not touch
/// until `clone` has returned.
#[repr(C)]
pub(super) struct ChildPlan {
    /// The path `execve` runs.
    pub(super) program: *const c_char,
    /// `argv`, null-terminated.
    pub(super) argv: *const *const c_char,
    /// `envp`, null-terminated.
    pub(super) envp: *const *const c_char,
    /// The working directory to change to; null to stay.
    pub(super) cwd: *const c_char,
    /// With `CLONE_FILES`: the first descriptor the child does not keep when it unshares the
    /// table it shares with the parent (see `slots.rs`); -1 without.
    pub(super) unshare_from: c_int,
    /// The descriptors that become 0, 1 and 2; each is above 2 (and below `unshare_from`).
    pub(super) stdio: [c_int; 3],
    pub(super) group: NewGroup,
    /// A `cgroup.procs` open for writing, joined before `exec`; -1 for none.
    pub(super) cgroup_procs: c_int,
    /// The signal mask the program starts with.
    pub(super) mask: libc::sigset_t,
    /// The `errno` of the step that failed, written by the child; 0 when it reached `execve`
    /// and `execve` succeeded.
    pub(super) error: c_int,
    /// Set by the child when the unshare itself failed (a kernel before 5.9): the child
    /// touched no descriptor, and the parent can spawn again without `CLONE_FILES`.
    pub(super) unshare_failed: bool,
}

/// The child's entry point, called by `clone` on the child's stack. Never returns: it either
/// becomes the program or records its error and exits with 127.
pub(super) extern "C" fn child_main(plan: *mut c_void) -> c_int {
    let plan = plan.cast::<ChildPlan>();
    #[allow(unsafe_code)]
    // SAFETY: `plan` is the `ChildPlan` the parent passed to `clone`; the parent's thread is
    // suspended until this child execs or exits, so nothing else reads or writes it meanwhile.
    // Reading it through a shared reference and writing `error` through the raw pointer
    // afterwards does not overlap: the reference is not used after `become_program` returns.
    unsafe {
        let (error, unshare_failed) = match unshare((*plan).unshare_from) {
            Err(error) => (error, true),
            Ok(()) => (become_program(&*plan), false),
        };
        ptr::write_volatile(&raw mut (*plan).unshare_failed, unshare_failed);
        ptr::write_volatile(&raw mut (*plan).error, error);
        libc::_exit(127)
    }
}

/// Gives the child a table of its own holding only the descriptors below `from` (nothing
/// above is copied, and so nothing above has to be closed again by `execve`). Before this,
/// the child shares the parent's table, so it must not change a descriptor.
fn unshare(from: c_int) -> Result<(), c_int> {
    let Ok(first) = libc::c_uint::try_from(from) else {
        return Ok(());
    };
    #[allow(unsafe_code)]
    // SAFETY: `close_range(2)` by number: no pointer; it changes only the child's new table.
    let done = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_UNSHARE,
        )
    };
    if done == 0 { Ok(()) } else { Err(last_errno()) }
}

/// Runs the steps and `execve`; returns only on failure, with the `errno`.
#[allow(unsafe_code)]
unsafe fn become_program(plan: &ChildPlan) -> c_int {
    // SAFETY (for every call below): each is a libc wrapper around one system call, on values
    // the parent prepared (valid, null-terminated strings and arrays; open descriptors), with
    // results checked; none allocates or takes a lock. See the module docs.
    unsafe {
        default_signal_handlers();
        let grouped = match plan.group {
            NewGroup::No => 0,
            NewGroup::Group => libc::setpgid(0, 0),
            NewGroup::Session => libc::setsid().min(0),
        };
        if grouped < 0 {
            return last_errno();
        }
        if plan.cgroup_procs >= 0 && libc::write(plan.cgroup_procs, b"0".as_ptr().cast(), 1) != 1 {
            return last_errno();
        }
        for (target, &source) in (0..).zip(plan.stdio.iter()) {
            // The sources are above 2 (the parent sees to it), so no `dup2` here overwrites a
            // source a later one reads; the new descriptor is not close-on-exec.
            if libc::dup2(source, target) < 0 {
                return last_errno();
            }
        }
        // The program gets 0, 1 and 2 only: not the descriptors procmux inherited without
        // close-on-exec either. Without `close_range` (Linux before 5.9), close-on-exec ones
        // still close at `execve`.
        libc::syscall(libc::SYS_close_range, 3, libc::c_uint::MAX, 0);
        if !plan.cwd.is_null() && libc::chdir(plan.cwd) != 0 {
            return last_errno();
        }
        if libc::sigprocmask(libc::SIG_SETMASK, &plan.mask, ptr::null_mut()) != 0 {
            return last_errno();
        }
        libc::execve(plan.program, plan.argv, plan.envp);
        last_errno()
    }
}

/// Puts back the default action of every signal that has a handler (a handler is code of the
/// parent's, in memory the child shares), and of SIGPIPE, which Rust programs ignore and std
/// restores for its children too. Ignored signals stay ignored, as across any `exec`.
#[allow(unsafe_code)]
unsafe fn default_signal_handlers() {
    // SAFETY: `sigaction` with a zeroed struct (a valid "SIG_DFL, no flags, empty mask") or a
    // null one; failures (SIGKILL, SIGSTOP, the numbers glibc reserves) are skipped.
    unsafe {
        for signal in 1..=64 {
            if signal == libc::SIGKILL || signal == libc::SIGSTOP {
                continue;
            }
            let mut current: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, ptr::null(), &mut current) != 0 {
                continue;
            }
            let handler = current.sa_sigaction;
            let reset = if handler == libc::SIG_IGN {
                signal == libc::SIGPIPE
            } else {
                handler != libc::SIG_DFL
            };
            if reset {
                let default: libc::sigaction = std::mem::zeroed();
                libc::sigaction(signal, &default, ptr::null_mut());
            }
        }
    }
}

/// The calling thread's `errno` (the parent's thread's, which the child shares: harmless, the
/// parent reads its error from the plan).
fn last_errno() -> c_int {
    match nix::errno::Errno::last_raw() {
        0 => libc::EIO,
        errno => errno,
    }
}
