//! What people coming from foreman, honcho and overmind expect: `start` and `-c`, `release:`,
//! discovery, start errors in the shell's words, the `|` column, Ctrl-Z, and `procmux exec`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::{DEADLINE, Procmux, Start, code, process_state};

fn stop(mut procmux: Procmux) {
    procmux.signal(Signal::SIGINT);
    assert_eq!(code(procmux.wait_exit()), 130);
    procmux.assert_no_survivors();
}

fn start(file: &str, manifest: &str, args: &[&str], files: &[(&str, &str)]) -> Procmux {
    Procmux::start_with(Start {
        file,
        manifest,
        args,
        read_stdout: true,
        files,
    })
}

#[test]
fn release_is_skipped_and_takes_no_port() {
    let procmux = start(
        "Procfile",
        "release: echo migrating\nweb: echo PORT=$PORT; sleep 1000\nworker: echo PORT=$PORT; sleep 1000\n",
        &[],
        &[],
    );
    // `release` is registered too, so the prefix column is 7 wide.
    procmux.wait_for_text("web     | PORT=5000");
    procmux.wait_for_text("worker  | PORT=5100");
    procmux.wait_for("the release notice", |l| {
        l.starts_with("system ")
            && l.contains(" | release is a Heroku release-phase command: not started")
    });
    assert!(
        !procmux.lines().iter().any(|l| l.contains("migrating")),
        "{:#?}",
        procmux.lines()
    );
    stop(procmux);
}

#[test]
fn release_runs_when_named() {
    let mut procmux = start(
        "Procfile",
        "release: echo migrating\nweb: sleep 1000\n",
        &["release"],
        &[],
    );
    procmux.wait_for_text("release | migrating");
    assert_eq!(code(procmux.wait_exit()), 0);
    assert!(!procmux.lines().iter().any(|l| l.contains("web started")));
}

#[test]
fn start_is_run_and_c_is_the_formation() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Procfile"), "web: echo $PS; sleep 1000\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_procmux"))
        .args([
            "start",
            "-c",
            "web=2",
            "--no-timestamps",
            "--color",
            "never",
        ])
        .current_dir(dir.path())
        .env("XDG_RUNTIME_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while seen.len() < 2 {
        let line = lines.next().expect("procmux ended").unwrap();
        if line.starts_with("web.") && line.contains(" | web.") {
            seen.push(line);
        }
    }
    seen.sort();
    assert_eq!(seen, ["web.1  | web.1", "web.2  | web.2"]);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
}

