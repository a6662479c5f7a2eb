//! A small harness around a running `procmux` binary: write a manifest, start procmux, wait
//! for output lines with deadlines, send signals, and check `/proc` for survivors.

// Shared by the `run` and `reload` test binaries, each of which uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Generous, because CI is a loaded 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The lines procmux printed so far (stdout and stderr, each in order), shared with reader
/// threads.
#[derive(Default)]
struct Lines {
    lines: Mutex<Vec<Vec<u8>>>,
    changed: Condvar,
}

/// A running procmux under test.
pub struct Procmux {
    child: Child,
    token: String,
    lines: Arc<Lines>,
    /// The folder holding the manifest; removed when the test ends.
    dir: tempfile::TempDir,
    status: Option<ExitStatus>,
}

/// A unique marker for the processes of one test: the test binary's pid (distinct across
/// binaries running at once) and a counter (distinct across its tests).
fn new_token() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Options for [`Procmux::start_with`].
pub struct Start<'a> {
    /// The manifest's file name in the temporary folder (`Procfile` or `procmux.toml`).
    pub file: &'a str,
    /// The manifest's text.
    pub manifest: &'a str,
    /// Extra arguments after `run -f FILE`.
    pub args: &'a [&'a str],
    /// Whether stdout is read by the harness (false: the test takes it with `take_stdout`).
    pub read_stdout: bool,
    /// Other files to write in the folder first (name, text), such as env files.
    pub files: &'a [(&'a str, &'a str)],
}

impl<'a> Start<'a> {
    /// The manifest `file` with the text `manifest`, no other arguments or files, stdout read
    /// by the harness.
    pub fn plain(file: &'a str, manifest: &'a str) -> Self {
        Start {
            file,
            manifest,
            args: &[],
            read_stdout: true,
            files: &[],
        }
    }
}

impl Procmux {
    /// Starts `procmux run` on a Procfile with the given text.
    pub fn procfile(text: &str) -> Self {
        Self::start_with(Start::plain("Procfile", text))
    }

    /// Starts `procmux run` on a procmux.toml with the given text.
    pub fn toml(text: &str) -> Self {
        Self::start_with(Start::plain("procmux.toml", text))
    }

    /// Starts `procmux run -f FILE --color never --no-timestamps ARGS`.
    pub fn start_with(start: Start<'_>) -> Self {
        Self::start_with_env(start, &[])
    }

    /// Like [`start_with`](Self::start_with), with more environment variables for procmux
    /// (`PROCMUX_TRACKING=group` forces the process-group fallback).
    pub fn start_with_env(start: Start<'_>, envs: &[(&str, &str)]) -> Self {
        Self::start_limited(start, envs, None)
    }

    /// Like [`start_with`](Self::start_with), with procmux's soft limit on open files set to
    /// `limit` (its hard limit stays), as many desktops start programs.
    pub fn start_with_open_files_limit(start: Start<'_>, limit: u64) -> Self {
        Self::start_limited(start, &[], Some(&format!("ulimit -Sn {limit}")))
    }

    /// Like [`start_with`](Self::start_with), started by a shell that runs `prelude` (say,
    /// `exec 7</dev/null`, to hand procmux a descriptor) and then becomes procmux.
    pub fn start_after(start: Start<'_>, prelude: &str) -> Self {
        Self::start_limited(start, &[], Some(prelude))
    }

    fn start_limited(start: Start<'_>, envs: &[(&str, &str)], prelude: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(start.file), start.manifest).unwrap();
        for (name, text) in start.files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let mut args = vec!["-f", start.file, "--color", "never", "--no-timestamps"];
        args.extend_from_slice(start.args);
        Self::launch(dir, &args, start.read_stdout, envs, prelude)
    }

    /// Starts `procmux run ARGS` in a folder the test prepared itself (symbolic links, a
    /// manifest in a subfolder, discovery without `-f`). `ARGS` are all of `run`'s arguments:
    /// pass `--color never --no-timestamps` to get the lines other tests see.
    pub fn start_in(dir: tempfile::TempDir, args: &[&str]) -> Self {
        Self::launch(dir, args, true, &[], None)
    }

