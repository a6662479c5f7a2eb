//! `procmux check`: loads and validates the manifest, then prints each instance's effective
//! settings as an aligned table, what each waits for and when it is ready, the start order,
//! and each process's watch globs with how many files they match now. `check --env` prints
//! each instance's environment instead (only what procmux sets).
//!
//! Notices (which manifest was picked, a skipped `release`) and warnings go to stderr, notices
//! first as `note:` lines, so that stdout stays the report alone.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

mod env;

pub use env::env_report;

use super::args::ManifestArgs;
use crate::coordinator;
use crate::manifest::{self, InstanceSpec, Loaded, Manifest, ReadyCheck, RestartPolicy};
use crate::supervisor::command::{Command, Program, SpawnOptions};

/// Arguments of `procmux check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Which manifest and how to load it.
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// Print each instance's environment (only the variables procmux sets) instead of the
    /// table
    #[arg(long)]
    pub env: bool,
}

/// Loads the manifest; prints the report and returns 0, or prints the error and returns 2.
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
            print_notices(&loaded.notices);
            super::print_warnings(&loaded.warnings);
            let path = options.inherited_env.get("PATH").map(String::as_str);
            let open_files =
                super::open_files::foreseen_shortfall(loaded.manifest.instances().count());
            for warning in start_problems(&loaded.manifest, path)
                .into_iter()
                .chain(open_files)
            {
                super::print_diagnostic(&format!("warning: {warning}\n"));
            }
            let text = if args.env {
                env_report(&loaded.manifest)
            } else {
                report(&loaded, &options.cwd)
            };
            super::write_stdout(text.as_bytes())
        }
        Err(error) => {
            super::print_diagnostic(&error.render());
            ExitCode::from(2)
        }
    }
}

/// What would stop a process from starting now, one line per process, in the words `run`
/// would use (`web may not start: bundle: command not found`). Warnings, not errors: the
/// program may appear before `run` (after a build, a `bundle install`). A missing cwd is
/// left out: the loader already warned about it, at its line.
pub fn start_problems(manifest: &Manifest, inherited_path: Option<&str>) -> Vec<String> {
    manifest
        .processes
        .iter()
        .filter_map(|process| process.instances.first())
        .filter(|spec| spec.cwd.is_dir())
        .filter_map(|spec| {
            coordinator::preflight::problems(spec, &manifest.settings.root, inherited_path)
                .map(|problem| format!("{} may not start: {problem}", spec.process))
        })
        .collect()
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
    let waits: Vec<String> = instances
        .iter()
        .filter_map(|i| waits_and_ready(i))
        .collect();
    if !waits.is_empty() {
        out.push('\n');
        waits.iter().for_each(|line| {
            out.push_str(line);
            out.push('\n');
        });
    }
    if !instances.is_empty() {
        out.push('\n');
        out.push_str(&start_order(manifest));
    }
    let watched: Vec<String> = manifest
        .processes
        .iter()
        .filter_map(|p| p.instances.first())
        .filter(|i| !i.watch.is_empty())
        .map(|i| watch_line(i, cwd))
        .collect();
    if !watched.is_empty() {
        out.push('\n');
        watched.iter().for_each(|line| {
            out.push_str(line);
            out.push('\n');
        });
    }
    out
}

/// `web.1: waits for db (ready), migrate (completed); ready when http http://...`, or `None`
/// for an instance that waits for nothing and has no check.
fn waits_and_ready(instance: &InstanceSpec) -> Option<String> {
    let mut parts = Vec::new();
    if !instance.depends_on.is_empty() {
        let deps: Vec<String> = instance
            .depends_on
            .iter()
            .map(|d| format!("{} ({})", d.process, d.condition.as_str()))
            .collect();
        parts.push(format!("waits for {}", deps.join(", ")));
    }
    if let Some(check) = &instance.ready {
        parts.push(format!("ready when {}{}", check.kind, timings(check)));
    }
    (!parts.is_empty()).then(|| format!("{}: {}", instance.display_name, parts.join("; ")))
}

/// ` (interval 1s, timeout 2m)`: the timings that are not the defaults.
fn timings(check: &ReadyCheck) -> String {
    let fields = [
        (
            "initial_delay",
            check.initial_delay,
            ReadyCheck::DEFAULT_INITIAL_DELAY,
        ),
        ("interval", check.interval, ReadyCheck::DEFAULT_INTERVAL),
        (
            "attempt_timeout",
            check.attempt_timeout,
            ReadyCheck::DEFAULT_ATTEMPT_TIMEOUT,
        ),
        ("timeout", check.timeout, ReadyCheck::DEFAULT_TIMEOUT),
    ];
    let changed: Vec<String> = fields
        .iter()
        .filter(|(_, value, default)| value != default)
        .map(|(name, value, _)| format!("{name} {}", humantime::format_duration(*value)))
        .collect();
    if changed.is_empty() {
        String::new()
    } else {
        format!(" ({})", changed.join(", "))
    }
}

