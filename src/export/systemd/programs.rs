//! Absolute program paths for `ExecStart=`: systemd runs no program by a bare name outside
//! its own fixed search path, so the export resolves names through `PATH` as procmux would at
//! run time, once, when it exports.
//!
//! The lookup is behind [`FindProgram`] so that rendering stays a pure function: the CLI
//! passes [`SearchPath::from_env`], tests pass a fixed list of folders.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

/// Finds the executable a bare program name (no `/`) runs.
pub trait FindProgram {
    /// The absolute path of `name`, or `None` when no folder holds an executable of that name.
    fn find(&self, name: &str) -> Option<PathBuf>;
}

/// Folders searched in order, like `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPath {
    /// The folders; relative ones are skipped (what they mean depends on the cwd at run time).
    pub dirs: Vec<PathBuf>,
}

impl SearchPath {
    /// The folders of a `PATH` value.
    pub fn new(path: &OsStr) -> Self {
        Self {
            dirs: std::env::split_paths(path).collect(),
        }
    }

    /// The folders of this process's `PATH` (none when it is unset).
    pub fn from_env() -> Self {
        Self::new(&std::env::var_os("PATH").unwrap_or_default())
    }
}

impl FindProgram for SearchPath {
    fn find(&self, name: &str) -> Option<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        self.dirs
            .iter()
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join(name))
            .find(|path| {
                path.metadata()
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
    }
}

/// The absolute path `program` runs as: absolute stays (cleaned of `.`), with a `/` it is
/// relative to `cwd`, a bare name goes through `find`.
pub fn absolute_program(program: &str, cwd: &Path, find: &dyn FindProgram) -> Option<PathBuf> {
    let path = Path::new(program);
    if path.is_absolute() {
        Some(clean(path))
    } else if program.contains('/') {
        Some(clean(&cwd.join(path)))
    } else {
        find.find(program).map(|found| clean(&found))
    }
}

/// Drops `.` components (`/srv/app/./bin/x` -> `/srv/app/bin/x`); `..` stays, since only the
/// file system knows what it means past a symlink.
fn clean(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution() {
        let search = SearchPath {
            dirs: vec!["relative".into(), "/nonexistent".into(), "/bin".into()],
        };
        let cwd = Path::new("/srv/app");
        assert_eq!(
            absolute_program("sh", cwd, &search),
            Some(PathBuf::from("/bin/sh"))
        );
        assert_eq!(absolute_program("no-such-program-x", cwd, &search), None);
        assert_eq!(
            absolute_program("./bin/web", cwd, &search),
            Some(PathBuf::from("/srv/app/bin/web"))
        );
        assert_eq!(
            absolute_program("/usr/./bin/env", cwd, &search),
            Some(PathBuf::from("/usr/bin/env"))
        );
        assert_eq!(
            absolute_program("../x/run", cwd, &search),
            Some(PathBuf::from("/srv/app/../x/run"))
        );
    }
}
