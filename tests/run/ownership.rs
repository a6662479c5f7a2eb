//! Every process a job starts belongs to it, with commands people really write: shell
//! wrappers keep their grace, escapes do not survive, stopped children are continued,
//! restarts wait for the old process, and a SIGKILLed procmux leaves nothing. The main cases
//! run with cgroup tracking (where it is available) and with the process-group fallback.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::{DEADLINE, Procmux, Start, code, process_state};

/// Whether this procmux tracks processes by cgroup (its first line says), which escapes that
/// left their process group need; elsewhere the test is skipped with a printed reason.
fn tracked_by_cgroup(procmux: &Procmux) -> bool {
    let line = procmux.wait_for_text("processes tracked by");
    let cgroup = line.contains("processes tracked by cgroup");
    if !cgroup {
        eprintln!("skipped: cgroups are not writable here ({line})");
    }
    cgroup
}

/// The ways procmux may track processes: as detected (cgroups here when writable), and the
/// documented fallback.
const TRACKINGS: [&[(&str, &str)]; 2] = [&[], &[("PROCMUX_TRACKING", "group")]];

fn start(file: &str, manifest: &str, envs: &[(&str, &str)]) -> Procmux {
    Procmux::start_with_env(
        Start {
            file,
            manifest,
            args: &[],
            read_stdout: true,
            files: &[],
        },
        envs,
    )
}

#[test]
fn a_term_trap_behind_a_shell_wrapper_completes_within_its_grace() {
    for envs in TRACKINGS {
        let mut procmux = start(
            "procmux.toml",
            "[processes.worker]\n\
             command = \"cd . && sh -c 'trap \\\"sleep 1; echo done; exit 0\\\" TERM; while :; do sleep 0.1; done'\"\n\
             stop_timeout = \"5s\"\n",
            envs,
        );
        procmux.wait_for_processes("sleep", 1);
        procmux.signal(Signal::SIGINT);
        procmux.wait_for_text("worker | done");
        assert_eq!(code(procmux.wait_exit()), 130, "{envs:?}");
        assert!(
            !procmux
                .lines()
                .iter()
                .any(|l| l.contains("killed with SIGKILL")),
            "{:#?}",
            procmux.lines()
        );
        procmux.assert_no_survivors();
    }
}

#[test]
fn leftovers_of_a_leader_that_exited_are_stopped_gracefully() {
    for envs in TRACKINGS {
        let mut procmux = start(
            "Procfile",
            "web: sh -c '(trap \"echo leftover got TERM; exit 0\" TERM; while :; do sleep 0.1; done) & sleep 0.3; exit 0'\n",
            envs,
        );
        // The subshell, and its sleep unless it is between two.
        procmux.wait_for("the leftovers line", |l| {
            l.contains("web exited with code 0; stopping ") && l.contains(" leftover process")
        });
        procmux.wait_for_text("web    | leftover got TERM");
        assert_eq!(code(procmux.wait_exit()), 0);
        procmux.assert_no_survivors();
    }
}

#[test]
fn a_process_that_ignores_term_behind_a_wrapper_is_killed_at_its_grace_not_before() {
    for envs in TRACKINGS {
        let mut procmux = start(
            "Procfile",
            "stubborn: sh -c 'trap \"\" TERM INT; while :; do sleep 0.2; done'\n",
            envs,
        );
        procmux.wait_for_processes("sleep", 1);
        let sent = Instant::now();
        procmux.signal(Signal::SIGINT);
        let status = procmux.wait_exit();
        let took = sent.elapsed();
        assert_eq!(code(status), 130);
        let grace = Duration::from_secs(5);
        assert!(
            took >= grace,
            "killed before its grace: {took:?} ({envs:?})"
        );
        assert!(
            took < grace + Duration::from_secs(3),
            "killed long after: {took:?}"
        );
        procmux.wait_for_text("stubborn did not stop within 5s; killed with SIGKILL");
        procmux.assert_no_survivors();
    }
}

#[test]
fn escapes_leave_nothing_after_ctrl_c() {
    // setsid, a double fork and nohup: each leaves the process group.
    let mut procmux = start(
        "Procfile",
        "setsid: setsid sleep 1000 & sleep 1000\n\
         double: sh -c '(sleep 1000 &); sleep 1000'\n\
         nohup: nohup sleep 1000 >/dev/null 2>&1 & sleep 1000\n\
         jobctl: bash -c 'set -m; sleep 1000 & wait'\n",
        &[],
    );
    procmux.wait_for_processes("sleep", 7);
    procmux.signal(Signal::SIGINT);
    assert_eq!(code(procmux.wait_exit()), 130);
    procmux.assert_no_survivors();
}

#[test]
fn escapes_do_not_pile_up_across_restarts() {
    let mut procmux = start(
        "procmux.toml",
        "[processes.flaky]\ncommand = \"setsid sleep 1000 & sleep 0.2; exit 1\"\nrestart = \"always\"\n",
        &[],
    );
    if !tracked_by_cgroup(&procmux) {
        return;
    }
    procmux.wait_for_count("three restarts", 3, |l| l.contains("flaky restarting in"));
    // Each run's escaped sleep ended with its run: at most the current run's one lives.
    let sleeps = procmux
        .tagged_processes()
        .into_iter()
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
        })
        .count();
    assert!(sleeps <= 2, "{sleeps} sleeps alive after 3 restarts");
    procmux.signal(Signal::SIGINT);
    assert_eq!(code(procmux.wait_exit()), 130);
    procmux.assert_no_survivors();
}

