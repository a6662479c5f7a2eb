//! `procmux probe` as the real binary: exit 0 on a listening port, 1 with the last failure on
//! a closed one once its timeout runs out, 2 on bad arguments.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;

fn procmux() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_procmux"));
    command.timeout(Duration::from_secs(30));
    command
}

fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[test]
fn a_listening_port_is_ready() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    procmux()
        .args(["probe", "--tcp", &port.to_string(), "--timeout", "5s"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    procmux()
        .args(["probe", "-v", "--tcp", &format!("127.0.0.1:{port}")])
        .assert()
        .success()
        .stderr(predicate::str::starts_with(format!(
            "ready: tcp 127.0.0.1:{port} after "
        )));
}

#[test]
fn a_closed_port_is_not_ready_within_the_timeout() {
    let started = Instant::now();
    procmux()
        .args(["probe", "--tcp", &closed_port().to_string()])
        .args(["--timeout", "500ms", "--interval", "50ms"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("not ready within 500ms: connection refused\n");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn http_and_exec_checks() {
    procmux()
        .args(["probe", "--timeout", "300ms", "--http"])
        .arg(format!("http://127.0.0.1:{}/up", closed_port()))
        .assert()
        .code(1)
        .stderr("not ready within 300ms: connection refused\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("up");
    std::fs::write(&file, "").expect("write");
    procmux()
        .args(["probe", "--timeout", "5s", "--exec", "test", "-f"])
        .arg(&file)
        .assert()
        .success();
    procmux()
        .args([
            "probe",
            "--timeout",
            "300ms",
            "--exec",
            "test -f /nonexistent/x",
        ])
        .assert()
        .code(1)
        .stderr("not ready within 300ms: exit code 1\n");
}

#[test]
fn bad_arguments_exit_2() {
    for args in [
        &["probe"][..],
        &["probe", "--tcp", "1", "--http", "http://h/"],
        &["probe", "--tcp", "0"],
        &["probe", "--http", "https://example.com/"],
        &["probe", "--tcp", "1", "--timeout", "soon"],
    ] {
        procmux().args(args).assert().code(2);
    }
}
