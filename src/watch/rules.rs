//! [`Rules`]: everything that decides whether a change matters to one process, built once
//! when the process is set (not per event): its globs, the directories they need, and one
//! ignore-file matcher per such directory.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ignore::IncrementalIgnore;

use super::ProcessWatch;
use super::error::WatchError;
use super::globs::{Globs, reshown};
use super::plan::{Base, plan};
use super::walk::matcher;

/// One process's compiled watch rules.
#[derive(Debug)]
pub(crate) struct Rules {
    /// The cwd with symbolic links resolved, as inotify reports paths under it.
    pub cwd: PathBuf,
    /// The cwd as the caller gave it: reported paths are shown under it.
    pub shown_cwd: PathBuf,
    /// The quiet time before a burst of changes is reported.
    pub debounce: Duration,
    /// The `watch` and `watch_ignore` globs.
    pub globs: Arc<Globs>,
    /// The directories the globs need (see `plan.rs`).
    pub bases: Vec<Base>,
    /// One ignore-file matcher per base, in the same order.
    matchers: Vec<IncrementalIgnore>,
    /// The bases that did not exist at the last walk: when one appears, what is in it is new.
    pub missing: Vec<PathBuf>,
}

impl Rules {
    /// Compiles `spec`. The cwd is resolved when it exists; the globs are checked here, so a
    /// bad glob is reported to the caller at once.
    pub fn new(spec: &ProcessWatch) -> Result<Self, WatchError> {
        let cwd = std::fs::canonicalize(&spec.cwd).unwrap_or_else(|_| spec.cwd.clone());
        let globs = Arc::new(Globs::new(&cwd, &spec.watch, &spec.ignore)?);
        let bases = plan(&cwd, &spec.watch);
        let matchers = bases.iter().map(|b| matcher(&b.dir)).collect();
        Ok(Self {
            cwd,
            shown_cwd: spec.cwd.clone(),
            debounce: spec.debounce,
            globs,
            bases,
            matchers,
            missing: Vec::new(),
        })
    }

    /// Forgets what the ignore files said, so they are read again (one of them changed).
    pub fn reload_ignore_files(&mut self) {
        self.matchers = self.bases.iter().map(|b| matcher(&b.dir)).collect();
    }

    /// Whether a change to `path` restarts the process: a glob matches it and it is not
    /// excluded.
    pub fn wants(&mut self, path: &Path, is_dir: bool) -> bool {
        self.globs.watches(path) && !self.excluded(path, is_dir)
    }

    /// Whether the directory `dir` must be watched for this process: it is within a base's
    /// depth and not excluded. Gives the base, to walk below `dir` with the depth left.
    pub fn watches_dir(&mut self, dir: &Path) -> Option<Base> {
        let base = self.bases.iter().find(|b| b.covers_dir(dir))?.clone();
        if self.excluded(dir, true) {
            return None;
        }
        let level = base.level_of(dir)?;
        Some(Base {
            dir: dir.to_path_buf(),
            depth: base.depth.map(|d| d - level),
        })
    }

    /// Whether `path` is excluded: it is outside every base, in `.git`, ignored by a
    /// `watch_ignore` glob, or by an ignore file.
    pub fn excluded(&mut self, path: &Path, is_dir: bool) -> bool {
        let Some(index) = self.bases.iter().position(|b| b.level_of(path).is_some()) else {
            return true;
        };
        let base = &self.bases[index].dir;
        let Ok(relative) = path.strip_prefix(base) else {
            return true;
        };
        if relative
            .components()
            .any(|c| c == Component::Normal(".git".as_ref()))
        {
            return true;
        }
        if self.globs.ignores(path, base) {
            return true;
        }
        self.matchers[index].matched(relative, is_dir).is_ignore()
    }

    /// `path` as the caller should see it (under the cwd as given).
    pub fn shown(&self, path: &Path) -> PathBuf {
        reshown(path, &self.cwd, &self.shown_cwd)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let temp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(temp.path()).unwrap();
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        (temp, root)
    }

    fn rules(cwd: &Path, watch: &[&str], ignore: &[&str]) -> Rules {
        Rules::new(&ProcessWatch {
            cwd: cwd.to_path_buf(),
            watch: watch.iter().map(|g| (*g).to_owned()).collect(),
            ignore: ignore.iter().map(|g| (*g).to_owned()).collect(),
            debounce: Duration::from_millis(100),
        })
        .unwrap()
    }

    #[test]
    fn ignore_files_git_and_ignore_globs_exclude() {
        let (_temp, root) = project(&[
            (".gitignore", "target/\n*.log\n"),
            ("src/.gitignore", "generated.rs\n"),
            (".ignore", "scratch/\n"),
            ("src/main.rs", ""),
        ]);
        let mut r = rules(&root, &["**/*"], &["**/*.snap"]);
        assert!(r.wants(&root.join("src/main.rs"), false));
        assert!(!r.wants(&root.join("target/debug/main"), false));
        assert!(!r.wants(&root.join("server.log"), false));
        assert!(
            !r.wants(&root.join("src/generated.rs"), false),
            "nested .gitignore"
        );
        assert!(r.wants(&root.join("generated.rs"), false), "only under src");
        assert!(!r.wants(&root.join("scratch/a.rs"), false), ".ignore");
        assert!(!r.wants(&root.join(".git/index"), false));
        assert!(!r.wants(&root.join("src/a.snap"), false));
        assert!(
            r.wants(&root.join(".env"), false),
            "hidden files are watched"
        );
    }

    #[test]
    fn a_parent_gitignore_applies_to_a_process_in_a_subfolder() {
        let (_temp, root) = project(&[(".gitignore", "dist/\n"), ("web/src/a.js", "")]);
        let mut r = rules(&root.join("web"), &["**/*.js"], &[]);
        assert!(r.wants(&root.join("web/src/a.js"), false));
        assert!(!r.wants(&root.join("web/dist/a.js"), false));
    }

    #[test]
    fn directories_are_watched_within_their_base_and_depth() {
        let (_temp, root) = project(&[(".gitignore", "node_modules/\n")]);
        let mut r = rules(&root, &["src/*/mod.rs", "Cargo.toml"], &["src/tmp"]);
        let sub = r.watches_dir(&root.join("src/a")).unwrap();
        assert_eq!((sub.dir, sub.depth), (root.join("src/a"), Some(0)));
        assert!(r.watches_dir(&root.join("src/a/b")).is_none(), "too deep");
        assert!(
            r.watches_dir(&root.join("src/tmp")).is_none(),
            "watch_ignore"
        );
        assert!(
            r.watches_dir(&root.join("docs")).is_none(),
            "no glob reaches it"
        );
        let mut all = rules(&root, &["**/*.js"], &[]);
        assert!(all.watches_dir(&root.join("node_modules")).is_none());
        assert!(all.watches_dir(&root.join("lib/deep")).is_some());
    }
}
