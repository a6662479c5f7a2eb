//! Per-process globs: which changes give a change set, and how bursts are grouped.

use std::time::{Duration, Instant};

use procmux::watch::{FileWatcher, count_matches};

use crate::support::{Project, spec, watching};

#[tokio::test]
async fn a_matching_change_gives_one_event_naming_the_file() {
    let project = Project::new();
    project.write("src/main.rs", "fn main() {}\n");
    let (_watcher, mut events) =
        watching("api", &spec(&project.root, &["src/**/*.rs"], &[], 100)).await;
    let written = Instant::now();
    let main = project.write("src/main.rs", "fn main() { todo!() }\n");
    let (key, paths, more) = events.next_change().await;
    let latency = written.elapsed();
    assert_eq!((key.as_str(), paths, more), ("api", vec![main], 0));
    assert!(
        latency >= Duration::from_millis(100),
        "reported before the debounce: {latency:?}"
    );
    eprintln!("figure: write to change set {latency:?} (debounce 100 ms)");
    events.assert_none_for(Duration::from_millis(400)).await;
}

#[tokio::test]
async fn five_saves_in_50_ms_give_one_event() {
    let project = Project::new();
    let (_watcher, mut events) =
        watching("api", &spec(&project.root, &["**/*.rs"], &[], 100)).await;
    let mut last = Instant::now();
    for i in 0..5 {
        project.write("lib.rs", &format!("// save {i}\n"));
        last = Instant::now();
        std::thread::sleep(Duration::from_millis(10));
    }
    let (_, paths, more) = events.next_change().await;
    let quiet = last.elapsed();
    assert_eq!((paths, more), (vec![project.path("lib.rs")], 0));
    assert!(quiet >= Duration::from_millis(100), "{quiet:?}");
    events.assert_none_for(Duration::from_millis(400)).await;
}

#[tokio::test]
async fn a_burst_over_many_files_names_the_first_few_and_counts_the_rest() {
    let project = Project::new();
    let (_watcher, mut events) =
        watching("api", &spec(&project.root, &["src/*.rs"], &[], 150)).await;
    for name in ["e", "b", "g", "a", "f", "c", "d", "a"] {
        project.write(&format!("src/{name}.rs"), name);
    }
    let (_, paths, more) = events.next_change().await;
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["a.rs", "b.rs", "c.rs", "d.rs", "e.rs"]);
    assert_eq!(more, 2);
}

#[tokio::test]
async fn ignored_git_and_unmatched_files_give_nothing() {
    let project = Project::new();
    project.write(".gitignore", "*.log\nbuild/\n");
    project.write(".ignore", "scratch.rs\n");
    project.mkdir("build");
    project.write(".git/HEAD", "ref: refs/heads/main\n");
    project.mkdir("src");
    let (watcher, mut events) = watching(
        "api",
        &spec(
            &project.root,
            &["**/*.rs", "**/*.log", "**/*"],
            &["**/*.snap"],
            100,
        ),
    )
    .await;
    let before = watcher.forwarded_events();
    project.write("server.log", "a log line\n");
    project.write("build/out.rs", "generated\n");
    project.write(".git/index.rs", "git's own\n");
    project.write("scratch.rs", "ignored by .ignore\n");
    project.write("src/view.snap", "snapshot\n");
    std::fs::remove_file(project.path("server.log")).unwrap();
    // A change that counts, last: every ignored change above came before it.
    let sentinel = project.write("src/main.rs", "fn main() {}\n");
    let (_, paths, more) = events.next_change().await;
    assert_eq!((paths, more), (vec![sentinel], 0));
    assert!(
        watcher.forwarded_events() - before <= 3,
        "ignored writes left the reading thread: {}",
        watcher.forwarded_events() - before
    );
}

#[tokio::test]
async fn globs_are_relative_to_the_cwd() {
    let project = Project::new();
    let api = project.mkdir("crates/api");
    project.mkdir("crates/web/src");
    let (_watcher, mut events) =
        watching("api", &spec(&api, &["src/**/*.rs", "Cargo.toml"], &[], 50)).await;
    project.write("crates/web/src/main.rs", "not api's\n");
    project.write("crates/Cargo.toml", "not api's\n");
    let manifest = project.write("crates/api/Cargo.toml", "[package]\n");
    let (_, paths, _) = events.next_change().await;
    assert_eq!(paths, [manifest]);
}

#[tokio::test]
async fn a_directory_created_later_is_watched() {
    let project = Project::new();
    let (watcher, mut events) = watching("api", &spec(&project.root, &["**/*.rs"], &[], 100)).await;
    // Written at once, before any watch on the new folders can exist: found by the walk
    // that adds the watches.
    let first = project.write("src/new/deep/a.rs", "a\n");
    let (_, paths, _) = events.next_change().await;
    assert_eq!(paths, [first]);
    watcher.flush().await;
    assert!(
        watcher
            .watched_dirs()
            .contains(&project.path("src/new/deep"))
    );
    let second = project.write("src/new/deep/b.rs", "b\n");
    let (_, paths, _) = events.next_change().await;
    assert_eq!(paths, [second]);
}

