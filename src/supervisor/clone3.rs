//! `clone3(2)` with `CLONE_INTO_CGROUP`: a child born in its run's cgroup, so that it does not
//! join it by writing to `cgroup.procs`; used by the vfork spawn and by the start-up probe of
//! cgroup tracking.
//!
//! # Why
//!
//! A write to `cgroup.procs` migrates the writer, and a migration takes the kernel's
//! cgroup-wide threadgroup lock for writing, which first waits for an RCU grace period when
//! no migration happened recently. A C loop measured it here: a join after a pause took 5.8
//! to 6.9 ms, a child cloned into the cgroup 0.5 ms. So the first start after any pause (the
//! first of a fleet, a restart, a reload) lost several milliseconds, and procmux's start-up
//! probe (which joins once) lost 6 to 22.
//!
//! # How
//!
//! glibc 2.36 exports no `clone3`, and the raw system call returns in the child on the new
//! stack, where no Rust frame exists to return to. So the call is made in inline assembly
//! that, in the child, calls the child's entry point at once on that stack (never returning),
//! as glibc's own `clone` does. x86_64 only; elsewhere, and on kernels without `clone3` or
//! `CLONE_INTO_CGROUP` (before 5.7), the child joins by writing.

use std::ffi::{c_int, c_long, c_void};
use std::os::fd::RawFd;

/// `CLONE_INTO_CGROUP` (Linux 5.7): the child starts in the cgroup `cgroup` names.
pub(crate) const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` up to `cgroup` (`CLONE_ARGS_SIZE_VER2`).
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct CloneArgs {
    pub(crate) flags: u64,
    pub(crate) pidfd: u64,
    pub(crate) child_tid: u64,
    pub(crate) parent_tid: u64,
    pub(crate) exit_signal: u64,
    pub(crate) stack: u64,
    pub(crate) stack_size: u64,
    pub(crate) tls: u64,
    pub(crate) set_tid: u64,
    pub(crate) set_tid_size: u64,
    pub(crate) cgroup: u64,
}

impl CloneArgs {
    /// The arguments for a child on `[stack, stack + size)`, born in the cgroup directory
    /// `cgroup` (an open descriptor), with these `flags` besides.
    pub(crate) fn into_cgroup(flags: u64, stack: *mut c_void, size: usize, cgroup: RawFd) -> Self {
        Self {
            flags: flags | CLONE_INTO_CGROUP,
            exit_signal: nix::libc::SIGCHLD as u64,
            stack: stack as u64,
            stack_size: size as u64,
            cgroup: u64::try_from(cgroup).unwrap_or(u64::MAX),
            ..Self::default()
        }
    }
}

/// Whether `errno` from `clone3` means the kernel lacks it or `CLONE_INTO_CGROUP` (as opposed
/// to a failure of this spawn).
pub(crate) fn unsupported(errno: c_int) -> bool {
    matches!(
        errno,
        nix::libc::ENOSYS | nix::libc::E2BIG | nix::libc::EINVAL
    )
}

/// `clone3(args)`; in the child, `entry(arg)` on the child's stack. Returns the child's pid
/// to the parent, or `-errno`.
///
/// # Safety
///
/// `args` must give a stack the child may use alone, and `entry` must never return and be
/// safe to run in a child that shares whatever the flags share (see `vfork/child.rs`).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(crate) unsafe fn clone3(
    args: &mut CloneArgs,
    entry: extern "C" fn(*mut c_void) -> c_int,
    arg: *mut c_void,
) -> c_long {
    let result: c_long;
    // SAFETY: the caller's contract. The system call clobbers rcx and r11 only; in the
    // parent (rax != 0) nothing else happens. In the child (rax == 0) the stack pointer is
    // the top of the new stack, 16-byte aligned as a `call` needs, and r12 and r13 hold the
    // argument and the entry point (registers are copied to the child); `entry` never
    // returns, and `ud2` traps should it.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov rdi, r12",
            "call r13",
            "ud2",
            "2:",
            inlateout("rax") nix::libc::SYS_clone3 => result,
            in("rdi") std::ptr::from_mut(args),
            in("rsi") std::mem::size_of::<CloneArgs>(),
            in("r12") arg,
            in("r13") entry,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    result
}
