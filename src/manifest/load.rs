//! [`load`]: finds the manifest, reads it, picks the parser, and hands the result to
//! [`resolve`](super::resolve). Also the file reading shared with env files.
//!
//! Discovery looks for [`CANDIDATES`] in order: `procmux.toml`, `Procfile`, then
//! `Procfile.dev` (the Rails 7 layout). A notice names the file picked when it is not the
//! first, and another names the candidates that exist but are ignored (`procmux.toml` beside
//! a `Procfile`, or a `Procfile` beside a `Procfile.dev`), so that nobody edits the wrong one.
//! `-f` turns discovery off, and its notices with it.

use std::io;
use std::path::{Component, Path, PathBuf};

use super::env::dedup;
use super::error::{ErrorKind, Location, ManifestError, Warning};
use super::resolve::{Context, Report, resolve};
use super::{LoadOptions, Loaded, procfile, toml};

/// The manifests discovery looks for, in order.
pub(crate) const CANDIDATES: [&str; 3] = ["procmux.toml", "Procfile", "Procfile.dev"];

/// Finds, reads and validates the manifest that `options` designate.
///
/// Discovery: `options.file` when given (relative to `options.cwd`); else `procmux.toml`,
/// then `Procfile`, then `Procfile.dev`, in `options.root` when given, else in
/// `options.cwd`, with [`Loaded::notices`] saying which file was picked when it is not
/// `procmux.toml` and which others were ignored. Parent directories are not searched. A name
/// ending in `.toml` is read as TOML, anything else as a Procfile.
///
/// Env files, lowest precedence first: `settings.env_file`, or else `.env` when present and
/// no `-e` file is given (`-e` replaces the default `.env`, as in foreman and honcho),
/// `options.env_files`, `[env]`, the process's `env_file`, the process's `env`, then `PORT`
/// and `PS`. See [`InstanceSpec::env`](super::InstanceSpec::env).
///
/// Errors carry the position of the problem; paths in them are shown relative to
/// `options.cwd`. This function never panics, whatever the files contain.
pub fn load(options: &LoadOptions) -> Result<Loaded, ManifestError> {
    let cwd = absolute_cwd(options)?;
    let mut notices = Vec::new();
    let manifest_path = find_manifest(options, &cwd, &mut notices)?;
    let shown = display_path(&cwd, &manifest_path);
    let text = read_text(&manifest_path, &shown)?.ok_or_else(|| {
        ManifestError::new(
            ErrorKind::NotFound,
            format!("manifest not found: {}", shown.display()),
        )
    })?;
    let mut warnings: Vec<Warning> = Vec::new();
    let is_toml = manifest_path.extension().is_some_and(|ext| ext == "toml");
    let raw = if is_toml {
        toml::parse(&shown, &text)?
    } else {
        let (raw, procfile_warnings) = procfile::parse(&shown, &text)?;
        warnings.extend(procfile_warnings);
        raw
    };
    let root = match &options.root {
        Some(root) => normalize(&cwd.join(root)),
        None => manifest_path
            .parent()
            .map_or_else(|| cwd.clone(), Path::to_path_buf),
    };
    if !root.is_dir() {
        return Err(ManifestError::new(
            ErrorKind::NotFound,
            format!(
                "root directory not found: {}",
                display_path(&cwd, &root).display()
            ),
        ));
    }
    let mut sources = vec![manifest_path.clone()];
    let context = Context {
        options,
        cwd: &cwd,
        root: &root,
        manifest_shown: &shown,
        manifest_text: &text,
    };
    let mut report = Report {
        sources: &mut sources,
        warnings: &mut warnings,
        notices: &mut notices,
    };
    let manifest = resolve(&context, raw, &mut report)?;
    dedup(&mut warnings);
    Ok(Loaded {
        manifest,
        warnings,
        notices,
        sources,
    })
}

/// The manifest file [`load`] would read for `options` (an absolute path), found the same way
/// but without reading it: `-f` as given (whether or not it exists), else the first of
/// `procmux.toml`, `Procfile` and `Procfile.dev` that exists. The control clients use it to
/// find the running procmux even while the file has a syntax error.
pub fn locate(options: &LoadOptions) -> Result<PathBuf, ManifestError> {
    find_manifest(options, &absolute_cwd(options)?, &mut Vec::new())
}

