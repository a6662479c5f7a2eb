//! Discovering where procmux may make cgroups: the `cgroup2` mount in
//! `/proc/self/mountinfo` (not always `/sys/fs/cgroup`: hybrid layouts mount it at
//! `/sys/fs/cgroup/unified`), procmux's own cgroup from the `0::` line of
//! `/proc/self/cgroup`, and a probe that really moves a process, since only trying tells
//! whether delegation allows it.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::cgroup::remove_dir_soon;
use super::join::{AfterJoin, JOINED, join_before_exec};
use super::registry::registry;

/// Finds the cgroup v2 directory of this process and makes `procmux-<pid>` in it, checking
/// that a child can really be moved into it. The error is the reason, for the tracking line.
pub(crate) fn make_root(pid: u32) -> Result<PathBuf, String> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|err| format!("cannot read /proc/self/mountinfo: {err}"))?;
    let membership = fs::read_to_string("/proc/self/cgroup")
        .map_err(|err| format!("cannot read /proc/self/cgroup: {err}"))?;
    let own = own_cgroup(&membership).ok_or("no cgroup v2 membership in /proc/self/cgroup")?;
    let dir = cgroup_dir(&mountinfo, own).ok_or("no cgroup2 file system mounted")?;
    let path = make_unique(&dir, pid)?;
    if let Err(reason) = probe(&path) {
        let _ = fs::remove_dir(&path);
        return Err(reason);
    }
    Ok(path)
}

/// The path of this process's cgroup in the unified hierarchy: the `0::` line.
fn own_cgroup(membership: &str) -> Option<&str> {
    membership
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(|path| path.trim_end_matches(" (deleted)"))
}

/// Where `own` (a path from `/proc/self/cgroup`) is on disk: under the mount point of a
/// `cgroup2` file system whose root contains it.
fn cgroup_dir(mountinfo: &str, own: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        // `id parent major:minor root mount-point options [optional...] - type source ...`
        let (mount, fs) = line.split_once(" - ")?;
        if fs.split_ascii_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mut fields = mount.split_ascii_whitespace();
        let root = unescape(fields.nth(3)?);
        let point = unescape(fields.next()?);
        let inside = own.strip_prefix(root.trim_end_matches('/'))?;
        if !(inside.is_empty() || inside.starts_with('/')) {
            return None;
        }
        Some(Path::new(&point).join(inside.trim_start_matches('/')))
    })
}

/// Undoes mountinfo's octal escapes (`\040` is a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Makes `procmux-<pid>`, or `procmux-<pid>.<n>` when another procmux with the same pid (in
/// another pid namespace) already has that name.
fn make_unique(dir: &Path, pid: u32) -> Result<PathBuf, String> {
    for attempt in 0..100 {
        let name = match attempt {
            0 => format!("procmux-{pid}"),
            n => format!("procmux-{pid}.{n}"),
        };
        let path = dir.join(name);
        match fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(format!("cannot create {}: {err}", path.display())),
        }
    }
    Err(format!(
        "cannot create a procmux cgroup in {}",
        dir.display()
    ))
}

/// Puts a throw-away child into a cgroup under `root` (it exits at once, or stops before
/// `exec`), which is the only sure way to learn whether that is allowed: it needs write access
/// to the `cgroup.procs` of procmux's own cgroup too, and delegation rules beyond file modes.
fn probe(root: &Path) -> Result<(), String> {
    let dir = root.join("probe");
    fs::create_dir(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    let outcome = match born_in(&dir) {
        Some(born) => {
            born.map_err(|err| format!("cannot move processes into {}: {err}", root.display()))
        }
        None => moved_into(&dir, root),
    };
    remove_dir_soon(&dir);
    outcome
}

/// A child cloned straight into `dir` (`clone3` with `CLONE_INTO_CGROUP`, which the kernel
/// allows exactly when it allows moving a process there): `None` where the kernel has no such
/// clone, to probe by moving instead. Much quicker than a move after a quiet spell (see
/// `supervisor::clone3`): the move made procmux's start 6 to 22 ms slower.
fn born_in(dir: &Path) -> Option<io::Result<()>> {
    use crate::supervisor::clone3::{CloneArgs, unsupported};
    let cgroup = File::open(dir).ok()?;
    let mut args = CloneArgs::into_cgroup(
        0,
        std::ptr::null_mut(),
        0,
        std::os::fd::AsRawFd::as_raw_fd(&cgroup),
    );
    // Held so that an orphan reaper cannot reap the child before it is waited for here.
    let spawning = registry().spawning();
    #[allow(unsafe_code)]
    // SAFETY: a fork-style clone (no shared memory, no stack given: the child runs on its
    // own copy of this one), whose child only calls `_exit`, which is async-signal-safe.
    let pid = unsafe {
        let pid = nix::libc::syscall(
            nix::libc::SYS_clone3,
            std::ptr::from_mut(&mut args),
            std::mem::size_of::<CloneArgs>(),
        );
        if pid == 0 {
            nix::libc::_exit(0);
        }
        pid
    };
    let result = if pid < 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error().is_some_and(unsupported) {
            return None;
        }
        Err(error)
    } else {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap_or_default());
        nix::sys::wait::waitpid(pid, None)
            .map(drop)
            .map_err(io::Error::from)
    };
    drop(spawning);
    Some(result)
}

/// Moves a throw-away child into `dir` by a write to its `cgroup.procs` before `exec`.
fn moved_into(dir: &Path, root: &Path) -> Result<(), String> {
    File::options()
        .write(true)
        .open(dir.join("cgroup.procs"))
        .map_err(|err| format!("cannot open {}/cgroup.procs: {err}", dir.display()))
        .and_then(|procs| {
            // Never executed: the child fails the spawn right after joining.
            let mut command = std::process::Command::new("/");
            command
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            join_before_exec(&mut command, Arc::new(procs), AfterJoin::Cancel);
            // Held so that an orphan reaper cannot reap the child std waits for itself.
            let spawning = registry().spawning();
            let spawned = command.spawn();
            drop(spawning);
            match spawned {
                Err(err) if err.raw_os_error() == Some(JOINED) => Ok(()),
                Err(err) => Err(format!(
                    "cannot move processes into {}: {err}",
                    root.display()
                )),
                Ok(mut child) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    Err("the cgroup probe ran a program".into())
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_unified_mount_in_a_hybrid_layout() {
        let mountinfo = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
        let own = own_cgroup("1:cpu:/\n0::/user.slice/a b\n").expect("a 0:: line");
        assert_eq!(own, "/user.slice/a b");
        assert_eq!(
            cgroup_dir(mountinfo, own),
            Some(PathBuf::from("/sys/fs/cgroup/unified/user.slice/a b"))
        );
        assert_eq!(
            cgroup_dir(mountinfo, "/"),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(cgroup_dir("1 0 0:1 / / rw - ext4 /dev/sda rw\n", "/"), None);
    }

    #[test]
    fn respects_the_mount_root_and_escapes() {
        let mountinfo = "9 1 0:5 /outer /sys/fs/cgroup\\040x rw shared:4 - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup_dir(mountinfo, "/outer/inner"),
            Some(PathBuf::from("/sys/fs/cgroup x/inner"))
        );
        assert_eq!(cgroup_dir(mountinfo, "/outerly"), None);
        assert_eq!(cgroup_dir(mountinfo, "/elsewhere"), None);
    }
}
