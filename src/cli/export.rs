//! `procmux export systemd DIR`: the manifest as systemd units in DIR, and how to install
//! them.
//!
//! The rendering (`export::systemd::render`) and the write plan are pure; this file gathers
//! their inputs from the machine (the manifest, `PATH`, the current user, procmux's own path),
//! writes the plan, and prints what it did.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::args::ManifestArgs;
use crate::export::systemd::{self, AppName, SearchPath, SystemdOptions, UnitScope};
use crate::export::{self, WriteError, WritePlan};

/// Arguments of `procmux export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The engine to export to.
    #[command(subcommand)]
    pub target: ExportTarget,
}

/// The engines `procmux export` writes for.
#[derive(Debug, clap::Subcommand)]
pub enum ExportTarget {
    /// systemd units: APP.target and one APP-*.service per instance.
    Systemd(SystemdArgs),
}

/// Arguments of `procmux export systemd`.
#[derive(Debug, clap::Args)]
pub struct SystemdArgs {
    /// The folder to write the units into (created if missing)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Which manifest and how to load it.
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// The prefix of the unit names [default: the project folder's name]
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    /// Units for `systemctl --user`: WantedBy=default.target, no User=
    #[arg(long, conflicts_with = "user")]
    pub user_units: bool,
    /// The user system units run as [default: the current user]
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
}

/// Runs `procmux export`.
pub fn run(args: &ExportArgs) -> ExitCode {
    match &args.target {
        ExportTarget::Systemd(args) => run_systemd(args),
    }
}

fn run_systemd(args: &SystemdArgs) -> ExitCode {
    let (options, loaded) = match super::load_manifest(&args.manifest) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let app = match &args.app {
        Some(name) => match AppName::new(name) {
            Ok(app) => app,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(2);
            }
        },
        None => AppName::from_folder(&loaded.manifest.settings.root),
    };
    let scope = if args.user_units {
        UnitScope::User
    } else {
        UnitScope::System {
            user: args.user.clone().unwrap_or_else(current_user),
        }
    };
    let procmux = match std::env::current_exe() {
        Ok(path) => path,
        Err(error) => {
            eprintln!("error: cannot find the procmux binary for ExecStartPost=: {error}");
            return ExitCode::FAILURE;
        }
    };
    let systemd_options = SystemdOptions {
        app: app.clone(),
        scope,
        source: loaded.sources.first().cloned().unwrap_or_default(),
        procmux,
    };
    let rendered =
        match systemd::render(&loaded.manifest, &systemd_options, &SearchPath::from_env()) {
            Ok(rendered) => rendered,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        };
    let dir = options.cwd.join(&args.dir);
    match write(&dir, &app, &rendered.files) {
        Ok(plan) => {
            let summary = summary(&dir, &app, args.user_units, &plan, &rendered.notes);
            super::write_stdout(summary.as_bytes())
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn write(dir: &Path, app: &AppName, files: &[export::ExportFile]) -> Result<WritePlan, WriteError> {
    let existing = export::read_candidates(dir, &|name| app.could_own(name))?;
    let plan = export::plan(&existing, files, &|name, contents| app.owns(name, contents)).map_err(
        |foreign| WriteError::Foreign {
            path: dir.join(foreign.0),
        },
    )?;
    export::apply(dir, &plan)?;
    Ok(plan)
}

/// The user name of the current uid, or the uid itself (which `User=` also takes).
fn current_user() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    }
}

/// What was written and removed, the notes, and the commands that install the units.
pub fn summary(
    dir: &Path,
    app: &AppName,
    user_units: bool,
    plan: &WritePlan,
    notes: &[String],
) -> String {
    let mut out = String::new();
    for file in &plan.write {
        out.push_str(&format!("wrote {}\n", dir.join(&file.name).display()));
    }
    for name in &plan.remove {
        out.push_str(&format!(
            "removed {} (no longer in the manifest)\n",
            dir.join(name).display()
        ));
    }
    for note in notes {
        out.push_str(&format!("note: {note}\n"));
    }
    let files: Vec<String> = plan
        .write
        .iter()
        .map(|file| shell_quote(&dir.join(&file.name).display().to_string()))
        .collect();
    let (sudo, systemctl, units_dir) = if user_units {
        ("", "systemctl --user", "~/.config/systemd/user")
    } else {
        ("sudo ", "sudo systemctl", "/etc/systemd/system")
    };
    out.push_str("\nTo install:\n");
    if user_units {
        out.push_str(&format!("  mkdir -p {units_dir}\n"));
    }
    out.push_str(&format!("  {sudo}cp {} {units_dir}/\n", files.join(" ")));
    if !plan.remove.is_empty() {
        let removed: Vec<String> = plan
            .remove
            .iter()
            .map(|name| format!("{units_dir}/{name}"))
            .collect();
        out.push_str(&format!("  {sudo}rm -f {}\n", removed.join(" ")));
    }
    out.push_str(&format!("  {systemctl} daemon-reload\n"));
    out.push_str(&format!("  {systemctl} enable --now {}\n", app.target()));
    out
}

/// `text` as one word for a POSIX shell.
fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:=@".contains(&b));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_for_the_printed_commands() {
        assert_eq!(shell_quote("/tmp/out/a.target"), "/tmp/out/a.target");
        assert_eq!(shell_quote("/tmp/my out/it's"), r"'/tmp/my out/it'\''s'");
    }
}
