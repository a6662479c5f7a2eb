//! `SpawnOptions::grant_foreground` on a real terminal: a grouped job is a background group,
//! so reading the terminal pauses it (SIGTTIN); with the option the job gives it the
//! foreground and continues it, and takes the foreground back when the run ends.
//!
//! The payload runs in this test binary again, under `script`, which gives it a pseudo
//! terminal as its controlling terminal, in the foreground; the test types a line into it.

use std::fs::File;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use nix::unistd::{getpgrp, tcgetpgrp};
use procmux::supervisor::command::SpawnOptions;
use procmux::supervisor::job::start_job;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::ownership::state_letter;
use crate::support::*;

const PAYLOAD: &str = "PROCMUX_TEST_FOREGROUND_PAYLOAD";

#[test]
fn the_terminal_foreground_is_granted_and_taken_back() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to make a terminal with");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let inner = format!(
        "{} --ignored --exact foreground::payload --nocapture",
        exe.display()
    );
    let mut script = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .env(PAYLOAD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = script.stdin.take().unwrap();
    stdin.write_all(b"hello\n").unwrap();
    let mut stdout = script.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let status = script.wait().unwrap();
    drop(stdin);
    let out = reader.join().unwrap();
    println!("{out}");
    assert!(status.success(), "the foreground payload failed");
    assert!(out.contains("1 passed"), "the payload did not run");
}

#[tokio::test]
#[ignore = "runs under `script`, on a terminal"]
async fn payload() {
    if std::env::var_os(PAYLOAD).is_none() {
        eprintln!("skipped: only runs on a terminal made by the test");
        return;
    }
    let tty = File::options()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .unwrap();
    assert_eq!(tcgetpgrp(&tty), Ok(getpgrp()), "not in the foreground");
    for grant in [false, true] {
        let options = SpawnOptions {
            grant_foreground: grant,
            ..grouped()
        };
        let (job, _task) = start_job(shell(r#"read line; echo "got $line""#, options));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let pids = Pids::default();
        let (log, recorded) = (Arc::clone(&lines), pids.clone());
        job.set_spawn_hook(|command, _| {
            command.command_mut().stdout(Stdio::piped());
        });
        job.set_spawned_hook(move |child, _| {
            recorded.add(i32::try_from(child.id().unwrap()).unwrap());
            let out = child.stdout().take().unwrap();
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut reader = BufReader::new(out).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    log.lock().unwrap().push(line);
                }
            });
        });
        within("start", job.start()).await;
        let pid = pids.all()[0];
        if grant {
            within("to_wait", job.to_wait()).await;
            assert!(
                eventually(|| lines.lock().unwrap().iter().any(|l| l == "got hello")).await,
                "{:?}",
                lines.lock().unwrap()
            );
            assert_eq!(
                tcgetpgrp(&tty),
                Ok(getpgrp()),
                "the foreground was not taken back"
            );
        } else {
            // Without the grant, reading the terminal from the background pauses it for good.
            assert!(eventually(|| state_letter(pid) == Some('T')).await);
            assert!(job.is_running());
            within("stop", job.stop()).await;
        }
        within("delete", job.delete()).await;
    }
}
