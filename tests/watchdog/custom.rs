//! A procmux started the way `support::Procmux` cannot: with extra environment variables, or
//! leading its own process group (so that the test can SIGKILL that whole group). Same
//! token tagging, same survivor check.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::{DEADLINE, tagged_pids};

/// How to start it.
pub struct Options<'a> {
    pub procfile: &'a str,
    pub env: &'a [(&'a str, &'a str)],
    pub own_group: bool,
}

#[derive(Default)]
struct Lines {
    lines: Mutex<Vec<String>>,
    changed: Condvar,
}

/// A running `procmux run` on a Procfile.
pub struct Custom {
    child: Child,
    token: String,
    lines: Arc<Lines>,
    _dir: tempfile::TempDir,
    status: Option<ExitStatus>,
}

impl Custom {
    pub fn start(options: Options<'_>) -> Custom {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let token = format!(
            "{}-custom-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Procfile"), options.procfile).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_procmux"));
        command
            .args(["run", "--color", "never", "--no-timestamps"])
            .current_dir(dir.path())
            .env("PROCMUX_TEST_TOKEN", &token)
            .envs(options.env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if options.own_group {
            command.process_group(0);
        }
        let mut child = command.spawn().unwrap();
        let lines = Arc::new(Lines::default());
        read_lines(child.stdout.take().unwrap(), lines.clone());
        read_lines(child.stderr.take().unwrap(), lines.clone());
        Custom {
            child,
            token,
            lines,
            _dir: dir,
            status: None,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lines.lock().unwrap().clone()
    }

    /// Waits until `count` printed lines contain `text`.
    pub fn wait_for_count(&self, text: &str, count: usize) {
        let deadline = Instant::now() + DEADLINE;
        let mut lines = self.lines.lines.lock().unwrap();
        loop {
            if lines.iter().filter(|l| l.contains(text)).count() >= count {
                return;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "timed out waiting for {count} x {text:?}; output:\n{}",
                lines.join("\n")
            );
            lines = self
                .lines
                .changed
                .wait_timeout(lines, deadline - now)
                .unwrap()
                .0;
        }
    }

    pub fn wait_exit(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.status = Some(status);
                return status;
            }
            assert!(Instant::now() < deadline, "procmux did not exit");
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Live processes carrying this test's token, procmux excluded.
    pub fn tagged(&self) -> Vec<i32> {
        tagged_pids(&self.token, self.pid())
    }

    /// Waits (a little) until nothing carrying the token is alive.
    pub fn assert_no_survivors(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let alive = self.tagged();
            if alive.is_empty() {
                return;
            }
            assert!(Instant::now() < deadline, "survivors: {alive:?}");
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Custom {
    fn drop(&mut self) {
        if self.status.is_none() && self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for pid in tagged_pids(&self.token, -1) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

fn read_lines(stream: impl Read + Send + 'static, lines: Arc<Lines>) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            lines.lines.lock().unwrap().push(line);
            lines.changed.notify_all();
        }
    });
}
