//! A vfork-style spawn that puts the child in its run's cgroup before `exec`: what a job
//! spawns with when its spawn hook declared the child's setup ([`ChildSetup`]), under either
//! tracking.
//!
//! # Why not std's spawn
//!
//! Joining the run's cgroup must happen between `fork` and `exec` (not one instruction of
//! the command may run outside it), and std runs code there only through `pre_exec`, which
//! makes it `fork` instead of `posix_spawn`'s `vfork`-style clone. A fork copies procmux's
//! page tables and every page either side writes afterwards, and on a two-core machine that
//! was most of a start. And even `posix_spawn` gives the child a copy of every descriptor
//! procmux holds, which `execve` then closes one by one: three per instance, so about 1,500
//! per spawn in a fleet of 1000.
//!
//! Measured with `benches/compare.sh --workloads fleet,fleet1000 --tools procmux,sh`
//! (same-run ratios to bare `sh &`, `--runs 15` for 100 and 5 for 1000;
//! `PROCMUX_TRACKING=group` for the second tracking). The last column adds `run`'s sizing of
//! the descriptor table before the first spawn (`cli::open_files`) and the environment read
//! once ([`inherited_environment`]), over several sets of runs:
//!
//! | | std's spawn | this spawn | and the table sized |
//! | --- | --- | --- | --- |
//! | cgroup: procmux's CPU per spawn (1000) | 0.78 ms | 0.18 ms | 0.18 to 0.23 ms |
//! | cgroup: 1000 started | 2.4x `sh &` | 1.47x to 1.59x | 1.22x to 1.42x |
//! | cgroup: 100 started | 2.2x | 1.82x | 1.30x to 1.38x |
//! | group: procmux's CPU per spawn (1000) | 0.20 ms | 0.12 ms | 0.11 to 0.16 ms |
//! | group: 1000 started | 1.48x | 1.28x to 1.49x | 1.13x to 1.42x |
//! | group: 100 started | 1.54x | 1.41x | 1.19x to 1.30x |
//!
//! (The machine ran slower during some of the last column's runs: bare `sh &` took up to
//! 0.67 s for 1000 instead of 0.44 to 0.53 s, which is also why its CPU figures spread.)
//!
//! # What a cgroup per run costs at the start
//!
//! `benches/spawn_floor.c` is the same loop in C (fork-style `clone3`, `setpgid`, `execve`),
//! with or without a cgroup per child made as procmux makes one (`mkdirat`, two `openat`s,
//! `CLONE_INTO_CGROUP`): 100 `sleep`s took 44 to 55 ms until all had exec'd without cgroups
//! and 47 to 58 ms with them, 1000 took 389 to 411 ms and 482 ms. The `mkdir` of a cgroup
//! and a clone into a new one both hold the kernel's one cgroup mutex, so two spawning
//! threads wait for each other there (opening a new cgroup's files took 25 µs a run on one
//! thread, 90 µs on two). Tried and dropped, as no better than run-to-run noise: making the
//! cgroups ahead of the spawns on a thread of their own, a lock of procmux's around their
//! making, more starts in flight (3, 4, 6 or 8), a pool of exactly two spawning threads kept
//! busy from a queue instead of tokio's blocking pool, and a shorter scheduler slice for
//! procmux's threads. What did help was the descriptor table above: its doublings, each
//! waiting for an RCU grace period, were the idle gaps of a start.
//!
//! Options tried and dropped: an exec'd helper that joins and then execs the command (the
//! extra exec costs as much as the fork it saves); `clone3(CLONE_INTO_CGROUP)` without
//! `CLONE_VM` (still a fork); glibc's `posix_spawnattr_setcgroup_np` (glibc 2.39; Debian 12 has
//! 2.36).
//!
//! # How
//!
//! What `posix_spawn` does, plus the cgroup: the parent prepares every string, array and
//! descriptor ([`child::ChildPlan`]), blocks all signals on its thread (a signal handler must
//! not run in a child that shares the parent's memory), and clones with `CLONE_VM |
//! CLONE_VFORK | CLONE_FILES` on a stack of its own ([`stack`]): on x86_64 with `clone3` and
//! `CLONE_INTO_CGROUP`, so that the child is born in its cgroup (see `supervisor::clone3` for
//! why that beats joining), elsewhere with glibc's `clone`, the child then joining by a write
//! to `cgroup.procs`. The child first takes a table of its own holding only the few
//! descriptors below the reserved slots its stdio and `cgroup.procs` were copied into
//! ([`slots`]); then it resets the handlers to their defaults, makes its group, joins the
//! cgroup if it was not born there, sets up 0, 1 and 2, closes everything above them, changes
//! directory, restores the signal mask and calls `execve`. A failed step leaves its `errno`
//! in the plan for the parent, which gives the same `io::Error` std's spawn would. The parent
//! resumes when the child has called `execve` (or `_exit`), then opens a pidfd to wait on. On
//! a kernel without `CLOSE_RANGE_UNSHARE` (before 5.9) the first child says so and every
//! spawn copies the table instead; without `clone3` or `CLONE_INTO_CGROUP` (before 5.7), the
//! child joins by writing.
//!
//! Decision: the program starts with 0, 1 and 2 only, unlike std's spawn, which passes on the
//! descriptors procmux inherited without close-on-exec; `procmux run` marks those
//! close-on-exec at start, so that every way of spawning agrees.
//!
//! Only a program given by path is spawned this way (procmux resolves names through `PATH`
//! once, before the spawn); a bare name is left to std's `execvp`.
//!
//! [`ChildSetup`]: super::setup::ChildSetup

