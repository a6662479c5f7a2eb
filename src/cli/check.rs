//! `procmux check`: loads and validates the manifest, then prints each instance's effective
//! settings as an aligned table.

use std::path::Path;
use std::process::ExitCode;

use super::args::ManifestArgs;
use crate::coordinator;
use crate::manifest::{self, InstanceSpec, Loaded, RestartPolicy};
use crate::supervisor::command::{Command, Program, SpawnOptions};

/// Arguments of `procmux check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Which manifest and how to load it.
    #[command(flatten)]
    pub manifest: ManifestArgs,
}

/// Loads the manifest; prints the table and returns 0, or prints the error and returns 2.
pub fn run(args: &CheckArgs) -> ExitCode {
    let options = match args.manifest.load_options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("error: cannot read the current directory: {error}");
            return ExitCode::from(2);
        }
    };
    match manifest::load(&options) {
        Ok(loaded) => {
            super::print_warnings(&loaded.warnings);
            super::write_stdout(report(&loaded, &options.cwd).as_bytes())
        }
        Err(error) => {
            super::print_diagnostic(&error.render());
            ExitCode::from(2)
        }
    }
}

/// The text `check` prints for a loaded manifest; paths are shown relative to `cwd`.
pub fn report(loaded: &Loaded, cwd: &Path) -> String {
    let manifest = &loaded.manifest;
    let source = loaded
        .sources
        .first()
        .map_or_else(String::new, |path| relative(cwd, path));
    let instances: Vec<&InstanceSpec> = manifest.instances().collect();
    let mut out = format!(
        "{source}: {} process{}, {} instance{} to run\n\n",
        manifest.processes.len(),
        plural(manifest.processes.len(), "es"),
        instances.len(),
        plural(instances.len(), "s"),
    );
    let header = [
        "NAME",
        "PORT",
        "STOP",
        "GRACE",
        "RESTART",
        "CAN_DIE",
        "AUTOSTART",
        "CWD",
        "COMMAND",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for instance in &instances {
        rows.push(vec![
            instance.display_name.clone(),
            instance
                .env
                .get("PORT")
                .cloned()
                .unwrap_or_else(|| "-".into()),
            instance.stop_signal.to_string(),
            humantime::format_duration(instance.stop_timeout).to_string(),
            restart(instance.restart, instance.max_restarts),
            yes_no(instance.can_die),
            yes_no(instance.autostart),
            relative(cwd, &instance.cwd),
            command(instance),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            if column + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[column]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let disabled: Vec<&str> = manifest
        .processes
        .iter()
        .filter(|p| p.instances.is_empty())
        .map(|p| p.name.as_str())
        .collect();
    if !disabled.is_empty() {
        out.push_str(&format!(
            "\ndisabled (0 instances): {}\n",
            disabled.join(", ")
        ));
    }
    out
}

fn plural(count: usize, suffix: &str) -> &str {
    if count == 1 { "" } else { suffix }
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.into()
}

fn restart(policy: RestartPolicy, max: Option<u32>) -> String {
    match (policy, max) {
        (RestartPolicy::No, _) | (_, None) => policy.as_str().into(),
        (_, Some(max)) => format!("{} (max {max})", policy.as_str()),
    }
}

fn relative(cwd: &Path, path: &Path) -> String {
    match path.strip_prefix(cwd) {
        Ok(rest) if rest.as_os_str().is_empty() => ".".into(),
        Ok(rest) => rest.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

/// What really runs for an instance (a plain-word command without its shell), as one line
/// that a POSIX shell would read back the same.
fn command(instance: &InstanceSpec) -> String {
    let runs = coordinator::command_for(instance);
    let argv: Vec<String> = match runs.program {
        Program::Exec { prog, args } => std::iter::once(prog.to_string_lossy().into_owned())
            .chain(args)
            .collect(),
        Program::Shell {
            shell,
            command,
            args,
        } => std::iter::once(shell.prog.to_string_lossy().into_owned())
            .chain(shell.options)
            .chain(
                shell
                    .program_option
                    .map(|o| o.to_string_lossy().into_owned()),
            )
            .chain(std::iter::once(command))
            .chain(args)
            .collect(),
    };
    let (prog, args) = argv.split_first().map_or_else(
        || (String::new(), Vec::new()),
        |(prog, args)| (prog.clone(), args.to_vec()),
    );
    // The supervisor's `Display` of an exec command quotes each argument as needed.
    Command {
        program: Program::Exec {
            prog: prog.into(),
            args,
        },
        options: SpawnOptions::default(),
    }
    .to_string()
}
