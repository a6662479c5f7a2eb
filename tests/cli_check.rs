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
        .stderr(predicate::str::starts_with(
            "note: using Procfile (no procmux.toml here)\nwarning: ignored line",
        ))
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

/// `procmux` in a new temporary directory holding `files` (folders created as needed).
fn procmux_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Command) {
    let (dir, command) = procmux_in("", "");
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folders");
        }
        std::fs::write(path, text).expect("write");
    }
    (dir, command)
}

const STACK: &str = r#"[processes.db]
command = "postgres"
ready = { tcp = "$PORT" }

[processes.migrate]
command = "migrate"
depends_on = ["db"]

[processes.web]
command = "web"
instances = 2
depends_on = { db = "ready", migrate = "completed" }
ready = { http = "/up", timeout = "2m" }
watch = ["src/**/*.rs", "Cargo.toml"]
watch_ignore = "**/skip_*.rs"

[processes.worker]
command = "worker"
depends_on = { web = "started" }

[processes.console]
command = "console"
autostart = false
"#;

#[test]
fn check_shows_dependencies_checks_start_order_and_watch_globs() {
    let (_dir, mut command) = procmux_with(&[
        ("procmux.toml", STACK),
        ("Cargo.toml", ""),
        ("src/main.rs", ""),
        ("src/a/b.rs", ""),
        ("src/a/skip_me.rs", ""),
        ("src/notes.txt", ""),
        ("src/target/ignored.rs", ""),
        (".gitignore", "target/\n"),
        (".git/hooks/x.rs", ""),
    ]);
    let output = command.arg("check").output().expect("procmux check");
    assert!(output.status.success(), "{output:?}");
    // The made-up programs are not installed: only warnings saying so.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .lines()
            .all(|l| l.starts_with("warning: ") && l.contains(" may not start: ")),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    insta::assert_snapshot!(stdout);
    // Cargo.toml, src/main.rs and src/a/b.rs: not the ignored, the excluded nor the .git ones.
    assert!(stdout.contains("(3 files now, in .)"), "{stdout}");
}

#[test]
fn check_prints_notices_before_warnings() {
    let (_dir, mut command) = procmux_with(&[
        (
            "Procfile.dev",
            "web: bin/rails server\nrelease: bin/migrate\njs: yarn build --watch $NOPE\n",
        ),
        (".env", "GREETING=\"Hello ${UNDEFINED}!\"\n"),
    ]);
    command
        .arg("check")
        .assert()
        .success()
        .stderr(predicate::str::starts_with(
            "note: using Procfile.dev (no procmux.toml or Procfile here)\n\
             note: release is a Heroku release-phase command: not started (run it with `procmux run release`, or -m release=1)\n\
             warning: undefined variable UNDEFINED: it expands to nothing\n  --> .env:1:17\n",
        ))
        .stdout(predicate::str::contains("start order: 1. web js\n"))
        .stdout(predicate::str::contains("not started unless named: release\n"));
}

#[test]
fn check_env_prints_what_procmux_sets() {
    let (dir, mut command) = procmux_with(&[
        (
            "procmux.toml",
            "[env]\nGREETING = \"Hello world\"\nCOST = \"\\\\$5\"\nMULTI = \"a\\nb\"\n\n[processes.web]\ncommand = \"x\"\ninstances = 2\n\n[processes.off]\ncommand = \"x\"\ninstances = 0\n",
        ),
        (".env", "PLAIN=1\n"),
    ]);
    let output = command
        .args(["check", "--env"])
        .env("INHERITED_ONLY", "not shown")
        .output()
        .expect("procmux check --env");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        stdout,
        "# web.1\nCOST='$5'\nGREETING='Hello world'\nMULTI=\"a\\nb\"\nPLAIN=1\nPORT=5000\nPS=web.1\n\n\
         # web.2\nCOST='$5'\nGREETING='Hello world'\nMULTI=\"a\\nb\"\nPLAIN=1\nPORT=5001\nPS=web.2\n"
    );
    // The output reads back as an env file with the same values.
    let web1: String = stdout.split("\n\n").next().unwrap_or_default().to_owned();
    std::fs::write(dir.path().join("readback.env"), web1).expect("write");
    std::fs::write(dir.path().join("Procfile"), "web: x\n").expect("write");
    procmux()
        .current_dir(dir.path())
        .args(["check", "--env", "-f", "Procfile", "-e", "readback.env"])
        .assert()
        .success()
        .stdout("# web\nCOST='$5'\nGREETING='Hello world'\nMULTI=\"a\\nb\"\nPLAIN=1\nPORT=5000\nPS=web.1\n");
}

#[test]
fn durations_past_a_day_are_errors() {
    procmux()
        .args(["check", "-f", "examples/Procfile", "-t", "25h"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "duration \"25h\" is longer than 24h, the longest procmux accepts",
        ));
    let (_dir, mut command) = procmux_in(
        "procmux.toml",
        "[processes.web]\ncommand = \"x\"\nstop_timeout = \"2d\"\n",
    );
    command
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--> procmux.toml:3:16"));
}

#[test]
fn check_warns_of_programs_that_cannot_start_and_still_succeeds() {
    let (dir, mut command) = procmux_in(
        "Procfile",
        "web: bundle-not-installed exec puma\nworker: bin/worker\nok: sleep 1\n",
    );
    std::fs::create_dir_all(dir.path().join("bin")).expect("mkdir");
    std::fs::write(dir.path().join("bin/worker"), "#!/bin/sh\n").expect("write");
    command
        .arg("check")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: web may not start: bundle-not-installed: command not found",
        ))
        .stderr(predicate::str::contains(
            "warning: worker may not start: bin/worker: permission denied (not executable; chmod +x bin/worker?)",
        ))
        .stderr(predicate::str::contains("ok may not start").not());
}

/// `check` under open-files limits set by `ulimit` (soft, or soft and hard at once).
fn check_under_ulimit(ulimit: &str) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("procmux.toml"),
        "[processes.many]\ncommand = \"sleep 1000\"\ninstances = 400\n",
    )
    .expect("write");
    std::process::Command::new("sh")
        .args([
            "-c",
            &format!("ulimit {ulimit} 1024 && exec \"$0\" check"),
            env!("CARGO_BIN_EXE_procmux"),
        ])
        .current_dir(dir.path())
        .output()
        .expect("sh runs")
}

#[test]
fn check_warns_when_the_fleet_cannot_fit_in_the_open_files_limit() {
    // Soft and hard at 1,024: `run` cannot raise it, and 400 instances need about 2,064.
    let output = check_under_ulimit("-n");
    assert!(output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(
            "warning: 400 instances need about 2064 open files, and the limit is 1024: \
             some will fail to start"
        ),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A soft limit of 1,024 under a higher hard one is what `run` raises: no warning.
    let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .expect("the open-files limit");
    if hard < 2064 {
        eprintln!("skipped the second half: the hard limit here is {hard}");
        return;
    }
    let output = check_under_ulimit("-Sn");
    assert!(output.status.success());
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("open files"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
