//! Restarts on file change and the manifest's reload against the real binary: which change
//! restarts what (pids checked), bursts, ignored files, a process that crashes on a broken
//! file, `max_restarts`, `--no-watch`, editing `watch`, and the manifest's corner cases (a
//! symbolic link, a removed folder, a deleted manifest beside a Procfile, a slow write).

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::{Procmux, Start, is_alive, median, system_text};

const PLAIN: &[&str] = &["--color", "never", "--no-timestamps"];

fn start(manifest: &str, args: &[&str], files: &[(&str, &str)]) -> Procmux {
    Procmux::start_with(Start {
        file: "procmux.toml",
        manifest,
        args,
        read_stdout: true,
        files,
    })
}

/// Whether `line` is the output line `text` of instance `name`.
fn said(line: &str, name: &str, text: &str) -> bool {
    line.split_once(" | ")
        .is_some_and(|(prefix, rest)| prefix.trim_end() == name && rest == text)
}

/// The `NAME restarting: ...` lines so far.
fn change_restarts(procmux: &Procmux, name: &str) -> Vec<String> {
    let prefix = format!("{name} restarting: ");
    procmux
        .system_lines()
        .into_iter()
        .filter(|l| l.starts_with(&prefix))
        .collect()
}

/// The `reload: ...` lines so far (first lines only, for a multi-line one).
fn reload_lines(procmux: &Procmux) -> Vec<String> {
    procmux
        .system_lines()
        .into_iter()
        .filter(|l| l.starts_with("reload: "))
        .collect()
}

/// The inodes procmux holds an inotify watch on, as the kernel lists them in fdinfo.
fn inotify_inodes(pid: i32) -> Vec<u64> {
    let mut inodes = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        let is_inotify = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.as_os_str() == "anon_inode:inotify");
        if !is_inotify {
            continue;
        }
        let fd = entry.file_name();
        let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.to_string_lossy()))
            .unwrap_or_default();
        for line in info.lines().filter(|l| l.starts_with("inotify wd:")) {
            let ino = line
                .split_whitespace()
                .find_map(|field| field.strip_prefix("ino:"))
                .unwrap();
            inodes.push(u64::from_str_radix(ino, 16).unwrap());
        }
    }
    inodes
}

fn inode(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().ino()
}

const API_AND_WORKER: &str = "[processes.api]\ncommand = \"exec sleep 1000\"\n\
     watch = [\"src/**/*.rs\"]\n\n\
     [processes.worker]\ncommand = \"exec sleep 1000\"\n";

#[test]
fn a_matching_change_restarts_only_its_process() {
    let procmux = start(API_AND_WORKER, &[], &[("src/main.rs", "fn main() {}\n")]);
    let api = procmux.wait_for_start("api", 1);
    let worker = procmux.wait_for_start("worker", 1);
    assert_eq!(procmux.status_pid("api"), Some(api));
    // Only what a glob can match is watched: src, not the whole project.
    let watched = inotify_inodes(procmux.pid().as_raw());
    assert!(watched.contains(&inode(&procmux.path().join("src"))));

    procmux.write("src/main.rs", "fn main() { println!(\"hi\"); }\n");
    procmux.wait_for_system("api restarting: src/main.rs changed");
    let new_api = procmux.wait_for_start("api", 2);
    assert_ne!(new_api, api);
    assert!(is_alive(new_api));
    assert!(!is_alive(api), "the old api survived its restart");
    assert_eq!(procmux.status_pid("api"), Some(new_api));
    assert_eq!(procmux.status_pid("worker"), Some(worker));
    assert_eq!(procmux.started_pids("worker"), [worker]);
    assert!(is_alive(worker));
    procmux.interrupt();
}

#[test]
fn five_saves_in_50_ms_give_one_restart() {
    // A debounce well above the burst, so that a loaded machine cannot stretch it apart.
    let manifest = format!("[settings]\nwatch_debounce = \"300ms\"\n\n{API_AND_WORKER}");
    let procmux = start(&manifest, &[], &[("src/main.rs", "fn main() {}\n")]);
    procmux.wait_for_start("api", 1);
    procmux.wait_for_start("worker", 1);
    let began = Instant::now();
    for i in 0..5 {
        procmux.write("src/main.rs", &format!("fn main() {{ let _ = {i}; }}\n"));
        std::thread::sleep(Duration::from_millis(10));
    }
    let burst = began.elapsed();
    procmux.wait_for_system("api restarting: src/main.rs changed");
    procmux.wait_for_start("api", 2);
    // Then a change to another file: its restart is the second, and the last.
    procmux.write("src/lib.rs", "\n");
    procmux.wait_for_system("api restarting: src/lib.rs changed");
    procmux.wait_for_start("api", 3);
    assert_eq!(
        change_restarts(&procmux, "api"),
        [
            "api restarting: src/main.rs changed",
            "api restarting: src/lib.rs changed"
        ],
        "the burst took {burst:?}"
    );
    assert_eq!(procmux.started_pids("api").len(), 3);
    assert_eq!(procmux.started_pids("worker").len(), 1);
    procmux.interrupt();
}

