//! `systemd-analyze verify` accepts every generated set with no output at all, and systemd's
//! own reading of the units (its debug dump of the loaded unit) gives back the manifest's
//! commands and values. Skipped, with the reason printed, where `systemd-analyze` is missing
//! (`.ci/run` installs it on Debian).
//!
//! What it needs here (as root in a container without systemd as PID 1): unit files in a
//! folder of their own, passed by path; every executable must exist (so the fixtures use
//! `/bin/sh`, real programs and the test build's procmux); `--man=no` spares looking up
//! `Documentation=` man pages; user units (`--user`) need `XDG_RUNTIME_DIR` to point at a
//! folder the manager may use. It exits 0 even when it ignores a bad line, so the test
//! requires empty output, not only the exit code.

use std::path::{Path, PathBuf};
use std::process::Command;

use procmux::export::systemd::{self, Rendered, SearchPath, UnitScope};
use procmux::manifest::{LoadOptions, ProcessCommand, load};

use crate::support::{NASTY_COMMAND, NASTY_VALUE, WEB_DIR, full_manifest, options, system};

fn analyze() -> Option<PathBuf> {
    let found = SearchPath::from_env()
        .dirs
        .into_iter()
        .map(|dir| dir.join("systemd-analyze"))
        .find(|path| path.is_file());
    if found.is_none() {
        eprintln!("skipped: systemd-analyze is not installed (Debian package `systemd`)");
    }
    found
}

/// Writes the files into a new folder and runs `systemd-analyze verify` on them.
fn verify(analyze: &Path, rendered: &Rendered, user: bool) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(analyze);
    if user {
        let runtime = dir.path().join("runtime");
        std::fs::create_dir(&runtime).expect("runtime dir");
        command.arg("--user").env("XDG_RUNTIME_DIR", &runtime);
    }
    command.args(["verify", "--man=no"]);
    let units = dir.path().join("units");
    std::fs::create_dir(&units).expect("units dir");
    for file in &rendered.files {
        let path = units.join(&file.name);
        std::fs::write(&path, &file.contents).expect("write unit");
        command.arg(path);
    }
    let output = command.output().expect("run systemd-analyze");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "systemd-analyze verify failed:\n{text}"
    );
    (dir, text)
}

/// A root for the full manifest where the relative program `bin/migrate` exists.
fn fixture_root() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("bin")).expect("bin");
    std::fs::create_dir_all(root.path().join(WEB_DIR)).expect("web");
    let migrate = root.path().join("bin/migrate");
    std::fs::write(&migrate, "#!/bin/sh\nexit 0\n").expect("write");
    std::fs::set_permissions(&migrate, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    root
}

fn procmux_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_procmux"))
}

/// The full manifest, with `postgres` (which the test machine need not have) replaced by sh.
fn full_rendering(root: &Path, scope: UnitScope) -> Rendered {
    let mut manifest = full_manifest(root);
    for process in &mut manifest.processes {
        for instance in &mut process.instances {
            if let ProcessCommand::Shell { shell, .. } = &mut instance.command {
                *shell = "sh".into();
            }
        }
    }
    let options = options("shop", scope, procmux_bin());
    systemd::render(&manifest, &options, &SearchPath::from_env()).expect("render")
}

#[test]
fn every_generated_set_passes_verify_silently() {
    let Some(analyze) = analyze() else { return };
    let root = fixture_root();
    for (scope, user) in [(system(), false), (UnitScope::User, true)] {
        let rendered = full_rendering(root.path(), scope);
        let (_dir, output) = verify(&analyze, &rendered, user);
        assert_eq!(output, "", "user units: {user}");
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in ["procmux.toml", "Procfile"] {
        let loaded = load(&LoadOptions {
            file: Some(Path::new("examples").join(file)),
            cwd: repo.to_path_buf(),
            ..LoadOptions::default()
        })
        .expect("example loads");
        let options = options("examples", system(), procmux_bin());
        let rendered =
            systemd::render(&loaded.manifest, &options, &SearchPath::from_env()).expect("render");
        let (_dir, output) = verify(&analyze, &rendered, false);
        assert_eq!(output, "", "{file}");
    }
}

/// `Command Line:` of the dump quotes words in `"..."` with `\"`, `\\`, `\$` and C escapes.
fn dump_words(line: &str) -> Vec<String> {
    crate::systemd_syntax::words(&line.replace("\\$", "\\x24")).expect("dump words")
}

#[test]
fn systemd_reads_the_units_as_the_manifest_says() {
    let Some(analyze) = analyze() else { return };
    let root = fixture_root();
    let rendered = full_rendering(root.path(), system());
    let web = rendered
        .files
        .iter()
        .find(|f| f.name == "shop-web-1.service")
        .expect("web.1");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(&web.name);
    std::fs::write(&path, &web.contents).expect("write");
    let output = Command::new(&analyze)
        .args(["verify", "--man=no"])
        .arg(&path)
        .env("SYSTEMD_LOG_LEVEL", "debug")
        .output()
        .expect("run systemd-analyze");
    let dump = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let Some(exec_start) = dump.split("-> ExecStart:").nth(1).and_then(|rest| {
        rest.lines()
            .find_map(|l| l.trim().strip_prefix("Command Line: "))
    }) else {
        eprintln!("skipped: this systemd-analyze prints no unit dump at debug level");
        return;
    };
    // The dump shows the command before exec-time substitution, where `$$` is still doubled.
    let argv: Vec<String> = dump_words(exec_start)
        .into_iter()
        .map(|w| w.replace("$$", "$"))
        .collect();
    assert_eq!(argv[1..], ["-c", NASTY_COMMAND]);
    assert!(
        dump.contains(&format!("Environment: WEIRD={NASTY_VALUE}\n")),
        "WEIRD not as written in:\n{dump}"
    );
    let cwd = root.path().join(WEB_DIR);
    assert!(
        dump.contains(&format!("WorkingDirectory: {}\n", cwd.display())),
        "{} not as written in:\n{dump}",
        cwd.display()
    );
}
