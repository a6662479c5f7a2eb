//! The `check`, `schema` and `completions` commands, run as the real binary.

use assert_cmd::Command;
use predicates::prelude::*;

/// `procmux` in a new temporary directory holding `file` with `text`.
fn procmux_in(file: &str, text: &str) -> (tempfile::TempDir, Command) {
    let dir = tempfile::tempdir().expect("tempdir");
    if !file.is_empty() {
        std::fs::write(dir.path().join(file), text).expect("write");
    }
    let mut command = Command::cargo_bin("procmux").expect("the procmux binary");
    command.current_dir(dir.path());
    (dir, command)
}

fn procmux() -> Command {
    let mut command = Command::cargo_bin("procmux").expect("the procmux binary");
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

#[test]
fn check_prints_every_instance() {
    procmux()
        .args(["check", "-f", "examples/procmux.toml"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "examples/procmux.toml: 3 processes, 4 instances to run",
        ))
        .stdout(predicate::str::contains(
            "NAME    PORT  STOP     GRACE  RESTART",
        ))
        .stdout(predicate::str::contains(
            "web.2   5001  SIGTERM  3s     on-failure (max 5)",
        ))
        .stdout(predicate::str::contains(
            "worker  5100  SIGINT   5s     always",
        ));
}

#[test]
fn check_flags_reach_the_loader() {
    procmux()
        .args([
            "check",
            "-f",
            "examples/Procfile",
            "-p",
            "3000",
            "--concurrency",
            "web=2,all=0",
        ])
        .args([
            "-t",
            "1",
            "--shell",
            "bash",
            "-e",
            "examples/.env,examples/.env",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("web.2  3001  SIGTERM  1s"))
        .stdout(predicate::str::contains("bash -c 'sh bin/web.sh'"))
        .stdout(predicate::str::contains(
            "disabled (0 instances): worker, clock",
        ));
}

#[test]
fn check_fails_with_the_rendered_error_and_exit_2() {
    let (_dir, mut command) = procmux_in("procmux.toml", "[processes.web]\ncomand = \"x\"\n");
    command
        .arg("check")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "error: unknown key \"comand\"\n  --> procmux.toml:2:1\n",
        ))
        .stderr(predicate::str::contains(
            "= help: did you mean \"command\"?",
        ));
}

#[test]
fn check_prints_warnings_on_stderr() {
    let (_dir, mut command) = procmux_in("Procfile", "web: x\njunk\n");
    command
        .arg("check")
        .assert()
        .success()
        .stderr(predicate::str::starts_with("warning: ignored line"))
        .stderr(predicate::str::contains("--> Procfile:2:1"));
}

#[test]
fn check_without_a_manifest_exits_2() {
    let (_dir, mut command) = procmux_in("", "");
    command
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: no procmux.toml, Procfile or Procfile.dev in .",
        ));
}

#[test]
fn usage_errors_exit_2() {
    procmux().args(["check", "-m", "web"]).assert().code(2);
    procmux().args(["check", "--nope"]).assert().code(2);
    procmux()
        .args(["check", "-f", "examples/Procfile", "-m", "wbe=1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean \"web\"?"));
}

#[test]
fn schema_prints_the_committed_schema() {
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/procmux.schema.json"),
    )
    .expect("schema/procmux.schema.json");
    procmux().arg("schema").assert().success().stdout(committed);
}

#[test]
fn completions_for_bash() {
    procmux()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("procmux"))
        .stdout(predicate::str::contains("--env-file"));
}

#[test]
fn check_shows_the_command_that_really_runs() {
    let (_dir, mut command) = procmux_in(
        "Procfile",
        "plain: sleep 10\nshelly: echo $PORT && sleep 10\n",
    );
    command
        .args(["check", "-f", "Procfile"])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^plain .* sleep 10$").expect("a valid regex"))
        .stdout(predicate::str::contains("sh -c 'echo $PORT && sleep 10'"))
        .stdout(predicate::str::contains("sh -c 'sleep 10'").not());
}