#[test]
fn ignored_git_and_unmatched_files_restart_nothing() {
    let procmux = start(
        "[processes.api]\ncommand = \"exec sleep 1000\"\n\
         watch = [\"**/*.rs\", \"**/*.log\", \"src/**\"]\n",
        &[],
        &[
            (".gitignore", "*.log\nbuild/\n"),
            (".ignore", "scratch.rs\n"),
            (".git/HEAD", "ref: refs/heads/main\n"),
            ("build/keep", ""),
            ("src/main.rs", "fn main() {}\n"),
        ],
    );
    let api = procmux.wait_for_start("api", 1);
    procmux.write("server.log", "a log line\n");
    procmux.write("build/out.rs", "generated\n");
    procmux.write(".git/index.rs", "git's own\n");
    procmux.write("scratch.rs", "ignored by .ignore\n");
    procmux.write("notes.txt", "matches no glob\n");
    // The proof: a matching change, last; ignored changes would be in its burst (named
    // first, or counted as more) or restart api before it.
    procmux.write("src/main.rs", "fn main() { todo!() }\n");
    procmux.wait_for_system("api restarting: src/main.rs changed");
    let new_api = procmux.wait_for_start("api", 2);
    assert_ne!(new_api, api);
    assert_eq!(
        change_restarts(&procmux, "api"),
        ["api restarting: src/main.rs changed"]
    );
    assert_eq!(procmux.started_pids("api").len(), 2);
    procmux.interrupt();
}

#[test]
fn a_process_that_crashes_on_a_broken_file_comes_back_when_it_is_fixed() {
    let procmux = start(
        "[processes.api]\n\
         command = \"grep -q good config.txt || { echo broken config; exit 1; }; echo config ok; exec sleep 1000\"\n\
         watch = [\"config.txt\"]\n\n\
         [processes.worker]\ncommand = \"exec sleep 1000\"\n",
        &[],
        &[("config.txt", "good\n")],
    );
    procmux.wait_for("api's first run", |l| said(l, "api", "config ok"));
    let worker = procmux.wait_for_start("worker", 1);
    procmux.write("config.txt", "bad\n");
    procmux.wait_for("api's broken run", |l| said(l, "api", "broken config"));
    procmux.wait_for_system("api exited with code 1; waiting for changes");
    // The stack stayed up.
    assert!(is_alive(worker));
    assert_eq!(procmux.status_pid("worker"), Some(worker));
    assert_eq!(
        procmux.count(|l| system_text(l).is_some_and(|t| t.contains("stopping all processes"))),
        0
    );
    procmux.write("config.txt", "good again\n");
    procmux.wait_for_count("api's restarts", 2, |l| {
        system_text(l) == Some("api restarting: config.txt changed")
    });
    procmux.wait_for_count("api's good runs", 2, |l| said(l, "api", "config ok"));
    let api = procmux.wait_for_start("api", 3);
    assert!(is_alive(api));
    assert_eq!(procmux.status_pid("api"), Some(api));
    assert_eq!(procmux.started_pids("worker"), [worker]);
    procmux.interrupt();
}