mod child;
mod handle;
mod slots;
mod stack;
#[cfg(test)]
mod tests;

use std::ffi::{CString, OsStr, OsString, c_char};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::fcntl::OFlag;
use nix::libc;

use super::clone3;
use child::{ChildPlan, NewGroup, child_main};
pub(crate) use handle::PidfdChild;
use slots::SlotSet;

/// What to spawn: the program by path, its arguments, the setup and the cgroup to join.
pub(crate) struct Plan<'a> {
    pub(crate) program: &'a OsStr,
    /// The arguments after `argv[0]`.
    pub(crate) args: &'a [OsString],
    pub(crate) arg0: Option<&'a OsStr>,
    pub(crate) cwd: Option<&'a std::path::Path>,
    /// Added to (or replacing in) the parent's environment.
    pub(crate) env: &'a [(OsString, OsString)],
    /// The child's stdin; `/dev/null` when `None`.
    pub(crate) stdin: Option<BorrowedFd<'a>>,
    pub(crate) session: bool,
    pub(crate) grouped: bool,
    pub(crate) reset_sigmask: bool,
    /// The run's `cgroup.procs`, open for writing, to join before `exec`.
    pub(crate) cgroup_procs: Option<&'a File>,
    /// The run's cgroup directory, open, for the child to be born in it instead (with
    /// `cgroup_procs` given too, for where that cannot be done).
    pub(crate) cgroup_dir: Option<BorrowedFd<'a>>,
}

/// Whether a program can be spawned this way: given by path.
pub(crate) fn spawnable(program: &OsStr) -> bool {
    program.as_bytes().contains(&b'/')
}

fn c_string(text: &OsStr) -> io::Result<CString> {
    CString::new(text.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "nul byte found in provided data",
        )
    })
}

