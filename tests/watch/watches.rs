//! What gets an inotify watch and with which mask, counted from the kernel's side, what a
//! flood of writes no one cares about costs, and that a dropped watcher leaves nothing
//! behind. These tests run alone in a child process (the test binary again, filtered to one
//! test), so the process's only inotify instance is theirs.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use procmux::watch::FileWatcher;

use crate::support::{Events, Project, options, spec, toml, watching, watching_manifest};

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
fn a_flood_of_writes_to_an_open_log_beside_the_manifest_wakes_nothing() {
    if !alone("watches::a_flood_of_writes_to_an_open_log_beside_the_manifest_wakes_nothing") {
        return;
    }
    let project = Project::new();
    project.write("procmux.toml", &toml(&["a"]));
    runtime().block_on(async {
        let (watcher, mut events) = watching_manifest(options(&project.root, None)).await;
        assert_eq!(watcher.watched_dirs(), std::slice::from_ref(&project.root));
        use std::io::Write;
        // Unbuffered: one write(2) per line, as a logger that flushes each line does.
        let mut log = std::fs::File::create(project.path("app.log")).unwrap();
        // The barrier: when an edit's reload arrives, every earlier event was read (the log's
        // creation here).
        project.write("procmux.toml", &toml(&["a", "b"]));
        assert_eq!(events.next_reload().await, ["a", "b"]);
        let read_before = watcher.inotify_events();
        let forwarded_before = watcher.forwarded_events();
        let reader_before = thread_cpu("procmux-inotify");
        let others_before = process_cpu() - thread_cpu_self();
        let writes = 100_000;
        let started = Instant::now();
        for i in 0..writes {
            log.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        let flood = started.elapsed();
        // The log stays open: its close would be one event (a close after writing).
        project.write("procmux.toml", &toml(&["a", "b", "c"]));
        assert_eq!(events.next_reload().await, ["a", "b", "c"]);
        let read = watcher.inotify_events() - read_before;
        let forwarded = watcher.forwarded_events() - forwarded_before;
        let reader_cpu = thread_cpu("procmux-inotify") - reader_before;
        let others_cpu = (process_cpu() - thread_cpu_self()) - others_before;
        drop(log);
        // All from the manifest edits: each is 4 at most (its folder's close-after-write, and
        // the file's own truncation, write and close), and one read late after the first
        // edit's reload (a thread kept from running for the quiet time) counts here.
        assert!(read <= 8, "{read} inotify events were read");
        assert!(forwarded <= 8, "{forwarded} events left the reading thread");
        println!(
            "figure: {writes} writes to an open log beside the manifest in {flood:?}: {read} \
             inotify events read, {forwarded} passed on (all from the manifest edits); the \
             reading thread used {reader_cpu:?} of CPU, all threads but the test's own \
             (writer and runtime) {others_cpu:?}"
        );
    });
}

/// The event bits each watch of this process asks for, by inode, as the kernel lists them.
fn kernel_masks() -> std::collections::BTreeMap<u64, u32> {
    let mut masks = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let is_inotify = std::fs::read_link(entry.path())
            .is_ok_and(|target| target == Path::new("anon_inode:inotify"));
        if !is_inotify {
            continue;
        }
        let info = std::fs::read_to_string(Path::new("/proc/self/fdinfo").join(entry.file_name()))
            .unwrap_or_default();
        for line in info.lines().filter(|l| l.starts_with("inotify wd:")) {
            let field = |name: &str| {
                let hex = line
                    .split_whitespace()
                    .find_map(|f| f.strip_prefix(name))
                    .unwrap();
                u64::from_str_radix(hex, 16).unwrap()
            };
            masks.insert(field("ino:"), field("mask:") as u32 & 0xfff);
        }
    }
    masks
}

fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().ino()
}

