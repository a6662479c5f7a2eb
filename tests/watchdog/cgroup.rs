//! Cgroups, on their own: the watchdog kills and removes a tracked cgroup subtree when its
//! pipe closes, leaves it after `bye` or `forget-cgroup`; and the kill (`cgroup.kill`, or
//! freeze and SIGKILL each pid) and removal functions on real cgroups.
//!
//! Each test makes its own cgroup under the `cgroup2` mount of `/proc/self/mountinfo` and
//! skips, saying why, where there is none or it is not writable.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use procmux::watchdog::cgroup::{self, CgroupError, KillMethod};

use crate::support::DEADLINE;

/// The mount point of the cgroup2 file system, if any.
fn cgroup2_mount() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mountinfo.lines().find_map(|line| {
        let (mount, fs) = line.split_once(" - ")?;
        let fs_type = fs.split_whitespace().next()?;
        let point = mount.split_whitespace().nth(4)?;
        (fs_type == "cgroup2").then(|| PathBuf::from(point))
    })
}

/// A cgroup made for one test, removed (with its processes killed) when dropped.
struct TestCgroup {
    path: PathBuf,
    children: Vec<Child>,
}

impl TestCgroup {
    /// Makes `<cgroup2>/procmux-test-<pid>-<n>` (or says why it cannot, and returns `None`).
    fn new(test: &str) -> Option<TestCgroup> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let Some(mount) = cgroup2_mount() else {
            eprintln!("skipping {test}: no cgroup2 mount in /proc/self/mountinfo");
            return None;
        };
        let path = mount.join(format!(
            "procmux-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        if let Err(error) = std::fs::create_dir(&path) {
            eprintln!("skipping {test}: cannot create {}: {error}", path.display());
            return None;
        }
        Some(TestCgroup {
            path,
            children: Vec::new(),
        })
    }

    /// Makes a child cgroup.
    fn child(&self, name: &str) -> PathBuf {
        let path = self.path.join(name);
        std::fs::create_dir(&path).unwrap();
        path
    }

    /// Starts `sh -c script` inside the cgroup at `path`: it waits for the move before it
    /// does anything, so that all it starts is in there too.
    fn run_in(&mut self, path: &Path, script: &str) -> u32 {
        let mut child = Command::new("sh")
            .args(["-c", &format!("read go; {script}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        std::fs::write(path.join("cgroup.procs"), pid.to_string()).unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"go\n").unwrap();
        self.children.push(child);
        pid
    }

    /// Waits until the cgroup subtree holds `count` processes.
    fn wait_for_processes(&self, count: usize) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let have = subtree_pids(&self.path).len();
            if have >= count {
                return;
            }
            assert!(Instant::now() < deadline, "{have} of {count} processes");
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Whether every process started here has exited, waiting until the deadline.
    fn wait_all_exited(&mut self) {
        let deadline = Instant::now() + DEADLINE;
        for child in &mut self.children {
            while child.try_wait().unwrap().is_none() {
                assert!(Instant::now() < deadline, "pid {} still runs", child.id());
                thread::sleep(Duration::from_millis(5));
            }
        }
    }

    fn all_running(&mut self) -> bool {
        self.children
            .iter_mut()
            .all(|child| child.try_wait().unwrap().is_none())
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let _ = cgroup::kill(&self.path, KillMethod::Best, deadline);
        let _ = cgroup::remove(&self.path, deadline);
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn subtree_pids(path: &Path) -> Vec<u32> {
    let mut pids = Vec::new();
    let mut pending = vec![path.to_owned()];
    while let Some(dir) = pending.pop() {
        if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
            pids.extend(text.lines().filter_map(|l| l.parse::<u32>().ok()));
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            pending.extend(
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
        }
    }
    pids
}

/// Runs `procmux __watchdog`, writes `input` to it, closes its stdin, and returns what it
/// printed on stderr once it has exited.
fn run_watchdog(input: &str) -> String {
    let mut watchdog = Command::new(env!("CARGO_BIN_EXE_procmux"))
        .arg("__watchdog")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = watchdog.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let deadline = Instant::now() + DEADLINE;
    while watchdog.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the watchdog did not exit");
        thread::sleep(Duration::from_millis(5));
    }
    let output = watchdog.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_closed_pipe_kills_and_removes_a_tracked_cgroup_and_its_children() {
    let Some(mut cg) = TestCgroup::new("a_closed_pipe_kills_and_removes...") else {
        return;
    };
    let sub = cg.child("sub");
    let top = cg.path.clone();
    cg.run_in(&top, "sleep 1000 & sleep 1000 & wait");
    // Its own session: out of every process group, found by the cgroup alone.
    cg.run_in(&sub, "setsid sleep 1000 & wait");
    cg.wait_for_processes(5);

    let stderr = run_watchdog(&format!("cgroup {}\n", cg.path.display()));
    assert!(
        stderr.contains("sent SIGKILL to 0 process groups and 1 cgroup"),
        "{stderr}"
    );
    cg.wait_all_exited();
    assert!(subtree_pids(&cg.path).is_empty());
    assert!(!cg.path.exists(), "the cgroup is removed, children first");
}

#[test]
fn bye_and_forget_cgroup_leave_a_cgroup_alone() {
    let Some(mut cg) = TestCgroup::new("bye_and_forget_cgroup_leave_a_cgroup_alone") else {
        return;
    };
    let top = cg.path.clone();
    cg.run_in(&top, "sleep 1000");
    cg.wait_for_processes(1);
    let path = cg.path.display().to_string();

    let stderr = run_watchdog(&format!("cgroup {path}\nbye\n"));
    assert_eq!(stderr, "");
    let stderr = run_watchdog(&format!("cgroup {path}\nforget-cgroup {path}\n"));
    assert_eq!(stderr, "");
    assert!(cg.all_running(), "nothing was killed");
    assert!(cg.path.exists());
}

#[test]
fn each_kill_method_empties_a_forking_subtree() {
    for method in [KillMethod::Best, KillMethod::EachPid] {
        let Some(mut cg) = TestCgroup::new("each_kill_method_empties_a_forking_subtree") else {
            return;
        };
        let sub = cg.child("sub");
        let deeper = sub.join("deeper");
        std::fs::create_dir(&deeper).unwrap();
        let top = cg.path.clone();
        // Forks all the time: the per-pid way must not lose the race.
        cg.run_in(&top, "while :; do sleep 1000 & sleep 0.01; done");
        cg.run_in(&deeper, "sleep 1000 & wait");
        cg.wait_for_processes(5);

        let deadline = Instant::now() + DEADLINE;
        cgroup::kill(&cg.path, method, deadline).unwrap();
        cg.wait_all_exited();
        cgroup::remove(&cg.path, deadline).unwrap();
        assert!(!cg.path.exists(), "{method:?}");
        assert!(subtree_pids(&cg.path).is_empty(), "{method:?}");
    }
}

#[test]
fn a_folder_that_is_no_cgroup_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    assert!(matches!(
        cgroup::kill(&empty, KillMethod::Best, deadline),
        Err(CgroupError::NotACgroup(_))
    ));
    assert!(matches!(
        cgroup::remove(&empty, deadline),
        Err(CgroupError::NotACgroup(_))
    ));
    assert!(empty.exists());
    // And through the watchdog: it says so, and the folder stays.
    let stderr = run_watchdog(&format!("cgroup {}\n", empty.display()));
    assert!(stderr.contains("is not a cgroup v2 directory"), "{stderr}");
    assert!(empty.exists());
    // Gone already is fine.
    assert!(cgroup::kill(&dir.path().join("missing"), KillMethod::Best, deadline).is_ok());
}
