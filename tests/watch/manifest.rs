//! The manifest reload: the holes of the phase-1 watcher, each pinned.

use std::time::Duration;

use procmux::watch::{EMPTY_GRACE, WatchEvent};

use crate::support::{Project, options, toml, watching_manifest};

#[tokio::test]
async fn an_edit_reloads_and_an_editor_style_save_too() {
    let project = Project::new();
    project.write("procmux.toml", &toml(&["a"]));
    let (_watcher, mut events) = watching_manifest(options(&project.root, None)).await;
    let written = std::time::Instant::now();
    project.write("procmux.toml", &toml(&["a", "b"]));
    assert_eq!(events.next_reload().await, ["a", "b"]);
    eprintln!(
        "figure: manifest write to reloaded manifest {:?} (quiet time {:?})",
        written.elapsed(),
        procmux::watch::MANIFEST_QUIET
    );
    project.write_by_rename("procmux.toml", &toml(&["c"]));
    assert_eq!(events.next_reload().await, ["c"]);
    project.write_by_rename("procmux.toml", &toml(&["d"]));
    assert_eq!(events.next_reload().await, ["d"]);
}

#[tokio::test]
async fn an_env_file_that_appears_later_reloads() {
    let project = Project::new();
    project.write("procmux.toml", &toml(&["a"]));
    let (_watcher, mut events) = watching_manifest(options(&project.root, None)).await;
    project.write(".env", "GREETING=hello\n");
    let WatchEvent::Manifest(result) = events.next().await else {
        panic!("expected a reload");
    };
    let loaded = result.unwrap();
    let a = &loaded.manifest.processes[0].instances[0];
    assert_eq!(a.env.get("GREETING").map(String::as_str), Some("hello"));
}

#[tokio::test]
async fn an_edit_to_a_symlinked_manifests_target_reloads() {
    let project = Project::new();
    project.write("config/real.toml", &toml(&["a"]));
    project.write("config/other.toml", &toml(&["other"]));
    std::os::unix::fs::symlink("config/real.toml", project.path("procmux.toml")).unwrap();
    let (_watcher, mut events) = watching_manifest(options(&project.root, None)).await;
    project.write("config/real.toml", &toml(&["a", "b"]));
    assert_eq!(events.next_reload().await, ["a", "b"]);
    // Re-pointing the link, atomically as `ln -sfn` through a rename does.
    let temp = project.path("procmux.toml.new");
    std::os::unix::fs::symlink("config/other.toml", &temp).unwrap();
    std::fs::rename(&temp, project.path("procmux.toml")).unwrap();
    assert_eq!(events.next_reload().await, ["other"]);
    // The new target is watched, the old one no longer matters.
    project.write("config/other.toml", &toml(&["other", "more"]));
    assert_eq!(events.next_reload().await, ["other", "more"]);
    project.write("config/real.toml", &toml(&["stale"]));
    project.write("config/other.toml", &toml(&["last"]));
    assert_eq!(events.next_reload().await, ["last"]);
}

#[tokio::test]
async fn a_manifest_folder_removed_and_created_again_is_watched_again() {
    let project = Project::new();
    project.write("cfg/procmux.toml", &toml(&["a"]));
    let (_watcher, mut events) =
        watching_manifest(options(&project.root, Some("cfg/procmux.toml"))).await;
    std::fs::remove_dir_all(project.path("cfg")).unwrap();
    match events.next().await {
        WatchEvent::ManifestRemoved(path) => assert_eq!(path, project.path("cfg/procmux.toml")),
        other => panic!("expected the removal, got {other:?}"),
    }
    project.write("cfg/procmux.toml", &toml(&["b"]));
    assert_eq!(events.next_reload().await, ["b"]);
    for round in 0..3 {
        let name = format!("edit{round}");
        project.write("cfg/procmux.toml", &toml(&[&name]));
        assert_eq!(events.next_reload().await, [name]);
    }
}

#[tokio::test]
async fn a_deleted_manifest_is_reported_once_and_never_replaced_by_the_procfile() {
    let project = Project::new();
    project.write("procmux.toml", &toml(&["a"]));
    project.write("Procfile", "web: sleep 1000\n");
    let (_watcher, mut events) = watching_manifest(options(&project.root, None)).await;
    std::fs::remove_file(project.path("procmux.toml")).unwrap();
    match events.next().await {
        WatchEvent::ManifestRemoved(path) => assert_eq!(path, project.path("procmux.toml")),
        other => panic!("expected the removal, got {other:?}"),
    }
    // More changes while it is gone: no reload, and the removal is not said again.
    project.write(".env", "X=1\n");
    project.write("Procfile", "web: sleep 1001\n");
    project.write("procmux.toml", &toml(&["back"]));
    assert_eq!(events.next_reload().await, ["back"]);
}

#[tokio::test]
async fn a_slow_two_step_write_never_delivers_the_half_file() {
    let project = Project::new();
    project.write("procmux.toml", &toml(&["a"]));
    let (_watcher, mut events) = watching_manifest(options(&project.root, None)).await;
    let path = project.path("procmux.toml");
    for round in 0..2 {
        // Truncate, pause far longer than the debounce, then write the rest.
        let file = std::fs::File::create(&path).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        use std::io::Write;
        let name = format!("full{round}");
        (&file).write_all(toml(&["a", &name]).as_bytes()).unwrap();
        drop(file);
        assert_eq!(events.next_reload().await, ["a", &name]);
    }
}

#[tokio::test]
async fn a_manifest_left_empty_is_read_after_the_grace() {
    let project = Project::new();
    project.write("procmux.toml", &toml(&["a"]));
    let (_watcher, mut events) = watching_manifest(options(&project.root, None)).await;
    let emptied = std::time::Instant::now();
    std::fs::File::create(project.path("procmux.toml")).unwrap();
    // Whatever the loader says of an empty manifest, it says it after the grace.
    let WatchEvent::Manifest(_) = events.next().await else {
        panic!("expected a load");
    };
    assert!(emptied.elapsed() >= EMPTY_GRACE, "{:?}", emptied.elapsed());
}

#[tokio::test]
async fn a_manifest_written_and_kept_open_reloads_even_after_a_save_by_rename() {
    let project = Project::new();
    project.write("procmux.toml", &toml(&["a"]));
    let (_watcher, mut events) = watching_manifest(options(&project.root, None)).await;
    let path = project.path("procmux.toml");
    use std::io::Write;
    // No close, so nothing its folder's watch asks for: the file's own watch sees the write.
    let mut open = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    open.write_all(toml(&["b"]).as_bytes()).unwrap();
    assert_eq!(events.next_reload().await, ["a", "b"]);
    // Replaced: a new inode, which gets the file watch in turn.
    project.write_by_rename("procmux.toml", &toml(&["c"]));
    assert_eq!(events.next_reload().await, ["c"]);
    let mut open = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    open.write_all(toml(&["d"]).as_bytes()).unwrap();
    assert_eq!(events.next_reload().await, ["c", "d"]);
    drop(open);
}
