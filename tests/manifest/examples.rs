//! Every manifest in `examples/` loads, and the example stack is what the README promises.

use std::path::Path;

use procmux::manifest::{LoadOptions, ProcessCommand, load};

use crate::support::env;

fn load_example(file: &str) -> procmux::manifest::Loaded {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options = LoadOptions {
        file: Some(Path::new("examples").join(file)),
        cwd: repo.to_path_buf(),
        inherited_env: env(&[("HOME", "/home/test")]),
        ..LoadOptions::default()
    };
    load(&options).unwrap_or_else(|e| panic!("examples/{file}:\n{}", e.render()))
}

#[test]
fn every_example_manifest_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".toml") || name.starts_with("Procfile") {
            let loaded = load_example(&name);
            assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
            seen += 1;
        }
    }
    assert!(seen >= 2, "expected procmux.toml and Procfile in examples/");
}

#[test]
fn the_example_stack() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for file in ["procmux.toml", "Procfile"] {
        let loaded = load_example(file);
        let names: Vec<&str> = loaded
            .manifest
            .processes
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["web", "worker", "clock"], "{file}");
        for instance in loaded.manifest.instances() {
            assert_eq!(
                instance.cwd, examples,
                "{file}: relative paths start in examples/"
            );
            assert_eq!(
                instance.env["APP_ENV"], "development",
                "{file}: examples/.env is loaded"
            );
            let script = match &instance.command {
                ProcessCommand::Shell { command, .. } => command.split_whitespace().last(),
                ProcessCommand::Exec { args, .. } => args.last().map(String::as_str),
            };
            let script = script.expect("a script");
            assert!(examples.join(script).is_file(), "{file}: {script} exists");
        }
    }
}

#[cfg(unix)]
#[test]
fn example_scripts_are_executable() {
    use std::os::unix::fs::PermissionsExt;
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bin");
    for script in ["web.sh", "worker.sh", "clock.sh"] {
        let mode = std::fs::metadata(bin.join(script))
            .expect(script)
            .permissions()
            .mode();
        assert!(mode & 0o111 != 0, "{script} is executable");
    }
}
