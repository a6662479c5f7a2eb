//! The vfork spawn against real programs: the setup each child gets, the errors std's spawn
//! would give, and the handle's wait, signal and drop.

#![allow(clippy::unwrap_used)]

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

use process_wrap::tokio::ChildWrapper;
use tokio::io::AsyncReadExt;

use super::{Plan, spawn, spawn_by};

fn plan<'a>(program: &'a OsStr, args: &'a [OsString]) -> Plan<'a> {
    Plan {
        program,
        args,
        arg0: None,
        cwd: None,
        env: &[],
        stdin: None,
        session: false,
        grouped: false,
        reset_sigmask: false,
        cgroup_procs: None,
        cgroup_dir: None,
    }
}

fn sh(script: &str) -> Vec<OsString> {
    vec!["-c".into(), script.into()]
}

/// Runs the plan to its end: (stdout, stderr, status).
async fn output(plan: &Plan<'_>) -> (String, String, std::process::ExitStatus) {
    let mut child = spawn(plan).expect("spawn");
    let (mut out, mut err) = (String::new(), String::new());
    let mut stdout = child.stdout().take().unwrap();
    let mut stderr = child.stderr().take().unwrap();
    let reading = async {
        stdout.read_to_string(&mut out).await.unwrap();
        stderr.read_to_string(&mut err).await.unwrap();
    };
    tokio::time::timeout(Duration::from_secs(20), reading)
        .await
        .expect("the child's output ended");
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the child ended")
        .unwrap();
    (out, err, status)
}

/// A field of `/proc/<pid>/status`, as the child's shell prints it.
fn status_field(text: &str, field: &str) -> u64 {
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:\t")))
        .unwrap_or_else(|| panic!("no {field} in {text}"));
    u64::from_str_radix(line.trim(), 16).unwrap()
}

fn bit(signal: nix::sys::signal::Signal) -> u64 {
    1 << (signal as i32 - 1)
}

#[tokio::test]
async fn the_child_gets_its_argv0_cwd_environment_stdin_and_pipes() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = tempfile::tempfile().unwrap();
    input.write_all(b"piped in\n").unwrap();
    std::io::Seek::rewind(&mut input).unwrap();
    let env = [("VFORK_TEST".into(), "yes".into())];
    let args = sh(
        r#"tr '\0' '\n' < /proc/$$/cmdline | head -n 1; pwd; echo "$VFORK_TEST"; cat; echo oops >&2; exit 7"#,
    );
    let plan = Plan {
        arg0: Some(OsStr::new("renamed")),
        cwd: Some(dir.path()),
        env: &env,
        stdin: Some(input.as_fd()),
        ..plan(OsStr::new("/bin/sh"), &args)
    };
    let (out, err, status) = output(&plan).await;
    let cwd = dir.path().canonicalize().unwrap();
    assert_eq!(
        out,
        format!("renamed\n{}\nyes\npiped in\n", cwd.display()),
        "stderr: {err}"
    );
    assert_eq!(err, "oops\n");
    assert_eq!(status.code(), Some(7));
}

