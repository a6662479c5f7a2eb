//! What gets an inotify watch, counted from the kernel's side, and what a flood of writes
//! no one cares about costs. These tests run alone in a child process (the test binary
//! again, filtered to one test), so the process's only inotify instance is theirs.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{Project, options, spec, toml, watching, watching_manifest};

const ALONE: &str = "PROCMUX_WATCH_TEST_ALONE";

/// Runs the test `name` in a child process and passes its output on; `false` when this is
/// the parent (whose job is then done).
fn alone(name: &str) -> bool {
    if std::env::var_os(ALONE).is_some() {
        return true;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads", "1"])
        .env(ALONE, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for line in stdout.lines() {
        if let Some((_, figure)) = line.split_once("figure: ") {
            eprintln!("figure: {figure}");
        }
    }
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test: {stdout}"
    );
    false
}

/// The number of inotify watches this process holds, as the kernel lists them.
fn inotify_watches() -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let is_inotify = std::fs::read_link(entry.path())
            .is_ok_and(|target| target == Path::new("anon_inode:inotify"));
        if is_inotify {
            let info =
                std::fs::read_to_string(Path::new("/proc/self/fdinfo").join(entry.file_name()))
                    .unwrap_or_default();
            count += info
                .lines()
                .filter(|l| l.starts_with("inotify wd:"))
                .count();
        }
    }
    count
}

/// CPU time used so far by this process's threads named `name`.
fn thread_cpu(name: &str) -> Duration {
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        // The kernel keeps 15 bytes of a thread's name.
        if comm.trim_end() != &name[..name.len().min(15)] {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // Fields after the command's closing parenthesis: utime and stime are 12th and 13th.
        if let Some((_, rest)) = stat.rsplit_once(')') {
            let fields: Vec<&str> = rest.split_whitespace().collect();
            ticks += fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        }
    }
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn an_ignored_node_modules_gets_no_watch() {
    if !alone("watches::an_ignored_node_modules_gets_no_watch") {
        return;
    }
    let project = Project::in_memory();
    project.write(".gitignore", "node_modules/\n");
    for package in 0..100 {
        let lib = project.mkdir(&format!("node_modules/pkg{package:03}/lib"));
        std::fs::write(lib.with_file_name("package.json"), "{}").unwrap();
        for file in 0..99 {
            std::fs::write(lib.join(format!("f{file}.js")), "").unwrap();
        }
    }
    project.write("src/components/button.js", "");
    project.write("src/util/format.js", "");
    runtime().block_on(async {
        let started = Instant::now();
        let (watcher, mut events) =
            watching("web", &spec(&project.root, &["**/*.js"], &[], 50)).await;
        let setup = started.elapsed();
        let expected = ["", "src", "src/components", "src/util"].map(|d| project.path(d));
        assert_eq!(watcher.watched_dirs(), expected);
        let watches = inotify_watches();
        assert_eq!(watches, 4);
        println!(
            "figure: node_modules with 10,000 files in 201 folders, .gitignored: {watches} inotify \
             watches in all (the project and src's 3 folders), set up in {setup:?}"
        );
        project.write("node_modules/pkg000/lib/f0.js", "changed");
        let sentinel = project.write("src/util/format.js", "changed");
        let (_, paths, more) = events.next_change().await;
        assert_eq!((paths, more), (vec![sentinel], 0));
    });
}

#[test]
fn a_flood_of_writes_beside_the_manifest_never_leaves_notifys_thread() {
    if !alone("watches::a_flood_of_writes_beside_the_manifest_never_leaves_notifys_thread") {
        return;
    }
    let project = Project::new();
    project.write("procmux.toml", &toml(&["a"]));
    runtime().block_on(async {
        let (watcher, mut events) = watching_manifest(options(&project.root, None)).await;
        assert_eq!(watcher.watched_dirs(), std::slice::from_ref(&project.root));
        let notify_before = thread_cpu("notify-rs inotify");
        let main_before = thread_cpu_self();
        let writes = 100_000;
        let started = Instant::now();
        {
            use std::io::Write;
            let mut log = std::fs::File::create(project.path("app.log")).unwrap();
            for i in 0..writes {
                log.write_all(format!("line {i}\n").as_bytes()).unwrap();
            }
        }
        let flood = started.elapsed();
        // The barrier: when this edit's reload arrives, every earlier event was routed.
        project.write("procmux.toml", &toml(&["a", "b"]));
        assert_eq!(events.next_reload().await, ["a", "b"]);
        let forwarded = watcher.forwarded_events();
        let notify_cpu = thread_cpu("notify-rs inotify") - notify_before;
        let main_cpu = thread_cpu_self() - main_before;
        assert!(forwarded <= 4, "{forwarded} events left notify's thread");
        println!(
            "figure: {writes} writes to a log beside the manifest in {flood:?}: {forwarded} events \
             passed on (all from the manifest edit); notify's thread used {notify_cpu:?} of \
             CPU, the test's thread (runtime, writer) {main_cpu:?}"
        );
    });
}

/// CPU time of the calling thread.
fn thread_cpu_self() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let (_, rest) = stat.rsplit_once(')').unwrap();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

#[test]
fn an_idle_watcher_costs_nothing() {
    if !alone("watches::an_idle_watcher_costs_nothing") {
        return;
    }
    let project = Project::new();
    project.write("procmux.toml", &toml(&["a"]));
    project.write("src/main.rs", "");
    runtime().block_on(async {
        let (watcher, _events) = watching_manifest(options(&project.root, None)).await;
        watcher
            .set_process("api", &spec(&project.root, &["src/**/*.rs"], &[], 100))
            .unwrap();
        watcher.flush().await;
        let before = process_cpu();
        // Measuring idleness takes time by nature: this waits on nothing but the clock.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle = process_cpu() - before;
        println!("figure: idle watcher (manifest and one process) over 2 s: {idle:?} of CPU");
        assert!(idle <= Duration::from_millis(10), "{idle:?}");
    });
}

/// CPU time of the whole process.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let (_, rest) = stat.rsplit_once(')').unwrap();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}