// The event bits of inotify(7).
const ACCESS: u32 = 0x1;
const MODIFY: u32 = 0x2;
const ATTRIB: u32 = 0x4;
const CLOSE_WRITE: u32 = 0x8;
const CLOSE_NOWRITE: u32 = 0x10;
const OPEN: u32 = 0x20;
const MOVED_FROM: u32 = 0x40;
const MOVED_TO: u32 = 0x80;
const CREATE: u32 = 0x100;
const DELETE: u32 = 0x200;
const DELETE_SELF: u32 = 0x400;
const MOVE_SELF: u32 = 0x800;
const FOLDER: u32 = CREATE | MOVED_TO | MOVED_FROM | DELETE | CLOSE_WRITE | DELETE_SELF | MOVE_SELF;

#[test]
fn each_watch_asks_the_kernel_for_its_own_events_only() {
    if !alone("watches::each_watch_asks_the_kernel_for_its_own_events_only") {
        return;
    }
    let project = Project::new();
    runtime().block_on(async {
        let (watcher, _events) = manifest_and_api(&project).await;
        let (root, src, manifest) = (
            inode(&project.root),
            inode(&project.path("src")),
            inode(&project.path("procmux.toml")),
        );
        let masks = kernel_masks();
        // The manifest's folder: names coming and going, and writes at their close; the
        // manifest itself: its writes too; a process's folder: metadata as well.
        let expected = [
            (root, FOLDER),
            (src, FOLDER | ATTRIB),
            (manifest, MODIFY | CLOSE_WRITE | DELETE_SELF | MOVE_SELF),
        ];
        assert_eq!(masks, expected.into_iter().collect(), "{masks:x?}");
        for mask in masks.values() {
            assert_eq!(mask & (ACCESS | OPEN | CLOSE_NOWRITE), 0, "{mask:x}");
        }
        // A process watching the manifest's folder too: the folder's mask is both.
        watcher
            .set_process("web", &spec(&project.root, &["Cargo.toml"], &[], 100))
            .unwrap();
        watcher.flush().await;
        assert_eq!(kernel_masks()[&root], FOLDER | ATTRIB);
        watcher.remove_process("web");
        watcher.flush().await;
        assert_eq!(kernel_masks()[&root], FOLDER);
        // A manifest saved by rename is a new inode: it gets the file watch, the old one
        // is gone with its inode.
        project.write_by_rename("procmux.toml", &toml(&["b"]));
        let deadline = Instant::now() + crate::support::DEADLINE;
        let renamed = inode(&project.path("procmux.toml"));
        while !kernel_masks().contains_key(&renamed) {
            assert!(Instant::now() < deadline, "{:x?}", kernel_masks());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(kernel_masks().len(), 3, "{:x?}", kernel_masks());
    });
}

#[test]
fn a_dropped_watcher_ends_its_threads_and_its_inotify_instance() {
    if !alone("watches::a_dropped_watcher_ends_its_threads_and_its_inotify_instance") {
        return;
    }
    let project = Project::new();
    project.write("procmux.toml", &toml(&["a"]));
    let threads = || {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter(|task| {
                let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
                comm.starts_with("procmux-")
            })
            .count()
    };
    runtime().block_on(async {
        let (watcher, events) = watching_manifest(options(&project.root, None)).await;
        // A thread names itself once it runs: the reading thread may not have yet.
        let deadline = Instant::now() + crate::support::DEADLINE;
        while threads() < 2 {
            assert!(Instant::now() < deadline, "{} threads", threads());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(threads(), 2, "the reading thread and the worker");
        assert_eq!(
            inotify_watches(),
            2,
            "the manifest's folder and the manifest"
        );
        drop(watcher);
        drop(events);
        while threads() > 0 || inotify_watches() > 0 {
            assert!(Instant::now() < deadline, "{} threads left", threads());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
}

/// A project with a manifest and `src/main.rs`, watched for the manifest and for a process
/// `api` on `src/**/*.rs`.
async fn manifest_and_api(project: &Project) -> (FileWatcher, Events) {
    project.write("procmux.toml", &toml(&["a"]));
    project.write("src/main.rs", "");
    let (watcher, events) = watching_manifest(options(&project.root, None)).await;
    watcher
        .set_process("api", &spec(&project.root, &["src/**/*.rs"], &[], 100))
        .unwrap();
    watcher.flush().await;
    (watcher, events)
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
    runtime().block_on(async {
        let (_watcher, _events) = manifest_and_api(&project).await;
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
