//! Which directories a set of globs needs watched: pure, from the glob text alone.
//!
//! A glob is split at its first component that holds a glob character: the components before
//! it are a literal path (the *base*), the rest a pattern that can only match below the base.
//! `crates/api/**/*.rs` needs `crates/api` and everything under it; `src/*.rs` needs `src`
//! alone (depth 0); `src/*/mod.rs` needs `src` and its direct subdirectories (depth 1);
//! `Cargo.toml` needs the cwd alone, for that one name. A glob with no glob character at
//! all names a path: it matches that path and, when the path is a directory, everything
//! under it, so its directory is a base too (which costs nothing when it is a file).
//!
//! Bases that another base already covers are dropped, so nothing is walked twice.

use std::path::{Component, Path, PathBuf};

/// One directory to watch, with how deep below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Base {
    /// The directory (absolute, lexically normalized).
    pub dir: PathBuf,
    /// How many levels of subdirectories below `dir` are watched: `Some(0)` is `dir`
    /// alone, `None` is the whole tree.
    pub depth: Option<usize>,
}

impl Base {
    /// How many levels below this base `path` is, when it is inside it: `Some(0)` for the
    /// base itself.
    pub fn level_of(&self, path: &Path) -> Option<usize> {
        path.strip_prefix(&self.dir)
            .ok()
            .map(|rest| rest.components().count())
    }

    /// Whether a directory at `path` is watched for this base.
    pub fn covers_dir(&self, path: &Path) -> bool {
        self.level_of(path)
            .is_some_and(|level| self.depth.is_none_or(|depth| level <= depth))
    }

    /// Whether this base watches every directory `other` watches.
    fn covers(&self, other: &Base) -> bool {
        let Some(level) = self.level_of(&other.dir) else {
            return false;
        };
        match (self.depth, other.depth) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(mine), Some(theirs)) => level + theirs <= mine,
        }
    }
}

/// A glob split into its literal base and the pattern below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split {
    /// The literal leading components, joined to the cwd and normalized.
    pub base: PathBuf,
    /// The rest (`**/*.rs`); `None` when the whole glob is literal.
    pub pattern: Option<String>,
}

/// Whether a glob component needs glob matching (rather than naming itself).
fn is_pattern(component: &str) -> bool {
    component.contains(['*', '?', '[', ']', '{', '}', '\\'])
}

/// Splits `glob` (relative to `cwd`, or absolute) at its first pattern component.
pub(crate) fn split(cwd: &Path, glob: &str) -> Split {
    let mut base = cwd.to_path_buf();
    let mut components = glob.split('/').peekable();
    if glob.starts_with('/') {
        base = PathBuf::from("/");
    }
    while let Some(component) = components.peek() {
        if is_pattern(component) {
            break;
        }
        base.push(component);
        components.next();
    }
    let rest: Vec<&str> = components.collect();
    Split {
        base: normalize(&base),
        pattern: (!rest.is_empty()).then(|| rest.join("/")),
    }
}

/// The bases one glob needs.
fn bases_of(cwd: &Path, glob: &str) -> Vec<Base> {
    let split = split(cwd, glob);
    match split.pattern {
        None => {
            let parent = split
                .base
                .parent()
                .map_or_else(|| split.base.clone(), Path::to_path_buf);
            vec![
                Base {
                    dir: parent,
                    depth: Some(0),
                },
                Base {
                    dir: split.base,
                    depth: None,
                },
            ]
        }
        Some(pattern) => {
            // `**` reaches any depth; so may a `{a/b,c}` alternation, whose slashes the
            // component count below cannot see.
            let depth = if pattern.contains("**") || pattern.contains('{') {
                None
            } else {
                Some(pattern.split('/').filter(|c| !c.is_empty()).count() - 1)
            };
            vec![Base {
                dir: split.base,
                depth,
            }]
        }
    }
}

