//! systemd units from a resolved manifest (export.md): `APP.target` and one `APP-*.service`
//! per instance, every setting that has a systemd equivalent mapped exactly.
//!
//! [`render`] is pure: the manifest, the [`SystemdOptions`] and a way to find programs in, the
//! files and the notes for the user out. The mapping, per instance:
//!
//! | procmux | systemd |
//! | --- | --- |
//! | string command | `ExecStart=/abs/shell -c "..."` |
//! | array command | `ExecStart=/abs/program args...` (bare names through `PATH`, `a/b` from the cwd) |
//! | cwd | `WorkingDirectory=` |
//! | env (with `PORT`, `PS`) | one `Environment="NAME=value"` each |
//! | stop_signal, stop_timeout | `KillSignal=`, `TimeoutStopSec=`, `KillMode=control-group` |
//! | restart | `Restart=` and `RestartSec=100ms` (procmux's first backoff) |
//! | max_restarts = N | `StartLimitBurst=N+1` in `StartLimitIntervalSec=N*10s` |
//! | depends_on | `After=` and `Requires=` every unit of the dependency |
//! | ready (tcp, http, exec) | `ExecStartPost=/abs/procmux probe ...`, `TimeoutStartSec=` |
//! | depended on with `completed` | `Type=oneshot`, `RemainAfterExit=yes` |
//!
//! Choices where systemd and procmux differ are commented in the units themselves and listed
//! in [`Rendered::notes`]; the module docs of `unit.rs` give the reasons.

mod escape;
mod names;
mod programs;
mod unit;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub use escape::{
    EscapeError, comment, env_assignment, exec_line, exec_word, flag_duration, plain_value,
    timespan,
};
pub use names::{APP_MARKER, AppName, HEADER_PREFIX, InvalidAppName, MAX_APP_LEN, service_name};
pub use programs::{FindProgram, SearchPath, absolute_program};

use super::{ExportError, ExportFile};
use crate::manifest::{Condition, Manifest};

/// Whose units these are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitScope {
    /// System units (`/etc/systemd/system`), run as `user`, wanted by `multi-user.target`.
    System {
        /// `User=`: a user name or a numeric uid.
        user: String,
    },
    /// User units (`systemctl --user`), wanted by `default.target`, with no `User=`.
    User,
}

/// What the rendering needs besides the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemdOptions {
    /// The prefix of every unit name.
    pub app: AppName,
    /// System or user units.
    pub scope: UnitScope,
    /// The manifest file, named in every file's header.
    pub source: PathBuf,
    /// The absolute path of the procmux binary that `ExecStartPost=` runs for `ready` checks.
    pub procmux: PathBuf,
}

/// The rendered units and what the user should know about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// `APP.target` first, then one service per instance in manifest order.
    pub files: Vec<ExportFile>,
    /// Settings that could not be mapped exactly, one sentence each (`worker: ...`).
    pub notes: Vec<String>,
}

/// Renders `manifest` as systemd units.
pub fn render(
    manifest: &Manifest,
    options: &SystemdOptions,
    find: &dyn FindProgram,
) -> Result<Rendered, ExportError> {
    // Processes some instance waits for with `completed`: those run to completion.
    let oneshot: BTreeSet<&str> = manifest
        .instances()
        .flat_map(|i| &i.depends_on)
        .filter(|d| d.condition == Condition::Completed)
        .map(|d| d.process.as_str())
        .collect();
    let mut owners: BTreeMap<String, &str> = BTreeMap::new();
    for instance in manifest.instances() {
        let name = service_name(&options.app, manifest, instance);
        if let Some(first) = owners.insert(name.clone(), &instance.display_name) {
            return Err(ExportError::NameClash {
                unit: name,
                first: first.to_owned(),
                second: instance.display_name.clone(),
            });
        }
    }
    let context = unit::Context {
        manifest,
        options,
        find,
        oneshot: &oneshot,
    };
    let mut files = vec![unit::target(&context)];
    let mut notes = Vec::new();
    for instance in manifest.instances() {
        let (file, mut instance_notes) = unit::service(&context, instance)?;
        files.push(file);
        notes.append(&mut instance_notes);
    }
    Ok(Rendered { files, notes })
}
