//! Writing an export into its folder: replace our files, remove our stale ones, leave every
//! other file alone.
//!
//! [`plan`] decides from what the folder holds (file names and contents) and what was
//! rendered; [`apply`] carries the plan out. Each file is written to a hidden temporary file
//! in the same folder and renamed over its name, so a reader (or a `cp DIR/*`) never sees a
//! half-written unit.

use std::io::Write as _;
use std::path::Path;

use super::ExportFile;
use super::error::WriteError;

/// A file that has the name of a rendered one but is not ours: the export does not replace it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} exists and was not written by procmux for this app")]
pub struct ForeignFile(pub String);

/// What an export does to its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritePlan {
    /// Files to write, replacing any of ours with the same name.
    pub write: Vec<ExportFile>,
    /// Names of our files that were not rendered this time (processes that are gone).
    pub remove: Vec<String>,
}

/// The plan for writing `rendered` into a folder that holds `existing` (name and contents of
/// the files that could be ours: `None` when they are not UTF-8), where `owns` tells our files
/// from others'. A rendered name taken by a file that is not ours is an error.
pub fn plan(
    existing: &[(String, Option<String>)],
    rendered: &[ExportFile],
    owns: &dyn Fn(&str, &str) -> bool,
) -> Result<WritePlan, ForeignFile> {
    let is_ours = |name: &str, contents: &Option<String>| {
        contents.as_deref().is_some_and(|text| owns(name, text))
    };
    for file in rendered {
        if let Some((name, contents)) = existing.iter().find(|(name, _)| *name == file.name)
            && !is_ours(name, contents)
        {
            return Err(ForeignFile(name.clone()));
        }
    }
    let mut remove: Vec<String> = existing
        .iter()
        .filter(|(name, contents)| is_ours(name, contents))
        .filter(|(name, _)| !rendered.iter().any(|file| file.name == *name))
        .map(|(name, _)| name.clone())
        .collect();
    remove.sort();
    Ok(WritePlan {
        write: rendered.to_vec(),
        remove,
    })
}

/// The regular files of `dir` whose names pass `candidate`, with their contents (`None`
/// when not UTF-8). A folder that does not exist holds nothing.
pub fn read_candidates(
    dir: &Path,
    candidate: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, Option<String>)>, WriteError> {
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteError::Io {
            action,
            path,
            source,
        }
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io("read", dir)(error)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io("read", dir))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let path = entry.path();
        if !candidate(&name) || !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(io("read", &path))?;
        found.push((name, String::from_utf8(bytes).ok()));
    }
    found.sort();
    Ok(found)
}

/// Carries out `plan` in `dir` (created when missing).
pub fn apply(dir: &Path, plan: &WritePlan) -> Result<(), WriteError> {
    std::fs::create_dir_all(dir).map_err(|source| WriteError::Io {
        action: "create",
        path: dir.to_path_buf(),
        source,
    })?;
    for file in &plan.write {
        write_atomically(dir, file)?;
    }
    for name in &plan.remove {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(WriteError::Io {
                    action: "remove",
                    path,
                    source,
                });
            }
        }
    }
    Ok(())
}

fn write_atomically(dir: &Path, file: &ExportFile) -> Result<(), WriteError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(&file.name);
    // Hidden, so that `cp DIR/*` never picks up a temporary file; the pid keeps two exports
    // running at once from writing the same one.
    let temporary = dir.join(format!(".{}.{}.procmux-tmp", file.name, std::process::id()));
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteError::Io {
            action,
            path,
            source,
        }
    };
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&temporary)
        .and_then(|mut out| {
            out.write_all(file.contents.as_bytes())?;
            out.sync_all()
        })
        .map_err(io("write", &temporary))
        .and_then(|()| std::fs::rename(&temporary, &path).map_err(io("write", &path)));
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> ExportFile {
        ExportFile {
            name: name.into(),
            contents: "# ours\n".into(),
        }
    }

    fn owns(_: &str, contents: &str) -> bool {
        contents.starts_with("# ours")
    }

    #[test]
    fn replaces_ours_removes_stale_ones_and_keeps_the_rest() {
        let existing = vec![
            ("a-old.service".to_owned(), Some("# ours\n".to_owned())),
            ("a-web.service".to_owned(), Some("# ours\nold".to_owned())),
            ("a-mine.service".to_owned(), Some("[Unit]\n".to_owned())),
            ("a-bin.service".to_owned(), None),
        ];
        let plan = plan(&existing, &[file("a-web.service"), file("a.target")], &owns)
            .expect("no conflict");
        assert_eq!(plan.remove, ["a-old.service"]);
        assert_eq!(plan.write.len(), 2);
    }

    #[test]
    fn refuses_to_replace_a_foreign_file() {
        let existing = vec![("a-web.service".to_owned(), Some("[Unit]\n".to_owned()))];
        assert_eq!(
            plan(&existing, &[file("a-web.service")], &owns),
            Err(ForeignFile("a-web.service".to_owned()))
        );
    }
}