/// The directories to watch for `globs` (relative to `cwd`), with covered bases dropped, in
/// a stable order (shallowest first).
pub(crate) fn plan(cwd: &Path, globs: &[String]) -> Vec<Base> {
    let mut all: Vec<Base> = globs.iter().flat_map(|g| bases_of(cwd, g)).collect();
    // Wider bases first, so that the covering one is kept when two cover each other.
    all.sort_by(|a, b| {
        (a.dir.components().count(), a.depth.is_some(), a.depth)
            .cmp(&(b.dir.components().count(), b.depth.is_some(), b.depth))
            .then_with(|| a.dir.cmp(&b.dir))
    });
    let mut kept: Vec<Base> = Vec::new();
    for base in all {
        if !kept.iter().any(|k| k.covers(&base)) {
            kept.retain(|k| !base.covers(k));
            kept.push(base);
        }
    }
    kept
}

/// Removes `.` and resolves `..` without touching the file system.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn base(dir: &str, depth: Option<usize>) -> Base {
        Base {
            dir: PathBuf::from(dir),
            depth,
        }
    }

    fn plan_of(globs: &[&str]) -> Vec<Base> {
        let globs: Vec<String> = globs.iter().map(|g| (*g).to_owned()).collect();
        plan(Path::new("/p"), &globs)
    }

    #[test]
    fn a_recursive_glob_watches_its_literal_prefix_only() {
        assert_eq!(
            plan_of(&["crates/api/**/*.rs"]),
            [base("/p/crates/api", None)]
        );
    }

    #[test]
    fn a_file_name_watches_the_cwd_alone() {
        assert_eq!(
            plan_of(&["Cargo.toml"]),
            [base("/p", Some(0)), base("/p/Cargo.toml", None)]
        );
    }

    #[test]
    fn single_level_patterns_watch_one_level() {
        assert_eq!(plan_of(&["src/*.rs"]), [base("/p/src", Some(0))]);
        assert_eq!(plan_of(&["src/*/mod.rs"]), [base("/p/src", Some(1))]);
        assert_eq!(plan_of(&["*.rs"]), [base("/p", Some(0))]);
    }

    #[test]
    fn covered_bases_are_dropped() {
        assert_eq!(
            plan_of(&["crates/api/**/*.rs", "**/*.toml", "src/*.rs"]),
            [base("/p", None)]
        );
        assert_eq!(
            plan_of(&["src/*.rs", "src/**/*.rs"]),
            [base("/p/src", None)]
        );
        assert_eq!(
            plan_of(&["a/*/*/x", "a/b/*/y"]),
            [base("/p/a", Some(2))],
            "a/b at depth 1 is within a's depth 2"
        );
        assert_eq!(
            plan_of(&["a/*.rs", "a/b/**"]),
            [base("/p/a", Some(0)), base("/p/a/b", None)]
        );
    }

    #[test]
    fn parent_and_absolute_globs_are_normalized() {
        assert_eq!(plan_of(&["../shared/**/*.rs"]), [base("/shared", None)]);
        assert_eq!(plan_of(&["./src/*.rs"]), [base("/p/src", Some(0))]);
        assert_eq!(plan_of(&["/etc/app/*.conf"]), [base("/etc/app", Some(0))]);
    }

    #[test]
    fn alternations_and_classes_are_patterns() {
        assert_eq!(plan_of(&["{src,tests}/*.rs"]), [base("/p", None)]);
        assert_eq!(plan_of(&["sr[c]/*.rs"]), [base("/p", Some(1))]);
    }

    #[test]
    fn levels_are_counted_from_the_base() {
        let b = base("/p/src", Some(1));
        assert_eq!(b.level_of(Path::new("/p/src")), Some(0));
        assert_eq!(b.level_of(Path::new("/p/src/a/b")), Some(2));
        assert_eq!(b.level_of(Path::new("/p/other")), None);
        assert!(b.covers_dir(Path::new("/p/src/a")));
        assert!(!b.covers_dir(Path::new("/p/src/a/b")));
    }
}