    fn launch(
        dir: tempfile::TempDir,
        args: &[&str],
        read_stdout: bool,
        envs: &[(&str, &str)],
        prelude: Option<&str>,
    ) -> Self {
        let token = new_token();
        // Each test gets its own control socket folder, inside its temporary folder.
        let runtime = dir.path().join(".runtime");
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let procmux = env!("CARGO_BIN_EXE_procmux");
        let mut command = match prelude {
            // The shell runs the prelude and becomes procmux: the pid stays the same.
            Some(prelude) => {
                let mut shell = Command::new("sh");
                shell.args(["-c", &format!("{prelude} && exec \"$0\" \"$@\""), procmux]);
                shell
            }
            None => Command::new(procmux),
        };
        command
            .arg("run")
            .args(args)
            .current_dir(dir.path())
            .env("PROCMUX_TEST_TOKEN", &token)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env_remove("NO_COLOR")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let lines = Arc::new(Lines::default());
        if read_stdout {
            spawn_reader(child.stdout.take().unwrap(), lines.clone());
        }
        spawn_reader(child.stderr.take().unwrap(), lines.clone());
        Procmux {
            child,
            token,
            lines,
            dir,
            status: None,
        }
    }

    /// procmux's own pid.
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Takes procmux's stdout (for tests that read it themselves or close it).
    pub fn take_stdout(&mut self) -> ChildStdout {
        self.child
            .stdout
            .take()
            .expect("stdout was not read by the harness")
    }

    /// A copy of every line printed so far (invalid UTF-8 replaced).
    pub fn lines(&self) -> Vec<String> {
        let lines = self.lines.lines.lock().unwrap();
        lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }

    /// A copy of every line printed so far, as bytes.
    pub fn raw_lines(&self) -> Vec<Vec<u8>> {
        self.lines.lines.lock().unwrap().clone()
    }