/// procmux's own environment as `KEY=VALUE` strings, each with its key: read once, at the
/// first spawn by this path, rather than copied afresh for each of 1,000 spawns (a tenth of
/// a spawn's CPU here).
///
/// Decision: a program that changes its own environment after its first spawn (with
/// `std::env::set_var`, which is `unsafe` in a threaded program for that very reason) does
/// not pass the change on this way; procmux itself never changes its environment, and a
/// job's own variables go in its [`ChildSetup`](super::setup::ChildSetup).
fn inherited_environment() -> &'static [(OsString, CString)] {
    static INHERITED: OnceLock<Vec<(OsString, CString)>> = OnceLock::new();
    INHERITED.get_or_init(|| {
        std::env::vars_os()
            .filter_map(|(key, value)| {
                let mut entry = key.clone();
                entry.push("=");
                entry.push(value);
                // An entry cannot hold a nul byte; one that did could not be passed on.
                CString::new(std::os::unix::ffi::OsStringExt::into_vec(entry))
                    .ok()
                    .map(|entry| (key, entry))
            })
            .collect()
    })
}

/// The plan's variables as `KEY=VALUE` strings.
fn added_environment(added: &[(OsString, OsString)]) -> io::Result<Vec<CString>> {
    added
        .iter()
        .map(|(key, value)| {
            let mut entry = key.clone();
            entry.push("=");
            entry.push(value);
            c_string(&entry)
        })
        .collect()
}

/// Null-terminated pointers to the child's environment: procmux's own, less the keys the
/// plan sets, then the plan's (`added`, which must outlive the array's use).
fn environment_pointers(keys: &[(OsString, OsString)], added: &[CString]) -> Vec<*const c_char> {
    inherited_environment()
        .iter()
        .filter(|(key, _)| !keys.iter().any(|(added, _)| added == key))
        .map(|(_, entry)| entry.as_ptr())
        .chain(added.iter().map(|entry| entry.as_ptr()))
        .chain(std::iter::once(ptr::null()))
        .collect()
}

/// Null-terminated pointers to the strings, which must outlive the array's use.
fn pointers(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|string| string.as_ptr())
        .chain(std::iter::once(ptr::null()))
        .collect()
}

/// `/dev/null`, opened once.
fn dev_null() -> io::Result<&'static File> {
    static DEV_NULL: OnceLock<File> = OnceLock::new();
    if let Some(file) = DEV_NULL.get() {
        return Ok(file);
    }
    let file = File::options().read(true).write(true).open("/dev/null")?;
    Ok(DEV_NULL.get_or_init(|| file))
}

/// A descriptor above 2, duplicated (close-on-exec) when it is one of the standard three, so
/// that setting up 0, 1 and 2 in the child cannot overwrite a source it still reads.
fn above_stdio(fd: BorrowedFd<'_>, keep: &mut Vec<OwnedFd>) -> io::Result<RawFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd.as_raw_fd());
    }
    let duplicate = fd.try_clone_to_owned()?;
    let moved = nix::fcntl::fcntl(&duplicate, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3))?;
    #[allow(unsafe_code)]
    // SAFETY: `fcntl` just returned this new descriptor, owned by no one else.
    let owned = unsafe { OwnedFd::from_raw_fd(moved) };
    let raw = owned.as_raw_fd();
    keep.push(owned);
    Ok(raw)
}

/// `pipe2(O_CLOEXEC)`: (read, write).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(OFlag::O_CLOEXEC)?)
}

/// Whether children can unshare their descriptor table (`close_range` with
/// `CLOSE_RANGE_UNSHARE`, Linux 5.9): assumed until a child finds it cannot.
static UNSHARE_WORKS: AtomicBool = AtomicBool::new(true);

/// Spawns the plan. The child has joined the cgroup and called `execve` when this returns.
pub(crate) fn spawn(plan: &Plan<'_>) -> io::Result<PidfdChild> {
    spawn_by(plan, UNSHARE_WORKS.load(Ordering::Relaxed))
}

