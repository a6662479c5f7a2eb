//! Control from another terminal, against the real binary: `status`, `restart`, `stop`,
//! `logs` on a running procmux, pids checked in `/proc`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::Instant;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::{DEADLINE, Procmux, code, is_alive};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `procmux status --json` as `(name, state, pid)` rows.
fn status(procmux: &Procmux) -> Vec<(String, String, Option<i32>)> {
    let output = procmux.client(&["status", "--json"]);
    assert!(
        output.status.success(),
        "status failed: {}",
        text(&output.stderr)
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

/// The pid procmux reported for `name` on its last `started` line.
fn started_pid(procmux: &Procmux, name: &str) -> i32 {
    let prefix = format!("system | {name} started with pid ");
    let lines = procmux.lines();
    let line = lines
        .iter()
        .rev()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no start of {name}: {lines:#?}"));
    line[prefix.len()..].parse().unwrap()
}

/// The status once `count` sleeps run and procmux has taken in every start: a process runs
/// a moment before that (its `started` line and the state `running` come together, in
/// manifest order).
fn all_running(procmux: &Procmux, count: usize) -> Vec<(String, String, Option<i32>)> {
    procmux.wait_for_processes("sleep", count);
    let deadline = std::time::Instant::now() + crate::support::DEADLINE;
    loop {
        let rows = status(procmux);
        if rows.iter().all(|(_, state, _)| state == "running") {
            return rows;
        }
        assert!(std::time::Instant::now() < deadline, "{rows:#?}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn stop_all(mut procmux: Procmux) {
    procmux.signal(Signal::SIGTERM);
    assert_eq!(code(procmux.wait_exit()), 143);
    procmux.assert_no_survivors();
}

const TWO_SLEEPERS: &str = "\
[processes.web]\ncommand = \"sleep 1000\"\ninstances = 2\n\n\
[processes.worker]\ncommand = \"sleep 1000\"\n";

#[test]
fn status_shows_the_real_pids() {
    let procmux = Procmux::toml(TWO_SLEEPERS);
    let rows = all_running(&procmux, 3);
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names, ["web.1", "web.2", "worker"]);
    for (name, state, pid) in &rows {
        assert_eq!(state, "running", "{name}");
        let pid = pid.unwrap();
        assert_eq!(pid, started_pid(&procmux, name));
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
        assert_eq!(comm.trim(), "sleep", "{name}");
    }
    // The table form too.
    let table = text(&procmux.client(&["status"]).stdout);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.contains("worker"), "{table}");
    stop_all(procmux);
}

#[test]
fn restart_of_one_instance_changes_only_its_pid_and_returns_once_it_runs() {
    let procmux = Procmux::toml(TWO_SLEEPERS);
    let before = all_running(&procmux, 3);
    let output = procmux.client(&["restart", "web.1"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let said = text(&output.stdout);
    let new_pid: i32 = said
        .trim()
        .strip_prefix("restarted web.1 (pid ")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected answer {said:?}"))
        .parse()
        .unwrap();
    // The answer came once the new process ran.
    assert!(is_alive(new_pid), "{new_pid} does not run");
    let after = status(&procmux);
    assert_ne!(before[0].2, after[0].2);
    assert_eq!(after[0].2, Some(new_pid));
    assert!(!is_alive(before[0].2.unwrap()), "the old web.1 still runs");
    assert_eq!(before[1], after[1], "web.2 was touched");
    assert_eq!(before[2], after[2], "worker was touched");
    stop_all(procmux);
}

#[test]
fn a_stopped_process_stays_stopped_without_stopping_the_stack() {
    let mut procmux = Procmux::toml(TWO_SLEEPERS);
    all_running(&procmux, 3);
    let output = procmux.client(&["stop", "worker"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "stopped worker\n");
    let rows = status(&procmux);
    assert_eq!(rows[2].1, "stopped");
    assert_eq!(rows[2].2, None);
    assert_eq!(rows[0].1, "running");
    assert!(!procmux.has_exited(), "the stack stopped");
    let output = procmux.client(&["restart", "worker"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let rows = status(&procmux);
    assert_eq!(rows[2].1, "running");
    assert!(is_alive(rows[2].2.unwrap()));
    stop_all(procmux);
}

#[test]
fn logs_gives_exactly_the_last_lines_of_one_instance() {
    let procmux = Procmux::toml(
        "[processes.talker]\ncommand = \"for i in $(seq 1 20); do echo line $i; done; sleep 1000\"\n\n\
         [processes.other]\ncommand = \"echo other line; sleep 1000\"\n",
    );
    procmux.wait_for_text("talker | line 20");
    procmux.wait_for_text("other  | other line");
    let output = procmux.client(&["logs", "talker", "-n", "5"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let lines: Vec<String> = text(&output.stdout)
        .lines()
        .map(|l| l.split_once(' ').unwrap().1.to_owned())
        .collect();
    assert_eq!(
        lines,
        [
            "talker | line 16",
            "talker | line 17",
            "talker | line 18",
            "talker | line 19",
            "talker | line 20"
        ]
    );
    stop_all(procmux);
}

#[test]
fn logs_follow_follows_new_lines_and_stops_on_ctrl_c() {
    let procmux = Procmux::toml(
        "[processes.ticker]\ncommand = \"i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.1; done\"\n",
    );
    procmux.wait_for_text("ticker | tick 3");
    let mut follower = procmux
        .client_command(&["logs", "-f", "ticker", "-n", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(follower.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let first_tick: u32 = first.trim().rsplit(' ').next().unwrap().parse().unwrap();
    // Live lines arrive after the recent one.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "the follower ended"
        );
        let tick: u32 = line.trim().rsplit(' ').next().unwrap().parse().unwrap();
        if tick >= first_tick + 3 {
            break;
        }
        assert!(Instant::now() < deadline, "no live lines");
    }
    kill(Pid::from_raw(follower.id() as i32), Signal::SIGINT).unwrap();
    let status = follower.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "logs -f did not end cleanly on Ctrl-C"
    );
    stop_all(procmux);
}

#[test]
fn a_follower_that_reads_nothing_does_not_slow_the_children() {
    let procmux = Procmux::toml(
        "[processes.flood]\ncommand = \"seq 1 200000; echo flood-done; sleep 1000\"\n",
    );
    procmux.wait_for_text("flood started");
    // Its stdout is a pipe nobody reads: it fills after 64 KiB.
    let mut follower = procmux
        .client_command(&["logs", "-f", "flood"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    procmux.wait_for_text("flood  | flood-done");
    assert!(procmux.lines().iter().any(|l| l == "flood  | 200000"));
    let _ = follower.kill();
    let _ = follower.wait();
    stop_all(procmux);
}

#[test]
fn an_unknown_name_exits_2_and_changes_nothing() {
    let procmux = Procmux::toml(TWO_SLEEPERS);
    let before = all_running(&procmux, 3);
    let output = procmux.client(&["restart", "web.1", "wroker"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("did you mean \"worker\"?"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(status(&procmux), before);
    let output = procmux.client(&["stop", "nope"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(status(&procmux), before);
    stop_all(procmux);
}

#[test]
fn a_second_run_of_the_same_manifest_is_refused() {
    let procmux = Procmux::toml(TWO_SLEEPERS);
    procmux.wait_for_processes("sleep", 3);
    let output = procmux.client(&["run", "-f", "procmux.toml"]);
    assert_eq!(output.status.code(), Some(2));
    let said = text(&output.stderr);
    assert!(
        said.contains(&format!(
            "procmux is already running procmux.toml (pid {}); use procmux status, restart or stop",
            procmux.pid()
        )),
        "{said}"
    );
    // The three sleeps and the watchdog, nothing of the second run.
    assert_eq!(
        procmux.tagged_processes().len(),
        4,
        "the second run started something"
    );
    stop_all(procmux);
}

#[test]
fn the_socket_is_private_and_removed_by_stop() {
    let mut procmux = Procmux::toml(TWO_SLEEPERS);
    procmux.wait_for_processes("sleep", 3);
    let folder = procmux.runtime_dir().join("procmux");
    let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let socket = std::fs::read_dir(&folder)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "sock"))
        .expect("a socket");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let output = procmux.client(&["stop"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(code(procmux.wait_exit()), 143);
    assert!(!socket.exists(), "the socket outlived procmux");
    procmux.assert_no_survivors();
    let output = procmux.client(&["status"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("procmux is not running here"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn garbage_huge_lines_and_many_clients_leave_the_stack_and_socket_working() {
    let procmux = Procmux::toml(TWO_SLEEPERS);
    procmux.wait_for_processes("sleep", 3);
    let folder = procmux.runtime_dir().join("procmux");
    let socket = std::fs::read_dir(&folder)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "sock"))
        .expect("a socket");
    for payload in [b"not json at all\n".to_vec(), vec![b'x'; 1024 * 1024]] {
        let mut stream = UnixStream::connect(&socket).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let _ = stream.write_all(&payload);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        assert!(
            text(&answer).contains("\"type\":\"error\""),
            "no error reply: {}",
            text(&answer)
        );
    }
    let clients: Vec<_> = (0..50)
        .map(|_| {
            procmux
                .client_command(&["status", "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for client in clients {
        let output = client.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    assert_eq!(status(&procmux).len(), 3);
    stop_all(procmux);
}