#[test]
fn procfile_dev_is_found_and_a_shadowed_procfile_is_named() {
    // Only Procfile.dev: found, with a line saying so. The harness passes -f, so run the
    // discovery in a folder of our own.
    for (files, notice) in [
        (
            vec![("Procfile.dev", "web: sleep 1000\n")],
            "system | using Procfile.dev (no procmux.toml or Procfile here)",
        ),
        (
            vec![
                (
                    "procmux.toml",
                    "[processes.web]\ncommand = \"sleep 1000\"\n",
                ),
                ("Procfile", "web: sleep 1000\n"),
            ],
            "system | using procmux.toml; Procfile is ignored (use it with -f Procfile)",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in &files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_procmux"))
            .args(["run", "--no-timestamps", "--color", "never"])
            .current_dir(dir.path())
            .env("XDG_RUNTIME_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .take(3)
            .map(Result::unwrap)
            .collect();
        // The first line says how processes are tracked; the notice follows, before any start.
        assert!(
            lines[0].starts_with("system | processes tracked by "),
            "{lines:#?}"
        );
        assert_eq!(lines[1], notice, "{lines:#?}");
        assert!(
            lines[2].starts_with("system | web started with pid"),
            "{lines:#?}"
        );
        kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(130));
    }
}

#[test]
fn dash_e_replaces_dot_env() {
    let procmux = start(
        "Procfile",
        "web: echo \"A=$A B=$B\"; sleep 1000\n",
        &["-e", ".env.test"],
        &[
            (".env", "A=development\nB=dev-only\n"),
            (".env.test", "A=test\n"),
        ],
    );
    procmux.wait_for_text("web    | A=test B=");
    stop(procmux);
}

#[test]
fn start_errors_are_in_the_shells_words() {
    for (manifest, files, expected) in [
        (
            "web: bundle-not-installed exec puma\nother: sleep 1000\n",
            vec![],
            "system | web failed to start: bundle-not-installed: command not found",
        ),
        (
            "web: bin/rails server\nother: sleep 1000\n",
            vec![("bin/rails", "#!/bin/sh\necho hi\n")],
            "system | web failed to start: bin/rails: permission denied (not executable; chmod +x bin/rails?)",
        ),
    ] {
        let mut procmux = start("Procfile", manifest, &[], &files);
        procmux.wait_for_text(expected);
        assert_eq!(code(procmux.wait_exit()), 127);
        procmux.assert_no_survivors();
    }
    let mut procmux = start(
        "procmux.toml",
        "[processes.web]\ncommand = \"sleep 1000\"\ncwd = \"services/web\"\n",
        &[],
        &[],
    );
    procmux.wait_for_text("system | web failed to start: no such folder: services/web (cwd)");
    assert_eq!(code(procmux.wait_exit()), 127);
    let mut procmux = start(
        "Procfile",
        "web: echo hi | cat\n",
        &["--shell", "/no/such/zsh"],
        &[],
    );
    procmux.wait_for_text("system | web failed to start: /no/such/zsh: command not found");
    assert_eq!(code(procmux.wait_exit()), 127);
}

#[test]
fn the_bar_stands_in_one_column_from_the_first_line() {
    let procmux = start(
        "Procfile",
        "a: echo short; sleep 1000\nbackground-worker: sleep 0.3; echo long; sleep 1000\n",
        &[],
        &[],
    );
    procmux.wait_for_text("long");
    let lines = procmux.lines();
    let columns: Vec<usize> = lines.iter().filter_map(|l| l.find(" | ")).collect();
    assert!(columns.len() >= 4, "{lines:#?}");
    assert!(
        columns.iter().all(|&c| c == "background-worker".len()),
        "the bar moved: {lines:#?}"
    );
    stop(procmux);
}

#[test]
fn ctrl_z_stops_every_child_and_fg_continues_them() {
    let mut procmux = start(
        "Procfile",
        "a: sleep 1000\nb: sh -c 'sleep 1000 & wait'\n",
        &[],
        &[],
    );
    let sleeps = procmux.wait_for_processes("sleep", 2);
    procmux.signal(Signal::SIGTSTP);
    let deadline = Instant::now() + DEADLINE;
    let procmux_pid = procmux.pid().as_raw();
    while !(sleeps.iter().all(|&p| process_state(p) == Some('T'))
        && process_state(procmux_pid) == Some('T'))
    {
        assert!(
            Instant::now() < deadline,
            "not all stopped: {:?}, procmux {:?}",
            sleeps.iter().map(|&p| process_state(p)).collect::<Vec<_>>(),
            process_state(procmux_pid)
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    procmux.signal(Signal::SIGCONT);
    while !sleeps.iter().all(|&p| process_state(p) == Some('S')) {
        assert!(Instant::now() < deadline, "not all continued");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!procmux.has_exited());
    stop(procmux);
}

/// Runs `procmux exec ARGS` in a folder holding these files.
fn exec(files: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    Command::new(env!("CARGO_BIN_EXE_procmux"))
        .arg("exec")
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

const APP: &[(&str, &str)] = &[
    (".env", "DATABASE_URL=postgres://localhost/dev\n"),
    (
        "Procfile",
        "web: echo web-ran PORT=$PORT PS=$PS\nworker: sleep 1000\n",
    ),
];

#[test]
fn exec_passes_the_environment_and_the_exit_code() {
    let output = exec(APP, &["--", "sh", "-c", "echo $DATABASE_URL; exit 3"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "postgres://localhost/dev\n"
    );
    assert_eq!(output.status.code(), Some(3));
    let output = exec(APP, &["echo $DATABASE_URL from the shell"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "postgres://localhost/dev from the shell\n"
    );
    let output = exec(APP, &["web"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "web-ran PORT=5000 PS=web.1\n"
    );
    let output = exec(
        APP,
        &["--process", "worker", "--", "sh", "-c", "echo $PS $PORT"],
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "worker.1 5100\n");
    let output = exec(APP, &["--", "sh", "-c", "kill -9 $$"]);
    assert_eq!(output.status.code(), Some(137));
    let output = exec(APP, &["--", "no-such-program-here"]);
    assert_eq!(output.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no-such-program-here: command not found"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn exec_forwards_signals_to_the_command() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Procfile"), "web: sleep 1000\n").unwrap();
    for (signal, expected) in [
        (Signal::SIGTERM, "got TERM"),
        (Signal::SIGINT, "got INT"),
        (Signal::SIGHUP, "got HUP"),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_procmux"))
            .args([
                "exec",
                "--",
                "sh",
                "-c",
                "trap 'echo got TERM; exit 7' TERM; trap 'echo got INT; exit 7' INT; \
                 trap 'echo got HUP; exit 7' HUP; echo ready; while :; do sleep 0.05; done",
            ])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert_eq!(lines.next().unwrap().unwrap(), "ready");
        kill(Pid::from_raw(child.id() as i32), signal).unwrap();
        assert_eq!(lines.next().unwrap().unwrap(), expected);
        assert_eq!(child.wait().unwrap().code(), Some(7));
    }
}

#[test]
fn exec_gives_the_command_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Procfile"), "web: sleep 1000\n").unwrap();
    // `script` runs procmux on a fresh pseudo-terminal, as in a real terminal window.
    let line = format!(
        "{} exec -- sh -c 'test -t 0 && test -t 1 && echo on-a-tty; \
         [ \"$(ps -o tpgid= -p $$ | tr -d \" \")\" = \"$(ps -o pgid= -p $$ | tr -d \" \")\" ] && echo in-the-foreground'",
        env!("CARGO_BIN_EXE_procmux")
    );
    let output = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("on-a-tty"), "{said:?}");
    assert!(said.contains("in-the-foreground"), "{said:?}");
    assert_eq!(output.status.code(), Some(0), "{said:?}");
}

#[test]
fn on_a_terminal_the_first_line_after_ctrl_c_is_not_glued_to_the_echoed_c() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Procfile"), "web: sleep 1000\n").unwrap();
    // `script` gives procmux a pseudo-terminal; a 0x03 byte on it is a typed Ctrl-C: the
    // terminal echoes `^C` and sends SIGINT to procmux's process group.
    let line = format!(
        "{} run --no-timestamps --color never",
        env!("CARGO_BIN_EXE_procmux")
    );
    let mut script = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(dir.path())
        .env("XDG_RUNTIME_DIR", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = script.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("web started with pid") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "procmux ended: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let mut stdin = script.stdin.take().unwrap();
    stdin.write_all(b"\x03").unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    drop(stdin);
    let _ = script.wait();
    let output = String::from_utf8_lossy(&seen);
    assert!(
        output.contains("^C\r\nsystem | received SIGINT"),
        "{output:?}"
    );
}
