//! Walking a watched tree with the `ignore` crate: the directories to watch and, when asked,
//! the files a process's globs could match.
//!
//! The walk and the per-event matcher ([`matcher`]) are configured by one function
//! ([`walker`]), so they agree on what is excluded: `.gitignore` (nested ones included, and
//! those of parent directories), `.ignore`, `.git/info/exclude` and the global git excludes.
//! Hidden files are not excluded (`.env` is a typical thing to watch); `.git` always is.
//! A `.gitignore` is honoured even where there is no `.git` (a project unpacked from a
//! tarball means the same by it). Symbolic links to directories are not followed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ignore::{IncrementalIgnore, WalkBuilder};

use super::globs::Globs;

/// The walk configuration shared by walks and matchers.
fn walker(root: &Path) -> WalkBuilder {
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(false)
        .parents(true)
        .ignore(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(true)
        .require_git(false)
        .follow_links(false);
    builder
}

/// The `.gitignore`/`.ignore` matcher for paths under `root` (relative to it). It reads
/// ignore files lazily, once per directory: build a new one when an ignore file changes.
pub(crate) fn matcher(root: &Path) -> IncrementalIgnore {
    let mut matchers = walker(root).build_matchers();
    matchers
        .pop()
        .expect("build_matchers gives one matcher per root, and there is one root")
}

/// What a walk found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// Directories that are not excluded, `root` first when it is one.
    pub dirs: Vec<PathBuf>,
    /// Files (and symbolic links) that are not excluded, when asked for.
    pub files: Vec<PathBuf>,
}

/// Walks `root`: the directories down to `depth` levels below it (`None`: all), and with
/// `files`, the entries one level further too. Excluded: `.git`, the ignore files' rules
/// and `globs`' ignore globs. A root that does not exist gives nothing.
pub(crate) fn walk(root: &Path, depth: Option<usize>, globs: &Arc<Globs>, files: bool) -> Found {
    let mut found = Found::default();
    let mut builder = walker(root);
    builder.max_depth(depth.map(|d| d + usize::from(files)));
    let filter = Arc::clone(globs);
    builder.filter_entry(move |entry| {
        entry.file_name() != ".git" && !filter.ignores_itself(entry.path())
    });
    for entry in builder.build().flatten() {
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        if is_dir && depth.is_none_or(|d| entry.depth() <= d) {
            found.dirs.push(entry.into_path());
        } else if !is_dir && files && entry.depth() > 0 {
            found.files.push(entry.into_path());
        }
    }
    found
}