    /// Waits until some printed line satisfies `pred`, and returns it; panics at the deadline
    /// with everything printed so far.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_for_count(what, 1, pred).pop().unwrap()
    }

    /// Waits until `count` printed lines satisfy `pred`, and returns them.
    pub fn wait_for_count(
        &self,
        what: &str,
        count: usize,
        pred: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let deadline = Instant::now() + DEADLINE;
        let mut lines = self.lines.lines.lock().unwrap();
        // Scan each line once, however often the readers wake us.
        let mut scanned = 0;
        let mut found = Vec::new();
        loop {
            for line in &lines[scanned..] {
                let line = String::from_utf8_lossy(line);
                if pred(&line) {
                    found.push(line.into_owned());
                }
            }
            scanned = lines.len();
            if found.len() >= count {
                return found;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "timed out waiting for {count} x {what}; output so far:\n{}",
                lines
                    .iter()
                    .map(|l| String::from_utf8_lossy(l))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            lines = self
                .lines
                .changed
                .wait_timeout(lines, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Waits for a line containing `text`.
    pub fn wait_for_text(&self, text: &str) -> String {
        self.wait_for(text, |l| l.contains(text))
    }

    /// Sends a signal to procmux.
    pub fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).unwrap();
    }

    /// Waits for procmux to exit, panicking at the deadline.
    pub fn wait_exit(&mut self) -> ExitStatus {
        self.wait_exit_within(DEADLINE)
    }

    /// Waits for procmux to exit within `limit`.
    pub fn wait_exit_within(&mut self, limit: Duration) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.status = Some(status);
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "procmux did not exit within {limit:?}; output:\n{}",
                self.lines().join("\n")
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Whether procmux has exited.
    pub fn has_exited(&mut self) -> bool {
        if self.status.is_none() {
            self.status = self.child.try_wait().unwrap();
        }
        self.status.is_some()
    }

    /// Pids of live (non-zombie) processes carrying this test's token, procmux excluded.
    pub fn tagged_processes(&self) -> Vec<i32> {
        tagged_pids(&self.token, self.child.id() as i32)
    }

    /// Asserts that nothing this test caused is alive, waiting a little for killed groups to
    /// vanish from `/proc`.
    ///
    /// Also checks that procmux's own cgroup (named in its first line, under cgroup
    /// tracking) was removed: an empty cgroup left behind is litter too.
    pub fn assert_no_survivors(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let alive = self.tagged_processes();
            if alive.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "survivors after procmux exited: {}",
                describe(&alive)
            );
            thread::sleep(Duration::from_millis(10));
        }
        if let Some(cgroup) = self.own_cgroup() {
            while cgroup.exists() {
                assert!(
                    Instant::now() < deadline,
                    "procmux's cgroup {} is left behind",
                    cgroup.display()
                );
                thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// The cgroup procmux made for its processes, from its first line, if it tracks by
    /// cgroup.
    fn own_cgroup(&self) -> Option<std::path::PathBuf> {
        let lines = self.lines();
        let line = lines
            .iter()
            .find(|l| l.contains("processes tracked by cgroup ("))?;
        let path = line.split_once("processes tracked by cgroup (")?.1;
        Some(std::path::PathBuf::from(path.strip_suffix(')')?))
    }

    /// Waits until `count` tagged processes whose command name is `comm` are alive.
    pub fn wait_for_processes(&self, comm: &str, count: usize) -> Vec<i32> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let found: Vec<i32> = self
                .tagged_processes()
                .into_iter()
                .filter(|pid| command_name(*pid).as_deref() == Some(comm))
                .collect();
            if found.len() >= count {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {count} {comm} processes; have {}; output:\n{}",
                describe(&found),
                self.lines().join("\n")
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// procmux's peak resident memory (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    }

    /// The manifest's folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The folder of this test's control socket (its `XDG_RUNTIME_DIR`).
    pub fn runtime_dir(&self) -> std::path::PathBuf {
        self.dir.path().join(".runtime")
    }

    /// Runs `procmux ARGS` in the manifest's folder with this test's runtime folder, as a
    /// client command from another terminal would, and returns its output.
    pub fn client(&self, args: &[&str]) -> std::process::Output {
        self.client_command(args).output().unwrap()
    }

    /// The command of [`client`](Self::client), for tests that need to drive it.
    pub fn client_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_procmux"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("PROCMUX_TEST_TOKEN", &self.token)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        command
    }
}

/// Helpers for the dependency and watch tests: system lines, pids, status, files.
impl Procmux {
    /// Waits for the `system` line that is exactly `text` after the prefix, and returns it.
    pub fn wait_for_system(&self, text: &str) -> String {
        self.wait_for(text, |l| is_system(l, text))
    }

    /// Waits for a `system` line whose text starts with `text`, and returns that text.
    pub fn wait_for_system_prefix(&self, text: &str) -> String {
        let line = self.wait_for(text, |l| {
            system_text(l).is_some_and(|t| t.starts_with(text))
        });
        system_text(&line).unwrap().to_owned()
    }

    /// The texts of every `system` line so far, in order.
    pub fn system_lines(&self) -> Vec<String> {
        self.lines()
            .iter()
            .filter_map(|l| system_text(l).map(str::to_owned))
            .collect()
    }

    /// The index of the first printed line that satisfies `pred`, panicking with the output
    /// when there is none.
    pub fn index_of(&self, what: &str, pred: impl Fn(&str) -> bool) -> usize {
        let lines = self.lines();
        lines
            .iter()
            .position(|l| pred(l))
            .unwrap_or_else(|| panic!("no line {what}; output:\n{}", lines.join("\n")))
    }

    /// The index of the first `system` line that is exactly `text`.
    pub fn index_of_system(&self, text: &str) -> usize {
        self.index_of(text, |l| is_system(l, text))
    }

    /// How many printed lines satisfy `pred` so far.
    pub fn count(&self, pred: impl Fn(&str) -> bool) -> usize {
        self.lines().iter().filter(|l| pred(l)).count()
    }

    /// The pids of `NAME started with pid N` lines for `name`, in order.
    pub fn started_pids(&self, name: &str) -> Vec<i32> {
        let prefix = format!("{name} started with pid ");
        self.system_lines()
            .iter()
            .filter_map(|t| t.strip_prefix(&prefix).map(|pid| pid.parse().unwrap()))
            .collect()
    }

    /// Waits for the `count`-th start of `name` and returns its pid.
    pub fn wait_for_start(&self, name: &str, count: usize) -> i32 {
        let text = format!("{name} started with pid ");
        self.wait_for_count(&text, count, |l| {
            system_text(l).is_some_and(|t| t.starts_with(&text))
        });
        self.started_pids(name)[count - 1]
    }

    /// `procmux status --json` as `(name, state, pid)` rows.
    pub fn status(&self) -> Vec<(String, String, Option<i32>)> {
        let output = self.client(&["status", "--json"]);
        assert!(
            output.status.success(),
            "status failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        json["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row["name"].as_str().unwrap().to_owned(),
                    row["state"].as_str().unwrap().to_owned(),
                    row["pid"].as_i64().map(|pid| pid as i32),
                )
            })
            .collect()
    }

    /// The pid `status` gives for `name`, if it runs.
    pub fn status_pid(&self, name: &str) -> Option<i32> {
        self.status()
            .into_iter()
            .find(|row| row.0 == name)
            .unwrap_or_else(|| panic!("{name} is not in status"))
            .2
    }

    /// Writes a file in the manifest's folder (in place, creating folders), returning its path.
    pub fn write(&self, relative: &str, text: &str) -> std::path::PathBuf {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Stops procmux with SIGINT, expects 130 and no survivors.
    pub fn interrupt(mut self) {
        self.signal(Signal::SIGINT);
        assert_eq!(
            code(self.wait_exit()),
            130,
            "output:\n{}",
            self.lines().join("\n")
        );
        self.assert_no_survivors();
    }

    /// CPU time procmux used so far (user + system), from `/proc/PID/stat`.
    pub fn cpu_time(&self) -> Duration {
        cpu_time(self.child.id() as i32)
    }
}

/// The text of a `system` line after `system | ` (the column may be padded), if it is one.
pub fn system_text(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("system")?;
    rest.trim_start_matches(' ').strip_prefix("| ")
}

/// Whether `line` is the `system` line `text`.
pub fn is_system(line: &str, text: &str) -> bool {
    system_text(line) == Some(text)
}

/// A TCP port that was free a moment ago on 127.0.0.1, so that tests running at once do not
/// fight over 5000. Below the kernel's ephemeral range (`ip_local_port_range`): a port from
/// that range can be taken as the local end of any outgoing connection before the server
/// binds it, and a connect to such a port with nothing listening can even connect to itself
/// (TCP simultaneous open), which would pass a check that should fail.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let low: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let (first, span) = (10_000, low.saturating_sub(10_000).max(1000));
    // Test binaries running at once start at different places.
    let seed = std::process::id().wrapping_mul(2_654_435_761) % span;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(n < span, "no free port below {low}");
        let port = u16::try_from(first + (seed + n) % span).unwrap();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// CPU time used by `pid` so far (utime + stime).
pub fn cpu_time(pid: i32) -> Duration {
    cpu_time_in(&format!("/proc/{pid}/stat"))
}

/// CPU time used by thread `tid` of `pid` so far.
pub fn cpu_time_of_task(pid: i32, tid: i32) -> Duration {
    cpu_time_in(&format!("/proc/{pid}/task/{tid}/stat"))
}

fn cpu_time_in(stat: &str) -> Duration {
    let stat = std::fs::read_to_string(stat).unwrap_or_default();
    if stat.is_empty() {
        return Duration::ZERO;
    }
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // Fields 14 and 15 of stat(5); `fields[0]` is field 3 (the state).
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 1000 / clock_ticks_per_second())
}

