//! Signals to procmux: which stop it, that a second one of any kind kills at once, and that
//! the others neither end procmux nor reach its children; and the order of exit lines.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::support::{Procmux, Start, code};

#[test]
fn usr1_usr2_and_alrm_neither_end_procmux_nor_reach_the_children() {
    let mut procmux = Procmux::toml(
        "[processes.listener]\n\
         command = \"trap 'echo got USR1' USR1; trap 'echo got USR2' USR2; \
         trap 'echo got ALRM' ALRM; echo ready; \
         while [ ! -e marker ]; do sleep 0.05; done; echo after; sleep 1000\"\n",
    );
    procmux.wait_for_text("listener | ready");
    for signal in [Signal::SIGUSR1, Signal::SIGUSR2, Signal::SIGALRM] {
        procmux.signal(signal);
    }
    // Created after the signals were sent: a forwarded signal's trap would print before the
    // child sees the file.
    std::fs::write(procmux.path().join("marker"), "").unwrap();
    procmux.wait_for_text("listener | after");
    assert!(
        !procmux.has_exited(),
        "procmux died of a signal it should ignore"
    );
    let lines = procmux.lines();
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("got USR") || l.contains("got ALRM")),
        "a signal reached the child: {lines:#?}"
    );
    procmux.signal(Signal::SIGTERM);
    assert_eq!(code(procmux.wait_exit()), 143);
    procmux.assert_no_survivors();
}

#[test]
fn a_second_hangup_or_quit_kills_at_once() {
    for (first, second) in [
        (Signal::SIGHUP, Signal::SIGHUP),
        (Signal::SIGQUIT, Signal::SIGQUIT),
        (Signal::SIGHUP, Signal::SIGINT),
    ] {
        let mut procmux = Procmux::toml(
            "[processes.stubborn]\ncommand = \"trap '' TERM INT HUP QUIT; while :; do sleep 0.1; done\"\n\
             stop_timeout = \"60s\"\n",
        );
        procmux.wait_for_processes("sleep", 1);
        procmux.signal(first);
        procmux.wait_for_text("stopping all processes");
        let sent = Instant::now();
        procmux.signal(second);
        procmux.wait_for_text("again: killing all processes");
        let status = procmux.wait_exit();
        assert!(
            sent.elapsed() < Duration::from_secs(20),
            "waited for the grace"
        );
        assert_eq!(code(status), 128 + first as i32);
        procmux.assert_no_survivors();
    }
}

#[test]
fn each_exit_line_comes_after_every_line_of_its_process() {
    // 100 instances each print a 40-line traceback and fail at once: in every one, the exit
    // line follows the traceback's last line.
    let mut procmux = Procmux::start_with(Start {
        file: "procmux.toml",
        manifest: "[processes.crash]\n\
                   command = \"for i in $(seq 1 40); do echo \\\"  File app.py, line $i\\\"; done; exit 1\"\n\
                   instances = 100\ncan_die = true\n",
        args: &[],
        read_stdout: true,
        files: &[],
    });
    assert_eq!(code(procmux.wait_exit()), 1);
    let lines = procmux.lines();
    for i in 1..=100 {
        let name = format!("crash.{i}");
        let exit = lines
            .iter()
            .position(|l| l.ends_with(&format!("| {name} exited with code 1")))
            .unwrap_or_else(|| panic!("no exit line for {name}"));
        let prefix = format!("{name} ");
        let last = lines
            .iter()
            .rposition(|l| l.starts_with(&prefix) && l.contains("File app.py"))
            .unwrap_or_else(|| panic!("no output of {name}"));
        let count = lines
            .iter()
            .filter(|l| l.starts_with(&prefix) && l.contains("File app.py"))
            .count();
        assert_eq!(count, 40, "{name} lost lines");
        assert!(last < exit, "{name}'s exit line came before its last line");
    }
    procmux.assert_no_survivors();
}

#[test]
fn the_example_stops_without_terminated_lines() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let manifest = std::fs::read_to_string(root.join("procmux.toml")).unwrap();
    let env = std::fs::read_to_string(root.join(".env")).unwrap();
    let scripts: Vec<(String, String)> = ["web.sh", "worker.sh", "clock.sh"]
        .iter()
        .map(|s| {
            (
                format!("bin/{s}"),
                std::fs::read_to_string(root.join("bin").join(s)).unwrap(),
            )
        })
        .collect();
    let mut files: Vec<(&str, &str)> = vec![(".env", &env)];
    files.extend(scripts.iter().map(|(n, t)| (n.as_str(), t.as_str())));
    let mut procmux = Procmux::start_with(Start {
        file: "procmux.toml",
        manifest: &manifest,
        args: &[],
        read_stdout: true,
        files: &files,
    });
    procmux.wait_for_text("clock: tick at");
    procmux.wait_for_text("worker: started job 1");
    procmux.signal(Signal::SIGINT);
    assert_eq!(code(procmux.wait_exit()), 130);
    let lines = procmux.lines();
    assert!(
        !lines.iter().any(|l| l.contains("Terminated")),
        "{lines:#?}"
    );
    procmux.wait_for_text("web: shutting down");
    procmux.assert_no_survivors();
}