#[test]
fn watch_restarts_do_not_count_against_max_restarts() {
    let procmux = start(
        "[processes.api]\ncommand = \"exec sleep 1000\"\nwatch = [\"src/**/*.rs\"]\n\
         restart = \"on-failure\"\nmax_restarts = 1\n",
        &[],
        &[("src/main.rs", "fn main() {}\n")],
    );
    let mut starts = 1;
    let mut api = procmux.wait_for_start("api", starts);
    let crash = |api: i32| {
        // A process this test caused: it carries the test's token, once its shell has
        // exec'd sleep (while a process execs, its environ may read as empty).
        let deadline = Instant::now() + crate::support::DEADLINE;
        while !procmux.wait_for_processes("sleep", 1).contains(&api) {
            assert!(Instant::now() < deadline, "{api} is not this test's sleep");
            std::thread::sleep(Duration::from_millis(10));
        }
        kill(Pid::from_raw(api), Signal::SIGKILL).unwrap();
    };
    // A failure uses the whole budget of one restart...
    crash(api);
    procmux.wait_for_system_prefix("api restarting in ");
    starts += 1;
    api = procmux.wait_for_start("api", starts);
    // ...and three restarts by changes still happen...
    for round in 0..3 {
        procmux.write("src/main.rs", &format!("// {round}\n"));
        starts += 1;
        let new = procmux.wait_for_start("api", starts);
        assert_ne!(new, api);
        api = new;
    }
    assert_eq!(change_restarts(&procmux, "api").len(), 3);
    // ...and renewed the budget: the next failure is restarted, not the end of api.
    crash(api);
    procmux.wait_for_count("api's second failure restart", 2, |l| {
        system_text(l).is_some_and(|t| {
            t.starts_with("api restarting in ") && t.ends_with(" (restart 1 of 1)")
        })
    });
    starts += 1;
    procmux.wait_for_start("api", starts);
    assert_eq!(
        procmux.count(|l| l.contains("gave up")),
        0,
        "{:#?}",
        procmux.lines()
    );
    procmux.interrupt();
}

#[test]
fn no_watch_turns_watching_off() {
    let manifest = "[settings]\nwatch_debounce = \"10ms\"\n\n\
                    [processes.api]\ncommand = \"exec sleep 1000\"\nwatch = [\"src/**/*.rs\"]\n";
    let procmux = start(
        manifest,
        &["--no-watch"],
        &[("src/main.rs", "fn main() {}\n")],
    );
    let api = procmux.wait_for_start("api", 1);
    // Not even watched: the kernel holds no watch on src (the manifest's folder, yes).
    let watched = inotify_inodes(procmux.pid().as_raw());
    assert!(watched.contains(&inode(procmux.path())), "{watched:?}");
    assert!(!watched.contains(&inode(&procmux.path().join("src"))));
    procmux.write("src/main.rs", "fn main() { todo!() }\n");
    // The reload still works, and comes after the change would have.
    procmux.write(
        "procmux.toml",
        &format!("{manifest}\n[processes.extra]\ncommand = \"exec sleep 1000\"\n"),
    );
    procmux.wait_for_system("reload: +extra");
    procmux.wait_for_start("extra", 1);
    assert!(change_restarts(&procmux, "api").is_empty());
    assert_eq!(procmux.started_pids("api"), [api]);
    assert!(is_alive(api));
    procmux.interrupt();
}

#[test]
fn with_no_watch_a_crashed_watched_process_stops_the_stack() {
    // No change would ever bring it back: foreman's rule, not `waiting for changes`.
    let mut procmux = start(
        "[processes.api]\ncommand = \"sleep 0.2; exit 3\"\nwatch = [\"src/**/*.rs\"]\n\n\
         [processes.worker]\ncommand = \"exec sleep 1000\"\n",
        &["--no-watch"],
        &[("src/main.rs", "fn main() {}\n")],
    );
    let status = procmux.wait_exit();
    let system = procmux.system_lines();
    assert_eq!(crate::support::code(status), 3, "{system:#?}");
    assert!(
        system
            .iter()
            .any(|l| l == "api ended: stopping all processes"),
        "{system:#?}"
    );
    assert!(
        !system.iter().any(|l| l.contains("waiting for changes")),
        "{system:#?}"
    );
    procmux.assert_no_survivors();
}

#[test]
fn editing_watch_takes_effect_without_a_restart() {
    let manifest = |glob: &str| {
        format!("[processes.api]\ncommand = \"exec sleep 1000\"\nwatch = [\"{glob}\"]\n")
    };
    let procmux = start(
        &manifest("a.txt"),
        &[],
        &[("a.txt", "a\n"), ("b.txt", "b\n")],
    );
    let api = procmux.wait_for_start("api", 1);
    procmux.write("procmux.toml", &manifest("b.txt"));
    procmux.wait_for_system("reload: no changes");
    assert_eq!(procmux.status_pid("api"), Some(api));
    assert_eq!(procmux.started_pids("api"), [api]);
    // a.txt no longer counts; b.txt does.
    procmux.write("a.txt", "a again\n");
    procmux.write("b.txt", "b again\n");
    procmux.wait_for_system("api restarting: b.txt changed");
    let new_api = procmux.wait_for_start("api", 2);
    assert_ne!(new_api, api);
    assert_eq!(
        change_restarts(&procmux, "api"),
        ["api restarting: b.txt changed"]
    );
    procmux.interrupt();
}