/// `getconf CLK_TCK`: the unit of the times in `/proc/PID/stat`.
fn clock_ticks_per_second() -> u64 {
    let output = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

/// The median of some figures (sorted in place).
pub fn median(figures: &mut [Duration]) -> Duration {
    figures.sort();
    figures[figures.len() / 2]
}

impl Drop for Procmux {
    /// Whatever the test's outcome, kill procmux and every process carrying the token.
    ///
    /// The watchdog carries the token too: once procmux is gone it kills what is left and
    /// removes procmux's cgroups, then exits. It gets a moment to do so before the rest is
    /// SIGKILLed, or its cleanup would be cut short and leave empty cgroups behind.
    fn drop(&mut self) {
        if !self.has_exited() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let cleanup_deadline = Instant::now() + Duration::from_secs(3);
        while !tagged_pids(&self.token, -1).is_empty() && Instant::now() < cleanup_deadline {
            thread::sleep(Duration::from_millis(10));
        }
        for pid in tagged_pids(&self.token, -1) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

fn spawn_reader(stream: impl Read + Send + 'static, lines: Arc<Lines>) {
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if buf.last() == Some(&b'\n') {
                        buf.pop();
                    }
                    lines.lines.lock().unwrap().push(buf.clone());
                    lines.changed.notify_all();
                }
            }
        }
    });
}

/// Live pids whose environment holds `PROCMUX_TEST_TOKEN=token`, except `exclude`.
pub fn tagged_pids(token: &str, exclude: i32) -> Vec<i32> {
    let needle = format!("PROCMUX_TEST_TOKEN={token}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == exclude {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|b| *b == 0)
            .any(|var| var == needle.as_bytes())
            && is_alive(pid)
        {
            found.push(pid);
        }
    }
    found
}

/// Whether a pid exists and is not a zombie.
pub fn is_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

/// The state letter of a pid in `/proc` (`S`, `R`, `T`, `Z`...), if it exists.
pub fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

fn command_name(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_owned())
}

fn describe(pids: &[i32]) -> String {
    pids.iter()
        .map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            format!(
                "{pid} ({})",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The exit code procmux gave, panicking if it died of a signal.
pub fn code(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| panic!("procmux itself died of a signal: {status:?}"))
}