#[test]
fn a_sigkilled_procmux_leaves_nothing_escapes_included() {
    let mut procmux = start(
        "Procfile",
        "wrapped: cd . && sleep 1000\n\
         orphans: sh -c 'sleep 1000 & sleep 1000 & wait'\n\
         escaped: setsid sleep 1000 & sleep 1000\n",
        &[],
    );
    if !tracked_by_cgroup(&procmux) {
        return;
    }
    procmux.wait_for_processes("sleep", 5);
    procmux.signal(Signal::SIGKILL);
    let status = procmux.wait_exit();
    assert_eq!(status.code(), None, "procmux was not killed");
    procmux.assert_no_survivors();
}

#[test]
fn a_stopped_child_is_continued_and_stops_without_waiting_the_grace() {
    for envs in TRACKINGS {
        let mut procmux = start(
            "procmux.toml",
            "[processes.paused]\ncommand = \"sleep 1000\"\nstop_timeout = \"60s\"\n",
            envs,
        );
        let sleep = procmux.wait_for_processes("sleep", 1)[0];
        kill(Pid::from_raw(sleep), Signal::SIGSTOP).unwrap();
        let deadline = Instant::now() + DEADLINE;
        while process_state(sleep) != Some('T') {
            assert!(Instant::now() < deadline, "did not stop");
            std::thread::sleep(Duration::from_millis(5));
        }
        let sent = Instant::now();
        procmux.signal(Signal::SIGINT);
        assert_eq!(code(procmux.wait_exit()), 130);
        assert!(
            sent.elapsed() < Duration::from_secs(30),
            "waited for the grace: {:?}",
            sent.elapsed()
        );
        procmux.assert_no_survivors();
    }
}

#[test]
fn a_restart_waits_for_the_old_process_to_free_its_port() {
    let port = free_port();
    // The wrapper dies at once on TERM; the server it started takes half a second to let go of
    // its port. The new one must find the port free.
    let server = format!(
        "import signal,socket,sys,time\n\
         s=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen()\n\
         print('listening', flush=True)\n\
         signal.signal(signal.SIGTERM, lambda *a: (time.sleep(0.5), sys.exit(0)))\n\
         while True: time.sleep(1)\n"
    );
    let procmux = Procmux::start_with(Start {
        file: "Procfile",
        manifest: "web: sh -c 'python3 server.py & wait'\n",
        args: &[],
        read_stdout: true,
        files: &[("server.py", &server)],
    });
    procmux.wait_for_text("web    | listening");
    let output = procmux.client(&["restart", "web"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    procmux.wait_for_count("a second listen", 2, |l| l == "web    | listening");
    assert!(
        !procmux
            .lines()
            .iter()
            .any(|l| l.contains("Address already in use")),
        "{:#?}",
        procmux.lines()
    );
    let mut procmux = procmux;
    procmux.signal(Signal::SIGINT);
    assert_eq!(code(procmux.wait_exit()), 130);
    procmux.assert_no_survivors();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether this machine lets a test start a new pid namespace (root, with `unshare`).
fn can_unshare() -> bool {
    std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The children of `pid`, from `/proc`.
fn children(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            found.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
    found
}

#[test]
fn as_pid_1_orphans_are_reaped_and_an_exit_with_an_orphan_in_its_group_is_reported() {
    if !can_unshare() {
        eprintln!("skipped: cannot make a pid namespace here (unshare --pid needs root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Procfile"),
        "orphans: sh -c 'for i in $(seq 1 30); do (sleep 0.05 &); done; echo made; sleep 1000'\n\
         quick: sh -c '(sleep 1000 &); sleep 1; exit 3'\n",
    )
    .unwrap();
    let mut unshare = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(env!("CARGO_BIN_EXE_procmux"))
        .args(["run", "--no-timestamps", "--color", "never"])
        .current_dir(dir.path())
        .env("XDG_RUNTIME_DIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(unshare.stdout.take().unwrap()));
    let deadline = Instant::now() + DEADLINE;
    // procmux, as PID 1 inside, is the child of unshare outside.
    let procmux = loop {
        if let Some(&pid) = children(unshare.id() as i32).first() {
            break pid;
        }
        assert!(Instant::now() < deadline, "procmux did not start");
        std::thread::sleep(Duration::from_millis(5));
    };
    loop {
        let line = lines.next().expect("procmux ended").unwrap();
        if line == "orphans | made" {
            break;
        }
    }
    // The 30 orphans die 50 ms after they were made: none may stay a zombie.
    loop {
        let zombies = children(procmux)
            .into_iter()
            .filter(|&pid| process_state(pid) == Some('Z'))
            .count();
        let orphans_alive = children(procmux).len();
        if zombies == 0 && orphans_alive <= 6 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{zombies} zombies under procmux as PID 1"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // quick exits 3 while an orphan still holds its group: the exit is reported, and stops
    // the stack with its code.
    let mut saw_exit = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        saw_exit |= line.contains("quick exited with code 3");
    }
    assert!(saw_exit);
    assert_eq!(unshare.wait().unwrap().code(), Some(3));
}
