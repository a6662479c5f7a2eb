//! The manifest reload as the runner takes it today: a thin adapter over [`crate::watch`],
//! which does the watching (the files, their link targets, missing directories), the
//! debounce, the stability check and the load off the event loop.
//!
//! The runner receives `Result<Manifest, String>`; the two things it has no event for yet
//! (the manifest was removed, a directory cannot be watched) are printed here as `system`
//! lines. When the runner takes [`WatchEvent`]s itself (for per-process restarts too), this
//! file goes away.

use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use crate::manifest::LoadOptions;
use crate::mux::Mux;
use crate::watch::{FileWatcher, WatchEvent};

use super::runner::ManifestUpdates;

/// Starts watching `sources` (the manifest and its env files, as
/// [`Loaded::sources`](crate::manifest::Loaded::sources) lists them) and returns the stream
/// of reloaded manifests: each item is a new manifest, or the rendered error of a load that
/// failed. Reloads read `sources[0]` again, never another manifest.
///
/// Returns once the watches are in place, so an edit made after this is seen. Must be
/// called inside a tokio runtime. Watching stops when the returned receiver is dropped.
pub async fn watch(
    options: LoadOptions,
    sources: Vec<PathBuf>,
    mux: Mux,
) -> notify::Result<ManifestUpdates> {
    let (watcher, mut events) = FileWatcher::start()?;
    let cwd = options.cwd.clone();
    watcher.set_manifest(options, sources);
    watcher.flush().await;
    let (updates_tx, updates) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        // The handle lives as long as someone listens: dropping it stops the watcher.
        let _watcher = watcher;
        loop {
            let event = tokio::select! {
                event = events.recv() => event,
                () = updates_tx.closed() => return,
            };
            let update = match event {
                None => return,
                Some(WatchEvent::Manifest(result)) => (*result)
                    .map(|loaded| loaded.manifest)
                    .map_err(|e| e.render()),
                Some(WatchEvent::ManifestRemoved(path)) => {
                    mux.system(&removed(&cwd, &path));
                    continue;
                }
                Some(WatchEvent::Error { error, .. }) => {
                    mux.system(&format!("reload: {error}; changes there will be missed"));
                    continue;
                }
                Some(WatchEvent::Process { .. }) => continue,
            };
            if updates_tx.send(update).is_err() {
                return;
            }
        }
    });
    Ok(updates)
}

/// `reload: procmux.toml was removed; keeping everything as it runs`, with the path shown
/// relative to the cwd when it is under it.
fn removed(cwd: &Path, path: &Path) -> String {
    let shown = path.strip_prefix(cwd).unwrap_or(path);
    format!(
        "reload: {} was removed; keeping everything as it runs",
        shown.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removal_names_the_file_relative_to_the_cwd() {
        assert_eq!(
            removed(Path::new("/p"), Path::new("/p/cfg/procmux.toml")),
            "reload: cfg/procmux.toml was removed; keeping everything as it runs"
        );
        assert_eq!(
            removed(Path::new("/p"), Path::new("/q/procmux.toml")),
            "reload: /q/procmux.toml was removed; keeping everything as it runs"
        );
    }
}