/// `start order: 1. db  2. migrate  3. web worker`: the levels of the processes a plain
/// `procmux run` starts (those with `autostart`, and what they depend on), then the others.
fn start_order(manifest: &Manifest) -> String {
    let mut started: BTreeSet<&str> = BTreeSet::new();
    let mut pending: Vec<&InstanceSpec> = manifest.instances().filter(|i| i.autostart).collect();
    while let Some(instance) = pending.pop() {
        if !started.insert(instance.process.as_str()) {
            continue;
        }
        for dependency in &instance.depends_on {
            if let Some(first) = manifest
                .process(&dependency.process)
                .and_then(|p| p.instances.first())
            {
                pending.push(first);
            }
        }
    }
    let levels: Vec<String> = manifest
        .start_order()
        .into_iter()
        .map(|level| {
            level
                .into_iter()
                .filter(|name| started.contains(name))
                .collect::<Vec<_>>()
        })
        .filter(|level| !level.is_empty())
        .enumerate()
        .map(|(n, level)| format!("{}. {}", n + 1, level.join(" ")))
        .collect();
    let mut out = format!("start order: {}\n", levels.join("  "));
    let others: Vec<&str> = manifest
        .processes
        .iter()
        .filter(|p| !p.instances.is_empty() && !started.contains(p.name.as_str()))
        .map(|p| p.name.as_str())
        .collect();
    if !others.is_empty() {
        out.push_str(&format!(
            "not started unless named: {}\n",
            others.join(", ")
        ));
    }
    out
}

/// `watch web: "src/**/*.rs", "Cargo.toml" (12 files now); ignoring "**/*.snap"`.
fn watch_line(instance: &InstanceSpec, cwd: &Path) -> String {
    let quoted = |globs: &[String]| {
        globs
            .iter()
            .map(|g| format!("{g:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let count = match count_watched(instance) {
        Ok(1) => "1 file now".to_owned(),
        Ok(count) => format!("{count} files now"),
        Err(problem) => problem,
    };
    let mut line = format!(
        "watch {}: {} ({count}, in {})",
        instance.process,
        quoted(&instance.watch),
        relative(cwd, &instance.cwd)
    );
    if !instance.watch_ignore.is_empty() {
        line.push_str(&format!("; ignoring {}", quoted(&instance.watch_ignore)));
    }
    line
}

/// How many files under the instance's cwd match a `watch` glob and no `watch_ignore` glob,
/// skipping `.git/` and what `.gitignore` and `.ignore` files exclude (as the watcher does).
fn count_watched(instance: &InstanceSpec) -> Result<usize, String> {
    let globs = |list: &[String]| {
        manifest::glob_set(list).map_err(|error| format!("invalid glob: {error}"))
    };
    let (watch, ignore) = (globs(&instance.watch)?, globs(&instance.watch_ignore)?);
    if !instance.cwd.is_dir() {
        return Err("no such folder".to_owned());
    }
    let walk = ignore::WalkBuilder::new(&instance.cwd)
        .hidden(false)
        .git_global(false)
        .require_git(false)
        .filter_entry(|entry| entry.file_name() != ".git")
        .build();
    let mut count = 0;
    for entry in walk.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(path) = entry.path().strip_prefix(&instance.cwd) else {
            continue;
        };
        if watch.is_match(path) && !ignore.is_match(path) {
            count += 1;
        }
    }
    Ok(count)
}

/// Prints each notice on stderr as `note: ...`, its label in colour on a terminal.
fn print_notices(notices: &[String]) {
    use owo_colors::OwoColorize;
    for notice in notices {
        anstream::eprintln!("{} {notice}", "note:".cyan().bold());
    }
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
    let argv = coordinator::command_for(instance).program.words();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_timings_that_differ_from_the_defaults() {
        let mut check = ReadyCheck {
            kind: manifest::ReadyKind::Log { text: "up".into() },
            initial_delay: ReadyCheck::DEFAULT_INITIAL_DELAY,
            interval: ReadyCheck::DEFAULT_INTERVAL,
            attempt_timeout: ReadyCheck::DEFAULT_ATTEMPT_TIMEOUT,
            timeout: ReadyCheck::DEFAULT_TIMEOUT,
        };
        assert_eq!(timings(&check), "");
        check.interval = std::time::Duration::from_secs(1);
        check.timeout = std::time::Duration::from_secs(120);
        assert_eq!(timings(&check), " (interval 1s, timeout 2m)");
    }
}
