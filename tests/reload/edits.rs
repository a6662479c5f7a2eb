//! Editing the manifest and env files of a running procmux: only what changed restarts.

use std::path::Path;

use nix::sys::signal::Signal;

use crate::support::{Procmux, Start, code, is_alive};

/// The pid in the last `NAME started with pid N` line for `name`.
fn pid_of(procmux: &Procmux, name: &str) -> i32 {
    let prefix = format!("system | {name} started with pid ");
    procmux
        .lines()
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix(&prefix).map(|pid| pid.parse().unwrap()))
        .unwrap_or_else(|| panic!("{name} never started: {:#?}", procmux.lines()))
}

fn started_count(procmux: &Procmux, name: &str) -> usize {
    let prefix = format!("system | {name} started with pid ");
    procmux
        .lines()
        .iter()
        .filter(|l| l.starts_with(&prefix))
        .count()
}

fn reload_lines(procmux: &Procmux) -> Vec<String> {
    procmux
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("system | reload: "))
        .collect()
}

/// Writes a file the way editors that save in place do.
fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// Writes a file the way editors that save atomically do: a new file renamed over the old.
fn write_by_rename(path: &Path, text: &str) {
    let temp = path.with_extension("swp-procmux-test");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

const TWO: &str =
    "[processes.a]\ncommand = \"sleep 1000\"\n\n[processes.b]\ncommand = \"sleep 1000\"\n";

fn start(manifest: &str) -> Procmux {
    let procmux = Procmux::toml(manifest);
    for process in manifest
        .lines()
        .filter_map(|l| l.strip_prefix("[processes."))
    {
        procmux.wait_for_text(&format!(
            "{} started with pid",
            process.trim_end_matches(']')
        ));
    }
    procmux
}

fn stop(mut procmux: Procmux) {
    procmux.signal(Signal::SIGINT);
    assert_eq!(code(procmux.wait_exit()), 130);
    procmux.assert_no_survivors();
}

#[test]
fn only_the_changed_process_gets_a_new_pid() {
    let procmux = start(TWO);
    let (a, b) = (pid_of(&procmux, "a"), pid_of(&procmux, "b"));
    write(
        &procmux.path().join("procmux.toml"),
        &TWO.replacen("sleep 1000", "sleep 1001", 2)
            .replacen("sleep 1001", "sleep 1000", 1),
    );
    procmux.wait_for_text("reload: ~b");
    procmux.wait_for_count("b's second start", 2, |l| l.contains("b started with pid"));
    assert_eq!(pid_of(&procmux, "a"), a, "a was restarted");
    assert_eq!(started_count(&procmux, "a"), 1);
    assert!(is_alive(a));
    assert_ne!(pid_of(&procmux, "b"), b);
    assert!(!is_alive(b), "the old b survived its replacement");
    stop(procmux);
}

#[test]
fn added_and_removed_processes_start_and_stop() {
    let procmux = start(TWO);
    let (a, b) = (pid_of(&procmux, "a"), pid_of(&procmux, "b"));
    write(
        &procmux.path().join("procmux.toml"),
        "[processes.a]\ncommand = \"sleep 1000\"\n\n[processes.c]\ncommand = \"sleep 1000\"\n",
    );
    procmux.wait_for_text("reload: +c -b");
    procmux.wait_for_text("c started with pid");
    procmux.wait_for_text("b exited");
    assert!(!is_alive(b));
    assert_eq!(pid_of(&procmux, "a"), a);
    assert!(is_alive(a));
    stop(procmux);
}

#[test]
fn an_invalid_edit_keeps_everything_and_the_next_valid_edit_applies() {
    let procmux = start(TWO);
    let (a, b) = (pid_of(&procmux, "a"), pid_of(&procmux, "b"));
    let path = procmux.path().join("procmux.toml");
    write(
        &path,
        &TWO.replace(
            "command = \"sleep 1000\"\n\n[processes.b]",
            "comand = \"x\"\n\n[processes.b]",
        ),
    );
    procmux.wait_for_text("reload: the manifest is invalid");
    procmux.wait_for_text("unknown key \"comand\"");
    assert!(is_alive(a) && is_alive(b));
    assert_eq!(
        (started_count(&procmux, "a"), started_count(&procmux, "b")),
        (1, 1)
    );

    write(
        &path,
        &format!("{TWO}\n[processes.c]\ncommand = \"sleep 1000\"\n"),
    );
    procmux.wait_for_text("reload: +c");
    procmux.wait_for_text("c started with pid");
    assert_eq!((pid_of(&procmux, "a"), pid_of(&procmux, "b")), (a, b));
    stop(procmux);
}

#[test]
fn an_editor_style_save_by_rename_is_seen() {
    let procmux = start(TWO);
    let path = procmux.path().join("procmux.toml");
    write_by_rename(&path, &TWO.replace("[processes.b]", "[processes.bb]"));
    procmux.wait_for_text("reload: +bb -b");
    // The watch survives the rename: a second save is seen too.
    write_by_rename(&path, TWO);
    procmux.wait_for_text("reload: +b -bb");
    stop(procmux);
}

#[test]
fn a_burst_of_saves_gives_one_reload() {
    let procmux = start(TWO);
    let path = procmux.path().join("procmux.toml");
    for i in 1..=5 {
        write(
            &path,
            &format!("{TWO}\n[processes.burst]\ncommand = \"sleep {i}000\"\n"),
        );
    }
    procmux.wait_for_text("reload: +burst");
    // A later, different edit: any second reload of the burst would come before its line.
    write(
        &path,
        &format!(
            "{TWO}\n[processes.burst]\ncommand = \"sleep 5000\"\n\n[processes.late]\ncommand = \"sleep 1000\"\n"
        ),
    );
    procmux.wait_for_text("reload: +late");
    assert_eq!(
        reload_lines(&procmux),
        ["system | reload: +burst", "system | reload: +late"],
        "{:#?}",
        procmux.lines()
    );
    assert_eq!(started_count(&procmux, "burst"), 1);
    stop(procmux);
}

#[test]
fn an_env_file_change_restarts_exactly_the_processes_that_use_it() {
    let procmux = Procmux::start_with(Start {
        file: "procmux.toml",
        manifest: "[processes.a]\ncommand = \"sleep 1000\"\nenv_file = \".env.a\"\n\n\
                   [processes.b]\ncommand = \"sleep 1000\"\n",
        args: &[],
        read_stdout: true,
        files: &[(".env.a", "GREETING=hello\n")],
    });
    procmux.wait_for_text("a started with pid");
    procmux.wait_for_text("b started with pid");
    let (a, b) = (pid_of(&procmux, "a"), pid_of(&procmux, "b"));
    write(&procmux.path().join(".env.a"), "GREETING=goodbye\n");
    procmux.wait_for_text("reload: ~a");
    procmux.wait_for_count("a's second start", 2, |l| l.contains("a started with pid"));
    assert_ne!(pid_of(&procmux, "a"), a);
    assert_eq!(pid_of(&procmux, "b"), b);
    assert_eq!(started_count(&procmux, "b"), 1);
    stop(procmux);
}

/// Takes about a second to stop after its stop signal.
const SLOW: &str = "[processes.slow]\ncommand = \"trap 'sleep 1; exit 0' TERM; while true; do sleep 0.1; done\"\n\n";

#[test]
fn a_reload_during_a_reload_is_queued_and_applied_once() {
    let manifest = format!("{SLOW}[processes.b]\ncommand = \"sleep 1000\"\n");
    let procmux = start(&manifest);
    let path = procmux.path().join("procmux.toml");
    let edited = manifest.replace("sleep 0.1", "sleep 0.2");
    write(&path, &edited);
    procmux.wait_for_text("reload: ~slow");
    // slow takes a second to stop: this edit arrives while the first reload is still busy.
    write(&path, &edited.replace("sleep 1000", "sleep 1001"));
    procmux.wait_for_text("reload: ~b");
    procmux.wait_for_count("b's second start", 2, |l| l.contains("b started with pid"));
    let lines = procmux.lines();
    let position = |text: &str| lines.iter().position(|l| l.contains(text)).unwrap();
    assert!(
        position("slow exited") < position("reload: ~b"),
        "the second reload did not wait for the first: {lines:#?}"
    );
    assert_eq!(reload_lines(&procmux).len(), 2, "{lines:#?}");
    assert_eq!(started_count(&procmux, "slow"), 2);
    assert_eq!(started_count(&procmux, "b"), 2);
    stop(procmux);
}

#[test]
fn a_shutdown_during_a_reload_leaves_nothing_running() {
    let manifest = format!("{SLOW}[processes.b]\ncommand = \"sleep 1000\"\n");
    let mut procmux = start(&manifest);
    write(
        &procmux.path().join("procmux.toml"),
        &manifest.replace("sleep 0.1", "sleep 0.2"),
    );
    procmux.wait_for_text("reload: ~slow");
    procmux.signal(Signal::SIGINT);
    assert_eq!(code(procmux.wait_exit()), 130);
    procmux.assert_no_survivors();
}

#[test]
fn no_reload_turns_watching_off() {
    let mut procmux = Procmux::start_with(Start {
        file: "procmux.toml",
        manifest: "[processes.ticker]\ncommand = \"i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done\"\n",
        args: &["--no-reload"],
        read_stdout: true,
        files: &[],
    });
    procmux.wait_for_text("tick 1");
    write(
        &procmux.path().join("procmux.toml"),
        "[processes.other]\ncommand = \"sleep 1000\"\n",
    );
    // Ten more ticks are a second: a watcher would have reloaded by then.
    procmux.wait_for("tick 11", |l| l.ends_with("| tick 11"));
    assert!(reload_lines(&procmux).is_empty(), "{:#?}", procmux.lines());
    procmux.signal(Signal::SIGINT);
    assert_eq!(code(procmux.wait_exit()), 130);
    procmux.assert_no_survivors();
}

#[test]
fn comments_and_key_order_restart_nothing() {
    let procmux = start(TWO);
    write(
        &procmux.path().join("procmux.toml"),
        "# a comment\n[processes.a]\ncommand = \"sleep 1000\"   # same\n\n\n[processes.b]\ncommand = \"sleep 1000\"\n",
    );
    procmux.wait_for_text("reload: no changes");
    assert_eq!(
        (started_count(&procmux, "a"), started_count(&procmux, "b")),
        (1, 1)
    );
    stop(procmux);
}

#[test]
fn scaling_up_and_down_keeps_the_instances_that_stay() {
    let procmux = Procmux::toml("[processes.web]\ncommand = \"sleep 1000\"\ninstances = 2\n");
    procmux.wait_for_text("web.2 started with pid");
    let first = pid_of(&procmux, "web.1");
    write(
        &procmux.path().join("procmux.toml"),
        "[processes.web]\ncommand = \"sleep 1000\"\ninstances = 3\n",
    );
    procmux.wait_for_text("reload: +web.3");
    procmux.wait_for_text("web.3 started with pid");
    write(
        &procmux.path().join("procmux.toml"),
        "[processes.web]\ncommand = \"sleep 1000\"\ninstances = 1\n",
    );
    procmux.wait_for_text("reload: -web.2 -web.3");
    assert_eq!(pid_of(&procmux, "web.1"), first);
    assert!(is_alive(first));
    stop(procmux);
}
