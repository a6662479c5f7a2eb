//! A process's `watch` and `watch_ignore` globs, compiled once into one [`GlobSet`] each.
//!
//! Globs are relative to the process's cwd. They are compiled as absolute patterns (the cwd,
//! escaped, in front), so a changed path is matched as inotify reports it, with no
//! allocation per event. `*` and `?` do not cross a `/`; `**` does. A glob with no glob
//! character names a path and everything under it (see `plan.rs`); an ignore glob that
//! matches a directory excludes everything under it, as a `.gitignore` line does.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::error::WatchError;
use super::plan::split;

/// The compiled `watch` and `watch_ignore` globs of one process.
#[derive(Debug, Clone)]
pub(crate) struct Globs {
    watch: GlobSet,
    ignore: GlobSet,
}

impl Globs {
    /// Compiles `watch` and `ignore`, relative to `cwd` (absolute).
    pub fn new(cwd: &Path, watch: &[String], ignore: &[String]) -> Result<Self, WatchError> {
        Ok(Self {
            watch: compile(cwd, watch)?,
            ignore: compile(cwd, ignore)?,
        })
    }

    /// Whether a `watch` glob matches `path` (absolute).
    pub fn watches(&self, path: &Path) -> bool {
        self.watch.is_match(path)
    }

    /// Whether a `watch_ignore` glob matches `path` (absolute) or, for a path under the
    /// base, one of the directories it is in. Callers walk directories from the top and
    /// check each, so for them `path` alone is enough: see [`Globs::ignores_itself`].
    pub fn ignores(&self, path: &Path, base: &Path) -> bool {
        if self.ignore.is_empty() {
            return false;
        }
        path.ancestors()
            .take_while(|dir| dir.starts_with(base) && *dir != base)
            .any(|p| self.ignore.is_match(p))
    }

    /// Whether a `watch_ignore` glob matches `path` itself.
    pub fn ignores_itself(&self, path: &Path) -> bool {
        !self.ignore.is_empty() && self.ignore.is_match(path)
    }
}

/// One [`GlobSet`] for `globs`: each glob as an absolute pattern, and, when it names a path
/// (no glob character), also that path's contents.
fn compile(cwd: &Path, globs: &[String]) -> Result<GlobSet, WatchError> {
    let mut set = GlobSetBuilder::new();
    for glob in globs {
        let split = split(cwd, glob);
        let base = split.base.to_str().ok_or_else(|| WatchError::NotUtf8 {
            path: split.base.clone(),
        })?;
        let base = globset::escape(base.trim_end_matches('/'));
        let patterns = match &split.pattern {
            Some(pattern) => vec![format!("{base}/{pattern}")],
            None => vec![base.clone(), format!("{base}/**")],
        };
        for pattern in patterns {
            let compiled = GlobBuilder::new(&pattern)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|error| WatchError::Glob {
                    glob: glob.clone(),
                    message: error.kind().to_string(),
                })?;
            set.add(compiled);
        }
    }
    set.build().map_err(|error| WatchError::Glob {
        glob: globs.join(", "),
        message: error.kind().to_string(),
    })
}

/// `path` as the caller knows it: under `shown` instead of `real` when it is inside `real`
/// (the cwd as given rather than as resolved).
pub(crate) fn reshown(path: &Path, real: &Path, shown: &Path) -> PathBuf {
    match path.strip_prefix(real) {
        Ok(rest) if real != shown => shown.join(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn globs(watch: &[&str], ignore: &[&str]) -> Globs {
        let owned = |list: &[&str]| list.iter().map(|g| (*g).to_owned()).collect::<Vec<_>>();
        Globs::new(Path::new("/p [x]"), &owned(watch), &owned(ignore)).unwrap()
    }

    #[test]
    fn globs_match_relative_to_the_cwd() {
        let g = globs(&["crates/api/**/*.rs", "Cargo.toml", "src/*.rs"], &[]);
        assert!(g.watches(Path::new("/p [x]/crates/api/src/main.rs")));
        assert!(g.watches(Path::new("/p [x]/crates/api/lib.rs")));
        assert!(g.watches(Path::new("/p [x]/Cargo.toml")));
        assert!(g.watches(Path::new("/p [x]/src/main.rs")));
        assert!(
            !g.watches(Path::new("/p [x]/src/a/deep.rs")),
            "* stops at /"
        );
        assert!(!g.watches(Path::new("/p [x]/crates/web/src/main.rs")));
        assert!(!g.watches(Path::new("/p [x]/crates/Cargo.toml")));
        assert!(!g.watches(Path::new("/other/Cargo.toml")));
        assert!(!g.watches(Path::new("/p [x]/crates/api/src/main.rs.swp")));
    }

    #[test]
    fn a_literal_path_covers_what_is_under_it() {
        let g = globs(&["src"], &[]);
        assert!(g.watches(Path::new("/p [x]/src")));
        assert!(g.watches(Path::new("/p [x]/src/a/b.rs")));
        assert!(!g.watches(Path::new("/p [x]/srcs/b.rs")));
    }

    #[test]
    fn ignore_globs_cover_their_directories_contents() {
        let g = globs(&["**/*"], &["**/*.snap", "tmp"]);
        let base = Path::new("/p [x]");
        assert!(g.ignores(Path::new("/p [x]/tests/a.snap"), base));
        assert!(g.ignores(Path::new("/p [x]/tmp/a.rs"), base));
        assert!(g.ignores_itself(Path::new("/p [x]/tmp")));
        assert!(!g.ignores(Path::new("/p [x]/src/a.rs"), base));
        assert!(!g.ignores(Path::new("/p [x]/tmpfile"), base));
    }

    #[test]
    fn an_invalid_glob_is_a_typed_error() {
        let error = Globs::new(Path::new("/p"), &["src/[a.rs".to_owned()], &[]).unwrap_err();
        assert!(
            matches!(&error, WatchError::Glob { glob, .. } if glob == "src/[a.rs"),
            "{error:?}"
        );
    }

    #[test]
    fn paths_are_shown_under_the_cwd_as_given() {
        assert_eq!(
            reshown(
                Path::new("/real/p/src/a.rs"),
                Path::new("/real/p"),
                Path::new("/link/p")
            ),
            Path::new("/link/p/src/a.rs")
        );
        assert_eq!(
            reshown(
                Path::new("/x/a"),
                Path::new("/real/p"),
                Path::new("/link/p")
            ),
            Path::new("/x/a")
        );
    }
}