/// `spawn`, trying the shared-table way first when `unshare` is set.
fn spawn_by(plan: &Plan<'_>, unshare: bool) -> io::Result<PidfdChild> {
    // The child's handle registers its descriptors with the runtime: fail before the spawn.
    tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
    let program = c_string(plan.program)?;
    let argv: Vec<CString> = std::iter::once(plan.arg0.unwrap_or(plan.program))
        .chain(plan.args.iter().map(OsString::as_os_str))
        .map(c_string)
        .collect::<io::Result<_>>()?;
    let argv_pointers = pointers(&argv);
    let added_env = added_environment(plan.env)?;
    let env_pointers = environment_pointers(plan.env, &added_env);
    let cwd = plan.cwd.map(|cwd| c_string(cwd.as_os_str())).transpose()?;
    let (stdout_read, stdout_write) = pipe()?;
    let (stderr_read, stderr_write) = pipe()?;
    let dev_null = dev_null()?.as_fd();
    let stdin = plan.stdin.unwrap_or(dev_null);
    let procs = plan.cgroup_procs.map(AsFd::as_fd);
    let mut child_plan = ChildPlan {
        program: program.as_ptr(),
        argv: argv_pointers.as_ptr(),
        envp: env_pointers.as_ptr(),
        cwd: cwd.as_ref().map_or(ptr::null(), |cwd| cwd.as_ptr()),
        unshare_from: -1,
        stdio: [-1; 3],
        group: if plan.session {
            NewGroup::Session
        } else if plan.grouped {
            NewGroup::Group
        } else {
            NewGroup::No
        },
        cgroup_procs: -1,
        mask: empty_sigset(),
        error: 0,
        unshare_failed: false,
    };
    let sources = [
        stdin,
        stdout_write.as_fd(),
        stderr_write.as_fd(),
        procs.unwrap_or(dev_null),
    ];
    let mut pid = None;
    if unshare {
        let slots = SlotSet::take(dev_null)?;
        let loaded = slots.load(sources);
        if loaded.is_ok() {
            let [stdin, stdout, stderr, cgroup_procs] = slots.raw();
            child_plan.unshare_from = slots.bound();
            child_plan.stdio = [stdin, stdout, stderr];
            let cgroup = procs.map(|_| cgroup_procs);
            pid = Some(clone_in_cgroup(&mut child_plan, plan, cgroup, true));
        }
        slots.give_back(dev_null);
        loaded?;
        if child_plan.unshare_failed {
            UNSHARE_WORKS.store(false, Ordering::Relaxed);
            if let Some(Ok(failed)) = pid.take() {
                reap_failed(failed);
            }
            child_plan.error = 0;
        }
    }
    let pid = match pid {
        Some(pid) => pid?,
        None => {
            // The child gets a copy of every descriptor: the sources just need to be above 2.
            let mut duplicates = Vec::new();
            let [stdin, stdout, stderr, cgroup_procs] = sources;
            child_plan.unshare_from = -1;
            child_plan.stdio = [
                above_stdio(stdin, &mut duplicates)?,
                above_stdio(stdout, &mut duplicates)?,
                above_stdio(stderr, &mut duplicates)?,
            ];
            let cgroup = procs.map(|_| cgroup_procs.as_raw_fd());
            clone_in_cgroup(&mut child_plan, plan, cgroup, false)?
        }
    };
    drop((stdout_write, stderr_write));
    if child_plan.error != 0 {
        reap_failed(pid);
        return Err(io::Error::from_raw_os_error(child_plan.error));
    }
    let child = u32::try_from(pid)
        .map_err(io::Error::other)
        .and_then(|id| PidfdChild::new(id, pidfd_open(pid)?, stdout_read, stderr_read));
    if child.is_err() {
        // Not waited for by anyone yet (the spawner holds the registry's gate): its pid is
        // still its own.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        reap_failed(pid);
    }
    child
}

fn empty_sigset() -> libc::sigset_t {
    #[allow(unsafe_code)]
    // SAFETY: `sigemptyset` initialises the set it is given.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        set
    }
}

/// Whether `clone3` with `CLONE_INTO_CGROUP` works here: assumed until it fails as unknown.
static CLONE3_WORKS: AtomicBool = AtomicBool::new(cfg!(target_arch = "x86_64"));