#[tokio::test]
async fn the_parents_environment_is_kept_and_a_variable_can_be_replaced() {
    let path = std::env::var("PATH").unwrap();
    let env = [("HOME".into(), "/replaced".into())];
    let args = sh(r#"echo "$HOME"; echo "$PATH""#);
    let plan = Plan {
        env: &env,
        ..plan(OsStr::new("/bin/sh"), &args)
    };
    let (out, _, _) = output(&plan).await;
    assert_eq!(out, format!("/replaced\n{path}\n"));
}

#[tokio::test]
async fn stdin_is_dev_null_when_none_is_given() {
    let args = sh("cat; readlink /proc/$$/fd/0");
    let (out, _, status) = output(&plan(OsStr::new("/bin/sh"), &args)).await;
    assert_eq!(out, "/dev/null\n");
    assert!(status.success());
}

/// As after std's fork-and-exec: ignored signals stay ignored except SIGPIPE, which Rust
/// programs ignore and std puts back for its children; the mask is the spawning thread's, or
/// empty with `reset_sigmask`. (std's `posix_spawn` path also leaves glibc's two internal
/// signals ignored in the program, a side effect of glibc's own child code.)
#[tokio::test(flavor = "current_thread")]
async fn signals_start_as_after_a_fork_and_reset_sigmask_empties_the_mask() {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    let ignored = status_field(&ours, "SigIgn") & !bit(Signal::SIGPIPE);
    let args = vec!["/proc/self/status".into()];
    let mut blocked = SigSet::empty();
    blocked.add(Signal::SIGUSR1);
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&blocked), None).unwrap();
    let kept = spawn(&plan(OsStr::new("/bin/cat"), &args));
    let reset = spawn(&Plan {
        reset_sigmask: true,
        ..plan(OsStr::new("/bin/cat"), &args)
    });
    pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&blocked), None).unwrap();
    for (child, expect_blocked) in [(kept, bit(Signal::SIGUSR1)), (reset, 0)] {
        let mut child = child.unwrap();
        let mut text = String::new();
        let mut stdout = child.stdout().take().unwrap();
        stdout.read_to_string(&mut text).await.unwrap();
        assert_eq!(status_field(&text, "SigBlk"), expect_blocked, "{text}");
        assert_eq!(status_field(&text, "SigIgn"), ignored, "{text}");
        assert_eq!(status_field(&text, "SigCgt"), 0, "{text}");
        assert!(child.wait().await.unwrap().success());
    }
}

#[tokio::test]
async fn a_group_or_a_session_is_made_before_exec() {
    let args = sh("cut -d' ' -f1,5,6 /proc/$$/stat");
    for (grouped, session) in [(true, false), (false, true)] {
        let plan = Plan {
            grouped,
            session,
            ..plan(OsStr::new("/bin/sh"), &args)
        };
        let (out, _, _) = output(&plan).await;
        let ids: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(ids[0], ids[1], "not a group leader: {out}");
        assert_eq!(ids[0] == ids[2], session, "session: {out}");
    }
}