const ONE: &str = "[processes.a]\ncommand = \"exec sleep 1000\"\n";
const TWO: &str = "[processes.a]\ncommand = \"exec sleep 1000\"\n\n[processes.b]\ncommand = \"exec sleep 1000\"\n";

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn an_edit_to_a_symlinked_manifests_target_reloads() {
    let dir = folder(&[("config/real.toml", ONE)]);
    std::os::unix::fs::symlink("config/real.toml", dir.path().join("procmux.toml")).unwrap();
    let args = [&["-f", "procmux.toml"], PLAIN].concat();
    let procmux = Procmux::start_in(dir, &args);
    let a = procmux.wait_for_start("a", 1);
    procmux.write("config/real.toml", TWO);
    procmux.wait_for_system("reload: +b");
    procmux.wait_for_start("b", 1);
    assert_eq!(procmux.started_pids("a"), [a]);
    procmux.interrupt();
}

#[test]
fn a_manifest_folder_removed_and_created_again_still_reloads() {
    let dir = folder(&[("cfg/procmux.toml", ONE)]);
    let args = [&["-f", "cfg/procmux.toml"], PLAIN].concat();
    let procmux = Procmux::start_in(dir, &args);
    let a = procmux.wait_for_start("a", 1);
    std::fs::remove_dir_all(procmux.path().join("cfg")).unwrap();
    procmux.wait_for_system("reload: cfg/procmux.toml was removed; keeping everything as it runs");
    assert!(is_alive(a));
    procmux.write("cfg/procmux.toml", TWO);
    procmux.wait_for_system("reload: +b");
    procmux.wait_for_start("b", 1);
    procmux.write(
        "cfg/procmux.toml",
        &format!("{TWO}\n[processes.c]\ncommand = \"exec sleep 1000\"\n"),
    );
    procmux.wait_for_system("reload: +c");
    procmux.wait_for_start("c", 1);
    assert_eq!(procmux.started_pids("a"), [a]);
    procmux.interrupt();
}

#[test]
fn a_deleted_manifest_beside_a_procfile_keeps_the_stack() {
    let dir = folder(&[("procmux.toml", ONE), ("Procfile", "web: sleep 1000\n")]);
    // Discovery, no -f: the Procfile is what discovery would pick without procmux.toml.
    let procmux = Procmux::start_in(dir, PLAIN);
    procmux.wait_for_system("using procmux.toml; Procfile is ignored (use it with -f Procfile)");
    let a = procmux.wait_for_start("a", 1);
    std::fs::remove_file(procmux.path().join("procmux.toml")).unwrap();
    procmux.wait_for_system("reload: procmux.toml was removed; keeping everything as it runs");
    procmux.write("Procfile", "web: sleep 1001\n");
    procmux.write("procmux.toml", TWO);
    procmux.wait_for_system("reload: +b");
    procmux.wait_for_start("b", 1);
    assert_eq!(
        reload_lines(&procmux),
        [
            "reload: procmux.toml was removed; keeping everything as it runs",
            "reload: +b"
        ]
    );
    assert!(procmux.started_pids("web").is_empty());
    assert_eq!(procmux.started_pids("a"), [a]);
    assert!(is_alive(a));
    procmux.interrupt();
}

#[test]
fn a_slow_two_step_write_never_applies_the_half_file() {
    let procmux = start(TWO, &[], &[]);
    let a = procmux.wait_for_start("a", 1);
    let b = procmux.wait_for_start("b", 1);
    let path = procmux.path().join("procmux.toml");
    let mut text = TWO.to_owned();
    for round in 0..2 {
        text.push_str(&format!(
            "\n[processes.c{round}]\ncommand = \"exec sleep 1000\"\n"
        ));
        // Truncate, pause, then write the rest, as a slow script or editor does.
        let file = std::fs::File::create(&path).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        use std::io::Write;
        (&file).write_all(text.as_bytes()).unwrap();
        drop(file);
        procmux.wait_for_system(&format!("reload: +c{round}"));
        procmux.wait_for_start(&format!("c{round}"), 1);
    }
    assert_eq!(reload_lines(&procmux), ["reload: +c0", "reload: +c1"]);
    assert_eq!(procmux.started_pids("a"), [a]);
    assert_eq!(procmux.started_pids("b"), [b]);
    procmux.interrupt();
}