/// Clones the child into the plan's cgroup, if any: born there by `clone3` where it can be,
/// else joining by a write to `procs` (the child's copy of the run's `cgroup.procs`).
fn clone_in_cgroup(
    child_plan: &mut ChildPlan,
    plan: &Plan<'_>,
    procs: Option<RawFd>,
    share_files: bool,
) -> io::Result<libc::pid_t> {
    if let (Some(dir), Some(_)) = (plan.cgroup_dir, procs)
        && CLONE3_WORKS.load(Ordering::Relaxed)
    {
        child_plan.cgroup_procs = -1;
        let into = Some(dir.as_raw_fd());
        match clone_child(child_plan, plan.reset_sigmask, share_files, into) {
            Err(error) if error.raw_os_error().is_some_and(clone3::unsupported) => {
                CLONE3_WORKS.store(false, Ordering::Relaxed);
            }
            cloned => return cloned,
        }
    }
    child_plan.cgroup_procs = procs.unwrap_or(-1);
    clone_child(child_plan, plan.reset_sigmask, share_files, None)
}

/// Blocks every signal on this thread, clones the child onto this thread's child stack
/// (sharing the descriptor table with `share_files`; born in the cgroup directory `into`
/// when given, by `clone3`), and restores the mask. The child's mask is the thread's own, or
/// empty with `reset_sigmask`.
fn clone_child(
    plan: &mut ChildPlan,
    reset_sigmask: bool,
    share_files: bool,
    into: Option<RawFd>,
) -> io::Result<libc::pid_t> {
    let flags =
        libc::CLONE_VM | libc::CLONE_VFORK | if share_files { libc::CLONE_FILES } else { 0 };
    stack::with_stack(|stack| {
        #[allow(unsafe_code)]
        // SAFETY: `plan` points at strings, arrays and descriptors that live until this
        // function returns, and the child uses them only until it execs or exits, which
        // `CLONE_VFORK` makes this thread wait for. The child runs `child_main`
        // (async-signal-safe, see `child.rs`) on its own stack, never on this thread's. Every
        // signal is blocked around the clone, so no handler of the parent runs in the child
        // before it has reset them. With `CLONE_FILES`, the child changes no descriptor
        // before it has unshared the table.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            let mut previous: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut previous);
            if !reset_sigmask {
                plan.mask = previous;
            }
            let arg: *mut std::ffi::c_void = std::ptr::from_mut(plan).cast();
            let result = match into {
                #[cfg(target_arch = "x86_64")]
                Some(cgroup) => {
                    let (low, size) = stack.region();
                    let mut args = clone3::CloneArgs::into_cgroup(
                        u64::try_from(flags).unwrap_or_default(),
                        low,
                        size,
                        cgroup,
                    );
                    match clone3::clone3(&mut args, child_main, arg) {
                        pid if pid < 0 => Err(io::Error::from_raw_os_error(
                            i32::try_from(-pid).unwrap_or(libc::EINVAL),
                        )),
                        pid => Ok(libc::pid_t::try_from(pid).unwrap_or_default()),
                    }
                }
                _ => {
                    let pid = libc::clone(child_main, stack.top(), flags | libc::SIGCHLD, arg);
                    if pid < 0 {
                        Err(io::Error::last_os_error())
                    } else {
                        Ok(pid)
                    }
                }
            };
            libc::pthread_sigmask(libc::SIG_SETMASK, &previous, ptr::null_mut());
            result
        }
    })
}

/// Reaps a child that failed before `execve` (it has called `_exit`: `CLONE_VFORK` resumed
/// this thread only then) or that was just killed.
fn reap_failed(pid: libc::pid_t) {
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
}

/// `pidfd_open(2)`.
fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    #[allow(unsafe_code)]
    // SAFETY: a system call with no pointers; a non-negative result is a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(fd).map_err(io::Error::other)?;
    #[allow(unsafe_code)]
    // SAFETY: the kernel just returned this descriptor, owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
