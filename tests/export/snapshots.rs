//! The units, as text: the bundled examples (loaded through `manifest::load`) and the
//! hand-built manifest with every setting.

use std::path::Path;

use procmux::export::systemd::{self, AppName, SystemdOptions, UnitScope};
use procmux::manifest::{LoadOptions, load};

use crate::support::{InBin, all_files, full_manifest, render_for_snapshot, system};

fn example(file: &str, scope: UnitScope) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options = LoadOptions {
        file: Some(Path::new("examples").join(file)),
        cwd: repo.to_path_buf(),
        inherited_env: [("HOME".to_owned(), "/home/test".to_owned())].into(),
        ..LoadOptions::default()
    };
    let loaded = load(&options).unwrap_or_else(|e| panic!("{file}: {}", e.render()));
    let options = SystemdOptions {
        app: AppName::from_folder(&loaded.manifest.settings.root),
        scope,
        source: loaded.sources[0].clone(),
        procmux: "/usr/bin/procmux".into(),
    };
    let rendered = systemd::render(&loaded.manifest, &options, &InBin).expect("render");
    // The checkout's path is not part of what is tested.
    all_files(&rendered).replace(&repo.display().to_string(), "[REPO]")
}

#[test]
fn example_toml() {
    insta::assert_snapshot!(example("procmux.toml", system()));
}

#[test]
fn example_procfile_user_units() {
    insta::assert_snapshot!(example("Procfile", UnitScope::User));
}

#[test]
fn every_setting() {
    let manifest = full_manifest(Path::new("/srv/shop"));
    insta::assert_snapshot!(all_files(&render_for_snapshot(&manifest, system())));
}
