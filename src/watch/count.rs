//! [`count_matches`]: how many files a process's globs match now, for `procmux check`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ProcessWatch;
use super::error::WatchError;
use super::rules::Rules;
use super::walk::walk;

/// How many files under `cwd` the `watch` globs match now, with the same exclusions as
/// watching (`.git`, ignore files, `ignore` globs). Walks only the directories watching
/// would watch. Blocking: call it off an event loop.
pub fn count_matches(cwd: &Path, watch: &[String], ignore: &[String]) -> Result<usize, WatchError> {
    let mut rules = Rules::new(&ProcessWatch {
        cwd: cwd.to_path_buf(),
        watch: watch.to_vec(),
        ignore: ignore.to_vec(),
        debounce: Duration::ZERO,
    })?;
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    for base in rules.bases.clone() {
        let found = walk(&base.dir, base.depth, &rules.globs, true);
        files.extend(found.files);
        // A glob may name a file that is itself a base (`Cargo.toml`).
        if base.dir.is_file() {
            files.insert(base.dir.clone());
        }
    }
    Ok(files.into_iter().filter(|f| rules.wants(f, false)).count())
}