#[tokio::test]
async fn failures_before_exec_are_std_spawns_errors() {
    let dir = tempfile::tempdir().unwrap();
    let not_executable = dir.path().join("script");
    std::fs::write(&not_executable, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&not_executable, std::fs::Permissions::from_mode(0o644)).unwrap();
    let args = Vec::new();
    let missing_cwd = dir.path().join("gone");
    let cases: [(Plan<'_>, std::io::ErrorKind); 3] = [
        (
            plan(OsStr::new("/nonexistent/program"), &args),
            std::io::ErrorKind::NotFound,
        ),
        (
            plan(not_executable.as_os_str(), &args),
            std::io::ErrorKind::PermissionDenied,
        ),
        (
            Plan {
                cwd: Some(&missing_cwd),
                ..plan(OsStr::new("/bin/true"), &args)
            },
            std::io::ErrorKind::NotFound,
        ),
    ];
    for (plan, kind) in cases {
        let error = spawn(&plan).expect_err("the spawn failed");
        assert_eq!(error.kind(), kind, "{error}");
        let by_std = std::process::Command::new(plan.program)
            .current_dir(plan.cwd.unwrap_or(Path::new("/")))
            .spawn()
            .expect_err("std's spawn failed too");
        assert_eq!(error.to_string(), by_std.to_string());
    }
}

#[tokio::test]
async fn wait_try_wait_and_signal_go_through_the_pidfd() {
    let args = vec!["1000".into()];
    let mut child = spawn(&plan(OsStr::new("/bin/sleep"), &args)).unwrap();
    let pid = child.id().unwrap();
    assert_eq!(child.try_wait().unwrap(), None);
    child.signal(nix::libc::SIGTERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.signal(), Some(nix::libc::SIGTERM));
    assert_eq!(child.try_wait().unwrap(), Some(status));
    assert_eq!(child.wait().await.unwrap(), status);
    assert_eq!(child.id(), None, "reaped, so no pid any more");
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    assert!(child.start_kill().is_err());
}

#[tokio::test]
async fn a_dropped_child_is_killed_and_reaped() {
    let args = vec!["1000".into()];
    let child = spawn(&plan(OsStr::new("/bin/sleep"), &args)).unwrap();
    let pid = child.id().unwrap();
    drop(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "{pid} is still there");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A program starts with 0, 1 and 2 only, whether the child unshared its table or copied
/// it: none of this process's descriptors, not even one it holds without close-on-exec.
#[tokio::test]
async fn the_program_starts_with_0_1_and_2_only() {
    let inherited = nix::unistd::dup(std::io::stderr()).unwrap();
    let flags = nix::fcntl::fcntl(&inherited, nix::fcntl::FcntlArg::F_GETFD).unwrap();
    assert_eq!(flags & nix::libc::FD_CLOEXEC, 0);
    // `ls` lists its own directory descriptor too: the highest.
    let args = sh("ls /proc/self/fd | sort -n | head -n -1 | tr '\\n' ' '");
    for unshare in [true, false] {
        let mut child = spawn_by(&plan(OsStr::new("/bin/sh"), &args), unshare).unwrap();
        let mut out = String::new();
        let mut stdout = child.stdout().take().unwrap();
        stdout.read_to_string(&mut out).await.unwrap();
        assert_eq!(out, "0 1 2 ", "unshare: {unshare}");
        assert!(child.wait().await.unwrap().success());
    }
    drop(inherited);
}

/// Both ways give the child its setup (the other tests take the default way).
#[tokio::test]
async fn copying_the_table_gives_the_same_setup() {
    let mut input = tempfile::tempfile().unwrap();
    input.write_all(b"piped in\n").unwrap();
    std::io::Seek::rewind(&mut input).unwrap();
    let args = sh("cat; echo oops >&2; exit 3");
    let plan = Plan {
        stdin: Some(input.as_fd()),
        ..plan(OsStr::new("/bin/sh"), &args)
    };
    let mut child = spawn_by(&plan, false).unwrap();
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout()
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    child
        .stderr()
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .await
        .unwrap();
    assert_eq!((out.as_str(), err.as_str()), ("piped in\n", "oops\n"));
    assert_eq!(child.wait().await.unwrap().code(), Some(3));
}

/// Under cgroups the child is in its run's cgroup from its start: born there (`clone3`) or,
/// where that cannot be, joined by a write before `exec`.
#[tokio::test]
async fn the_child_is_in_its_cgroup_born_there_or_joined() {
    let Ok(root) = crate::supervisor::tracking::discovery::make_root(std::process::id()) else {
        eprintln!("skipped: no cgroups here");
        return;
    };
    let args = sh("grep ^0:: /proc/$$/cgroup");
    for born in [true, false] {
        let dir = root.join(format!("run-born-{born}"));
        std::fs::create_dir(&dir).unwrap();
        let procs = std::fs::File::options()
            .read(true)
            .write(true)
            .open(dir.join("cgroup.procs"))
            .unwrap();
        let opened = std::fs::File::open(&dir).unwrap();
        let plan = Plan {
            cgroup_procs: Some(&procs),
            cgroup_dir: born.then(|| opened.as_fd()),
            ..plan(OsStr::new("/bin/sh"), &args)
        };
        let (out, err, status) = output(&plan).await;
        assert!(status.success(), "{err}");
        let name = dir.file_name().unwrap().to_str().unwrap();
        assert!(out.trim_end().ends_with(&format!("/{name}")), "{out}");
        drop((procs, opened));
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::fs::remove_dir(&dir).is_err() {
            assert!(Instant::now() < deadline, "{} stayed busy", dir.display());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    std::fs::remove_dir(&root).unwrap();
}