#[tokio::test]
async fn a_missing_base_is_watched_once_it_appears() {
    let project = Project::new();
    let (watcher, mut events) = watching(
        "api",
        &spec(&project.root, &["crates/api/**/*.rs"], &[], 50),
    )
    .await;
    assert_eq!(watcher.watched_dirs(), std::slice::from_ref(&project.root));
    project.mkdir("crates/api/src");
    let file = project.write("crates/api/src/lib.rs", "x\n");
    let (_, paths, _) = events.next_change().await;
    assert_eq!(paths, [file]);
    watcher.flush().await;
    // Removed and created again: still watched.
    std::fs::remove_dir_all(project.path("crates")).unwrap();
    let (_, paths, _) = events.next_change().await;
    assert_eq!(paths, [project.path("crates/api/src/lib.rs")]);
    project.mkdir("crates/api/src");
    let again = project.write("crates/api/src/main.rs", "y\n");
    let (_, paths, _) = events.next_change().await;
    assert_eq!(paths, [again]);
}

#[tokio::test]
async fn a_gitignore_edit_changes_what_is_watched() {
    let project = Project::new();
    project.write(".gitignore", "gen/\n");
    project.mkdir("gen");
    let (watcher, mut events) = watching("api", &spec(&project.root, &["**/*.rs"], &[], 50)).await;
    assert!(!watcher.watched_dirs().contains(&project.path("gen")));
    project.write(".gitignore", "other/\n");
    // The edit is seen on the reading thread and re-walked by the worker; wait until then.
    let deadline = Instant::now() + crate::support::DEADLINE;
    while !watcher.watched_dirs().contains(&project.path("gen")) {
        assert!(Instant::now() < deadline, "gen was never watched");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    watcher.flush().await;
    let file = project.write("gen/x.rs", "x\n");
    let (_, paths, _) = events.next_change().await;
    assert_eq!(paths, [file]);
}

#[tokio::test]
async fn edited_globs_take_effect_and_a_removed_process_hears_nothing() {
    let project = Project::new();
    let (watcher, mut events) = watching("api", &spec(&project.root, &["*.rs"], &[], 50)).await;
    watcher
        .set_process("api", &spec(&project.root, &["*.toml"], &[], 50))
        .unwrap();
    watcher
        .set_process("web", &spec(&project.root, &["*.js"], &[], 50))
        .unwrap();
    watcher.flush().await;
    project.write("a.rs", "no longer watched\n");
    let toml = project.write("a.toml", "watched now\n");
    let (key, paths, _) = events.next_change().await;
    assert_eq!((key.as_str(), paths), ("api", vec![toml]));
    watcher.remove_process("api");
    watcher.flush().await;
    project.write("b.toml", "api is gone\n");
    let js = project.write("a.js", "web's\n");
    let (key, paths, _) = events.next_change().await;
    assert_eq!((key.as_str(), paths), ("web", vec![js]));
}

#[tokio::test]
async fn processes_sharing_a_directory_each_get_their_changes() {
    let project = Project::new();
    let (watcher, events) = FileWatcher::start().unwrap();
    let mut events = crate::support::Events(events);
    watcher
        .set_process("web.1", &spec(&project.root, &["*.rs"], &[], 50))
        .unwrap();
    watcher
        .set_process("web.2", &spec(&project.root, &["*.rs"], &[], 50))
        .unwrap();
    watcher.flush().await;
    assert_eq!(watcher.watched_dirs(), std::slice::from_ref(&project.root));
    project.write("a.rs", "x\n");
    let mut keys = vec![events.next_change().await.0, events.next_change().await.0];
    keys.sort();
    assert_eq!(keys, ["web.1", "web.2"]);
}

#[tokio::test]
async fn reading_watched_files_and_writing_them_unclosed_wake_nothing() {
    let project = Project::new();
    let main = project.write("src/main.rs", "fn main() {}\n");
    let (watcher, mut events) =
        watching("api", &spec(&project.root, &["src/**/*.rs"], &[], 50)).await;
    let before = watcher.inotify_events();
    // A compiler reading its sources: opens, reads and closes without writing.
    for _ in 0..1000 {
        std::fs::read(&main).unwrap();
    }
    // A file written and kept open: a restart is for a finished write (see the module docs of
    // `procmux::watch`).
    use std::io::Write;
    let mut open = std::fs::OpenOptions::new()
        .append(true)
        .open(&main)
        .unwrap();
    for i in 0..1000 {
        writeln!(open, "// {i}").unwrap();
    }
    let sentinel = project.write("src/lib.rs", "\n");
    let (_, paths, _) = events.next_change().await;
    assert_eq!(paths, [sentinel]);
    // The sentinel's creation and its close after writing.
    let read = watcher.inotify_events() - before;
    assert!(read <= 2, "{read} inotify events were read");
    // Closed: now it counts.
    drop(open);
    let (_, paths, _) = events.next_change().await;
    assert_eq!(paths, [main]);
}

#[test]
fn matches_are_counted_for_check() {
    let project = Project::new();
    project.write(".gitignore", "target/\n");
    project.write("Cargo.toml", "");
    project.write("src/main.rs", "");
    project.write("src/bin/tool.rs", "");
    project.write("src/view.snap.rs", "");
    project.write("target/debug/build.rs", "");
    let count = |watch: &[&str], ignore: &[&str]| {
        let owned = |l: &[&str]| l.iter().map(|g| (*g).to_owned()).collect::<Vec<_>>();
        count_matches(&project.root, &owned(watch), &owned(ignore)).unwrap()
    };
    assert_eq!(count(&["**/*.rs"], &[]), 3);
    assert_eq!(count(&["**/*.rs"], &["**/*.snap.rs"]), 2);
    assert_eq!(count(&["src/*.rs", "Cargo.toml"], &[]), 3);
    assert_eq!(count(&["Cargo.toml"], &[]), 1);
    assert_eq!(count(&["nothing/**"], &[]), 0);
}