/// CPU time so far of each of a process's threads, summed by thread name.
fn threads_cpu(pid: i32) -> std::collections::BTreeMap<String, Duration> {
    let mut by_name = std::collections::BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let Ok(tid) = task.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(name) = std::fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        let time = crate::support::cpu_time_of_task(pid, tid);
        *by_name.entry(name.trim().to_owned()).or_default() += time;
    }
    by_name
}

fn epoch_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Figures, not checks: from a write to the stop signal reaching the process (its TERM trap
/// prints the time) and to the new process's first instruction, median of 20; then
/// procmux's CPU time over 5 s idle with watches in place, and over 5 s of writes to a log
/// that nothing watches. About 25 s, so left out of the default run; run it with
/// `cargo test --test run -- --ignored --nocapture figure_watch`.
#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn figure_watch_latency_and_idle_cost() {
    let manifest = "[processes.api]\n\
        command = \"trap 'echo term $(date +%s%N); exit 0' TERM; sleep 1000 & echo start $(date +%s%N); wait\"\n\
        watch = [\"src/**/*.rs\"]\n";
    let mut to_signal = Vec::new();
    let mut to_start = Vec::new();
    let number = |line: &str| -> u128 { line.rsplit(' ').next().unwrap().parse().unwrap() };
    // The loop guard pauses a process restarted more than 10 times in 10 s: two runs of 10.
    for _ in 0..2 {
        let procmux = start(manifest, &[], &[("src/main.rs", "\n")]);
        procmux.wait_for("the first start", |l| {
            l.starts_with("api ") && l.contains("| start ")
        });
        for round in 1..=10 {
            let written = epoch_nanos();
            procmux.write("src/main.rs", &format!("// {round}\n"));
            let term = procmux
                .wait_for_count("a stop", round, |l| {
                    l.starts_with("api ") && l.contains("| term ")
                })
                .pop()
                .unwrap();
            let started = procmux
                .wait_for_count("a start", round + 1, |l| {
                    l.starts_with("api ") && l.contains("| start ")
                })
                .pop()
                .unwrap();
            to_signal.push(Duration::from_nanos((number(&term) - written) as u64));
            to_start.push(Duration::from_nanos((number(&started) - written) as u64));
        }
        procmux.interrupt();
    }
    eprintln!(
        "figure: write to stop signal, median of {}: {:?} (max {:?}); write to new process: {:?} \
         (debounce 100ms, target debounce + 50 ms to the signal)",
        to_signal.len(),
        median(&mut to_signal),
        to_signal.last().unwrap(),
        median(&mut to_start),
    );

    let mut files: Vec<(String, String)> = (0..20)
        .map(|i| (format!("src/m{i}/lib.rs"), "\n".to_owned()))
        .collect();
    files.push(("src/main.rs".into(), "\n".into()));
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let procmux = start(
        "[processes.api]\ncommand = \"exec sleep 1000\"\nwatch = [\"src/**/*.rs\"]\n",
        &[],
        &files,
    );
    procmux.wait_for_start("api", 1);
    let before = procmux.cpu_time();
    std::thread::sleep(Duration::from_secs(5));
    let idle = procmux.cpu_time() - before;
    let before = procmux.cpu_time();
    let threads_before = threads_cpu(procmux.pid().as_raw());
    let began = Instant::now();
    let mut writes = 0u64;
    {
        use std::io::Write;
        let mut log = std::fs::File::create(procmux.path().join("server.log")).unwrap();
        while began.elapsed() < Duration::from_secs(5) {
            writeln!(log, "a log line {writes}").unwrap();
            writes += 1;
            if writes.is_multiple_of(100) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    let flood = procmux.cpu_time() - before;
    let after = threads_cpu(procmux.pid().as_raw());
    let by_thread: Vec<String> = after
        .iter()
        .filter_map(|(name, time)| {
            let spent = *time - threads_before.get(name).copied().unwrap_or_default();
            (!spent.is_zero()).then(|| format!("{name} {spent:?}"))
        })
        .collect();
    eprintln!(
        "figure: procmux CPU over 5 s idle with 22 watched folders: {idle:?}; over 5 s of \
         {writes} writes to an unwatched log beside the manifest: {flood:?} ({})",
        by_thread.join(", ")
    );
    assert!(change_restarts(&procmux, "api").is_empty());
    procmux.interrupt();
}