fn absolute_cwd(options: &LoadOptions) -> Result<PathBuf, ManifestError> {
    if options.cwd.is_absolute() {
        Ok(normalize(&options.cwd))
    } else {
        // Instance paths must be absolute; this is the only place the process state is read.
        let current = std::env::current_dir().map_err(|error| {
            ManifestError::new(
                ErrorKind::Io,
                format!("cannot read the current directory: {error}"),
            )
        })?;
        Ok(normalize(&current.join(&options.cwd)))
    }
}

fn find_manifest(
    options: &LoadOptions,
    cwd: &Path,
    notices: &mut Vec<String>,
) -> Result<PathBuf, ManifestError> {
    if let Some(file) = &options.file {
        return Ok(normalize(&cwd.join(file)));
    }
    let dir = options
        .root
        .as_ref()
        .map_or_else(|| cwd.to_path_buf(), |root| normalize(&cwd.join(root)));
    let present: Vec<&str> = CANDIDATES
        .into_iter()
        .filter(|name| dir.join(name).is_file())
        .collect();
    let Some((&used, ignored)) = present.split_first() else {
        let shown = display_path(cwd, &dir);
        let shown = if shown.as_os_str().is_empty() {
            ".".into()
        } else {
            shown.display().to_string()
        };
        return Err(ManifestError::new(
            ErrorKind::NotFound,
            format!("no procmux.toml, Procfile or Procfile.dev in {shown}"),
        )
        .help("create one, or name it with -f/--file"));
    };
    let skipped = &CANDIDATES[..CANDIDATES.iter().position(|&c| c == used).unwrap_or(0)];
    if !skipped.is_empty() {
        notices.push(format!("using {used} (no {} here)", skipped.join(" or ")));
    }
    for &other in ignored {
        notices.push(format!(
            "using {used}; {other} is ignored (use it with -f {other})"
        ));
    }
    Ok(dir.join(used))
}

/// Reads a UTF-8 text file: `Ok(None)` when it does not exist. A leading BOM is dropped.
pub(crate) fn read_text(path: &Path, shown: &Path) -> Result<Option<String>, ManifestError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(ManifestError::new(
                ErrorKind::Io,
                format!("cannot read {}: {error}", shown.display()),
            ));
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => {
            let text = match text.strip_prefix('\u{feff}') {
                Some(rest) => rest.to_owned(),
                None => text,
            };
            // A NUL can be neither in a command line nor in an environment variable.
            if let Some(at) = text.find('\0') {
                return Err(ManifestError::new(
                    ErrorKind::Syntax,
                    format!("{} contains a NUL byte", shown.display()),
                )
                .at(Location::from_span(shown, &text, at..at + 1)));
            }
            Ok(Some(text))
        }
        Err(error) => {
            let valid = error.utf8_error().valid_up_to();
            let bytes = error.as_bytes();
            let prefix = String::from_utf8_lossy(&bytes[..valid]);
            let line_end = bytes[valid..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| valid + i);
            let text = String::from_utf8_lossy(&bytes[..line_end]);
            let location = Location::from_span(shown, &text, prefix.len()..prefix.len() + 1);
            Err(ManifestError::new(
                ErrorKind::Io,
                format!("{} is not valid UTF-8", shown.display()),
            )
            .at(location))
        }
    }
}

/// `path` relative to `cwd` when it is inside it, else `path` itself.
pub(crate) fn display_path(cwd: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(cwd)
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

/// Removes `.` and resolves `..` without touching the file system (symlinks are kept).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let at_root = matches!(
                    out.components().next_back(),
                    None | Some(Component::RootDir | Component::Prefix(_) | Component::ParentDir)
                );
                if at_root && !out.has_root() {
                    out.push("..");
                } else if !at_root {
                    out.pop();
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lexically() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), Path::new("/a/c"));
        assert_eq!(normalize(Path::new("/../a")), Path::new("/a"));
        assert_eq!(normalize(Path::new("../a/..")), Path::new(".."));
        assert_eq!(normalize(Path::new("a/../../b")), Path::new("../b"));
    }

    #[test]
    fn displays_relative_to_cwd() {
        assert_eq!(
            display_path(Path::new("/w"), Path::new("/w/x/procmux.toml")),
            Path::new("x/procmux.toml")
        );
        assert_eq!(
            display_path(Path::new("/w"), Path::new("/v/Procfile")),
            Path::new("/v/Procfile")
        );
    }
}
