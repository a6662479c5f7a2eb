//! The built `procmux` binary's client commands against a server in the test process: exit
//! codes and messages as the user sees them.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::{DEADLINE, Fixture};

/// `procmux ARGS` in `cwd` with the fixture's runtime dir, killed at the deadline.
fn procmux(cwd: &Path, runtime_dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_procmux"))
        .args(args)
        .current_dir(cwd)
        .env("XDG_RUNTIME_DIR", runtime_dir)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TZ", "UTC")
        .timeout(DEADLINE)
        .assert()
}

fn output(assert: &assert_cmd::assert::Assert) -> (Option<i32>, String, String) {
    let output = assert.get_output();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn every_verb_with_its_exit_code() {
    let fixture = Fixture::start("");
    let (cwd, rt) = (fixture.project.path(), fixture.runtime_dir.path());

    let (code, stdout, stderr) = output(&procmux(cwd, rt, &["status"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("NAME    STATE    PID"), "{stdout}");
    assert!(stdout.contains("worker  exited"), "{stdout}");

    let (code, stdout, _) = output(&procmux(cwd, rt, &["status", "--json"]));
    assert_eq!(code, Some(0));
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["instances"][0]["name"], "web.1");

    let (code, stdout, _) = output(&procmux(cwd, rt, &["restart", "web"]));
    assert_eq!((code, stdout.as_str()), (Some(0), "restarted web\n"));

    let (code, stdout, stderr) = output(&procmux(cwd, rt, &["restart", "wbe"]));
    assert_eq!(code, Some(2));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "error: no process or instance named \"wbe\"; did you mean \"web\"?\n"
    );

    // restart needs a name: a usage error, and nothing is sent.
    let (code, _, _) = output(&procmux(cwd, rt, &["restart"]));
    assert_eq!(code, Some(2));

    let (code, stdout, _) = output(&procmux(cwd, rt, &["stop", "worker", "web.2"]));
    assert_eq!(
        (code, stdout.as_str()),
        (Some(0), "stopped worker, web.2\n")
    );

    let (code, stdout, _) = output(&procmux(cwd, rt, &["logs", "-n", "1", "worker"]));
    assert_eq!(code, Some(0));
    assert_eq!(stdout, "22:13:25 worker | idle\n");

    let (code, stdout, _) = output(&procmux(
        cwd,
        rt,
        &["logs", "web", "--file", "procmux.toml"],
    ));
    assert_eq!(code, Some(0));
    assert_eq!(
        stdout,
        "22:13:20 web.1  | listening on 5000\n\
         22:13:21 web.2  | listening on 5001\n\
         22:13:23 web.1  | GET /\n\
         22:13:24 web.2  | GET /health\n"
    );

    let (code, _, stderr) = output(&procmux(cwd, rt, &["logs", "db"]));
    assert_eq!(code, Some(2), "{stderr}");

    // Found through -f and -d from another folder too.
    let elsewhere = tempfile::tempdir().unwrap();
    let manifest = fixture.manifest();
    let manifest = manifest.to_str().unwrap();
    let (code, _, stderr) = output(&procmux(elsewhere.path(), rt, &["status", "-f", manifest]));
    assert_eq!(code, Some(0), "{stderr}");
    let root = cwd.to_str().unwrap();
    let (code, _, stderr) = output(&procmux(elsewhere.path(), rt, &["status", "-d", root]));
    assert_eq!(code, Some(0), "{stderr}");

    // The whole stack: answered, then the server goes away.
    let (code, stdout, _) = output(&procmux(cwd, rt, &["stop"]));
    assert_eq!((code, stdout.as_str()), (Some(0), "stopping procmux\n"));
    assert!(!fixture.socket.exists());
}

#[test]
fn every_verb_without_a_server_says_it_is_not_running() {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("procmux.toml"), "").unwrap();
    let runtime_dir = tempfile::tempdir().unwrap();
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["restart", "web"],
        &["stop"],
        &["stop", "web"],
        &["logs"],
        &["logs", "-f"],
    ] {
        let (code, stdout, stderr) = output(&procmux(project.path(), runtime_dir.path(), args));
        assert_eq!(code, Some(1), "{args:?}");
        assert_eq!(stdout, "", "{args:?}");
        assert_eq!(
            stderr, "procmux is not running here (no server for ./procmux.toml)\n",
            "{args:?}"
        );
    }
    let empty = tempfile::tempdir().unwrap();
    let (code, _, stderr) = output(&procmux(empty.path(), runtime_dir.path(), &["status"]));
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "procmux is not running here (no procmux.toml, Procfile or Procfile.dev in .)\n"
    );
}

/// Starts `procmux logs -f` and returns it with a reader of its stdout lines.
fn follow(fixture: &Fixture) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_procmux"))
        .args(["logs", "-f", "-n", "0"])
        .current_dir(fixture.project.path())
        .env("XDG_RUNTIME_DIR", fixture.runtime_dir.path())
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits for the child with the deadline, killing it (by its pid) if it overstays.
fn wait(mut child: std::process::Child) -> (Option<i32>, String) {
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            return (status.code(), stderr);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("procmux logs -f did not end");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn live_line(text: &str) -> procmux::control::LogLine {
    procmux::control::LogLine {
        name: "web.1".into(),
        stream: procmux::control::Stream::Stdout,
        at_ms: 0,
        bytes: text.as_bytes().to_vec(),
    }
}

#[test]
fn logs_follow_ends_with_ctrl_c_and_exit_0() {
    let fixture = Fixture::start("");
    let (child, lines) = follow(&fixture);
    let follower = fixture.next_follower();
    follower.send(live_line("first")).unwrap();
    assert_eq!(
        lines.recv_timeout(DEADLINE).unwrap(),
        "00:00:00 web.1  | first"
    );
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let (code, stderr) = wait(child);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn logs_follow_ends_when_procmux_goes_away() {
    let mut fixture = Fixture::start("");
    let (child, lines) = follow(&fixture);
    let follower = fixture.next_follower();
    follower.send(live_line("last words")).unwrap();
    assert_eq!(
        lines.recv_timeout(DEADLINE).unwrap(),
        "00:00:00 web.1  | last words"
    );
    fixture.stop_server();
    let (code, stderr) = wait(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "procmux stopped\n");
    drop(follower);
}
