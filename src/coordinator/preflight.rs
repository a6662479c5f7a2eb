//! Start problems in the shell's words: why a process cannot start (`bundle: command not
//! found`, `bin/rails: permission denied (not executable; chmod +x bin/rails?)`, `no such
//! folder: services/web (cwd)`), both from a failed spawn and, before anything runs, for
//! `procmux check`.
//!
//! The program is the one that really runs: the first word of a plain-word command run
//! without a shell, the program of an array command, else the shell itself (a shell that
//! starts reports a missing program on its own, in its own words).

use std::io;
use std::path::{Path, PathBuf};

use crate::manifest::{InstanceSpec, ProcessCommand};

use super::plain::direct_argv;

/// The program that is executed for an instance, as written.
pub fn program_of(spec: &InstanceSpec) -> String {
    match &spec.command {
        ProcessCommand::Shell { shell, command } => match direct_argv(shell, command) {
            Some(words) => words.into_iter().next().unwrap_or_default(),
            None => shell.clone(),
        },
        ProcessCommand::Exec { program, .. } => program.clone(),
    }
}

/// A failed spawn of `spec`, explained; paths are shown relative to `root`.
pub fn spawn_error(spec: &InstanceSpec, root: &Path, error: &io::Error) -> String {
    if !spec.cwd.is_dir() {
        return missing_cwd(spec, root);
    }
    let program = program_of(spec);
    match error.raw_os_error() {
        Some(nix::libc::ENOENT) => not_found(&program),
        Some(nix::libc::EACCES) => not_executable(&program),
        Some(nix::libc::ENOEXEC) => {
            format!("{program}: exec format error (a script without a #! line?)")
        }
        _ => format!("{program}: {}", lower_first(&error.to_string())),
    }
}

/// What would stop `spec` from starting now, found without starting it: a missing cwd, a
/// program that is not found in `PATH` or not executable. `path` is the `PATH` the instance
/// gets (its own env's, else the inherited one); paths are shown relative to `root`.
pub fn problems(spec: &InstanceSpec, root: &Path, inherited_path: Option<&str>) -> Option<String> {
    if !spec.cwd.is_dir() {
        return Some(missing_cwd(spec, root));
    }
    let program = program_of(spec);
    let path = spec.env.get("PATH").map(String::as_str).or(inherited_path);
    match locate(&program, &spec.cwd, path) {
        Located::Found(_) => None,
        Located::Missing => Some(not_found(&program)),
        Located::NotExecutable => Some(not_executable(&program)),
    }
}

enum Located {
    Found(PathBuf),
    Missing,
    NotExecutable,
}

/// Where `program` is, found the way `execvp` would in a child started in `cwd` with `path` as
/// its `PATH`: spawning that path spares the child one failed `execve` per folder of `PATH`
/// before the right one. `None` when it is not found or not executable (the spawn then fails
/// with the usual error).
pub fn resolve(program: &str, cwd: &Path, path: Option<&str>) -> Option<PathBuf> {
    match locate(program, cwd, path) {
        Located::Found(found) => Some(found),
        Located::Missing | Located::NotExecutable => None,
    }
}

/// Looks `program` up the way `execvp` does: a name with a `/` relative to `cwd`, else each
/// folder of `path`.
fn locate(program: &str, cwd: &Path, path: Option<&str>) -> Located {
    let candidates: Vec<PathBuf> = if program.contains('/') {
        vec![cwd.join(program)]
    } else {
        path.unwrap_or("/usr/local/bin:/usr/bin:/bin")
            .split(':')
            .map(|dir| {
                if dir.is_empty() {
                    cwd.to_path_buf()
                } else {
                    cwd.join(dir)
                }
            })
            .map(|dir| dir.join(program))
            .collect()
    };
    let mut seen_file = false;
    for candidate in candidates {
        if candidate.is_file() {
            if is_executable(&candidate) {
                return Located::Found(candidate);
            }
            seen_file = true;
        }
    }
    if seen_file {
        Located::NotExecutable
    } else {
        Located::Missing
    }
}

fn is_executable(path: &Path) -> bool {
    nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}

fn missing_cwd(spec: &InstanceSpec, root: &Path) -> String {
    let shown = spec.cwd.strip_prefix(root).unwrap_or(&spec.cwd);
    format!("no such folder: {} (cwd)", shown.display())
}

fn not_found(program: &str) -> String {
    format!("{program}: command not found")
}

fn not_executable(program: &str) -> String {
    if program.contains('/') {
        format!("{program}: permission denied (not executable; chmod +x {program}?)")
    } else {
        format!("{program}: permission denied (not executable)")
    }
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    use super::*;
    use crate::manifest::RestartPolicy;
    use crate::supervisor::Signal;

    fn spec(command: &str, cwd: &Path) -> InstanceSpec {
        InstanceSpec {
            process: "web".into(),
            index: 1,
            display_name: "web".into(),
            command: ProcessCommand::Shell {
                shell: "sh".into(),
                command: command.into(),
            },
            cwd: cwd.to_path_buf(),
            env: BTreeMap::new(),
            stop_signal: Signal::Terminate,
            stop_timeout: Duration::from_secs(5),
            restart: RestartPolicy::No,
            max_restarts: None,
            can_die: false,
            autostart: true,
            color: None,
            depends_on: Vec::new(),
            ready: None,
            watch: Vec::new(),
            watch_ignore: Vec::new(),
        }
    }

    #[test]
    fn explains_in_the_shells_words() {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("bin/rails");
        std::fs::create_dir_all(script.parent().expect("parent")).expect("mkdir");
        std::fs::write(&script, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let path = Some("/usr/bin:/bin");
        assert_eq!(
            problems(
                &spec("bundle-nonexistent exec puma", dir.path()),
                dir.path(),
                path
            ),
            Some("bundle-nonexistent: command not found".into())
        );
        assert_eq!(
            problems(&spec("bin/rails server", dir.path()), dir.path(), path),
            Some("bin/rails: permission denied (not executable; chmod +x bin/rails?)".into())
        );
        assert_eq!(
            problems(&spec("sleep 1", dir.path()), dir.path(), path),
            None
        );
        // Through the shell: the shell is the program.
        assert_eq!(
            problems(&spec("cd x && nothing-here", dir.path()), dir.path(), path),
            None
        );
        let gone = dir.path().join("services/web");
        assert_eq!(
            problems(&spec("sleep 1", &gone), dir.path(), path),
            Some("no such folder: services/web (cwd)".to_owned())
        );
        assert_eq!(
            spawn_error(
                &spec("bundle exec puma", dir.path()),
                dir.path(),
                &io::Error::from_raw_os_error(nix::libc::ENOENT)
            ),
            "bundle: command not found"
        );
        assert_eq!(
            spawn_error(
                &spec("bin/rails s", dir.path()),
                dir.path(),
                &io::Error::from_raw_os_error(nix::libc::EACCES)
            ),
            "bin/rails: permission denied (not executable; chmod +x bin/rails?)"
        );
    }
}
