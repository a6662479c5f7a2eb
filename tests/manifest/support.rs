//! A small builder for test projects: files in a temporary directory, load options with a
//! fixed inherited environment, and helpers that load or expect an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use procmux::manifest::{InstanceSpec, LoadOptions, Loaded, ManifestError, load};

/// A temporary project directory, which is also the working directory of the load.
pub struct Project {
    dir: tempfile::TempDir,
    pub options: LoadOptions,
}

impl Project {
    /// An empty project with `HOME=/home/test` as the only inherited variable.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let options = LoadOptions {
            inherited_env: env(&[("HOME", "/home/test")]),
            cwd: dir.path().to_path_buf(),
            ..LoadOptions::default()
        };
        Self { dir, options }
    }

    /// A project with `procmux.toml` containing `text`.
    pub fn toml(text: &str) -> Self {
        Self::new().file("procmux.toml", text)
    }

    /// A project with `Procfile` containing `text`.
    pub fn procfile(text: &str) -> Self {
        Self::new().file("Procfile", text)
    }

    /// Writes `text` to `name` (creating folders).
    pub fn file(self, name: &str, text: &str) -> Self {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folders");
        }
        std::fs::write(path, text).expect("write file");
        self
    }

    /// Creates the folder `name`.
    pub fn dir(self, name: &str) -> Self {
        std::fs::create_dir_all(self.dir.path().join(name)).expect("create folder");
        self
    }

    /// Changes the load options.
    pub fn with(mut self, change: impl FnOnce(&mut LoadOptions)) -> Self {
        change(&mut self.options);
        self
    }

    /// The project directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `name` inside the project.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Loads, panicking with the rendered error on failure.
    pub fn load(&self) -> Loaded {
        load(&self.options).unwrap_or_else(|e| panic!("load failed:\n{}", e.render()))
    }

    /// Loads, expecting an error.
    pub fn error(&self) -> ManifestError {
        match load(&self.options) {
            Ok(loaded) => panic!("expected an error, loaded {:#?}", loaded.manifest),
            Err(error) => error,
        }
    }

    /// The only instance of process `name`... or instance `index` of it.
    pub fn instance(&self, name: &str, index: u32) -> InstanceSpec {
        let loaded = self.load();
        loaded
            .manifest
            .instances()
            .find(|i| i.process == name && i.index == index)
            .cloned()
            .unwrap_or_else(|| panic!("no instance {name}.{index}"))
    }
}

/// A map of environment variables.
pub fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Owned string pairs, for comparing with what a test collected.
pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect()
}

/// `(line, column)` of an error, or `(0, 0)` when it has no location.
pub fn position(error: &ManifestError) -> (usize, usize) {
    error
        .location
        .as_deref()
        .map_or((0, 0), |l| (l.line, l.column))
}
