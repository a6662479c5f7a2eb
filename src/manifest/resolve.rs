//! From [`RawManifest`] to [`Manifest`]: defaults, env files and env precedence, `PORT`, `PS`,
//! the formation, the `release` convention, and the per-process keys (`depends_on.rs`,
//! `ready.rs`, `watch.rs`, `env.rs` do the details).
//!
//! Decisions the design leaves open, made the way a user would expect:
//!
//! - Flags beat `[settings]`: `--shell`, `-t` and `-p` override `shell`, `stop_timeout` and
//!   `port` of `[settings]`; a process's own `stop_timeout` still wins over `-t`.
//! - `-e FILE` replaces the default `.env` (foreman and honcho do the same); the files of
//!   `settings.env_file` still load, before the `-e` files.
//! - The base port may also come from `PORT` in `[env]` (it beats the env files, as everywhere
//!   else); an inherited `PORT` that is not a number is ignored with a warning.
//! - `${VAR}` in env values sees the layers below it and the earlier keys of its own table; the
//!   per-instance `PORT` and `PS` are set last, so `$PORT` in a *value* is the base
//!   environment's; write `$PORT` in the command, where the shell expands it at start. `ready`
//!   values are the exception: they expand from the instance's own environment.
//! - Process `n` for the PORT rule counts every process in file order, including disabled
//!   ones, so that `-m worker=0` does not move the ports of the others; only a Procfile's
//!   `release` takes no slot.
//! - A PORT past 65535 is not an error: the first instance it affects gets a warning, and
//!   every instance whose PORT would be past it gets no `PORT` at all.
//! - A `cwd` folder that does not exist is a warning, not an error: it may appear later (a
//!   build creates it); starting the process reports the failure.
//! - A Procfile entry named `release` (Heroku's release phase, usually migrations) resolves
//!   with `autostart = false`, unless the formation names it (`-m release=1`; `all=` does not
//!   count), takes no PORT slot and gets no `PORT` of its own; a notice says so. `procmux run
//!   release` still runs it. In a `procmux.toml` a process called `release` is an ordinary
//!   process: a TOML user who wants it skipped writes `autostart = false`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::bounds::MAX_ENV_ALL;
use super::env::{Env, EnvFileRef, apply_table, load_env_file, manifest_files};
use super::error::{ErrorKind, Location, ManifestError, Warning};
use super::formation::check_formation;
use super::load::{display_path, normalize};
use super::procfile::RELEASE;
use super::raw::{CommandLine, RawManifest, RawProcess};
use super::{
    DEFAULT_BASE_PORT, DEFAULT_SHELL, DEFAULT_STOP_TIMEOUT, DEFAULT_WATCH_DEBOUNCE, InstanceSpec,
    LoadOptions, Manifest, ProcessCommand, ProcessSpec, Settings, depends, ready, watch,
};
use crate::supervisor::Signal;

/// The most instances one process may have: far above any development stack, low enough that
/// a typo such as `instances = 10000000` is an error rather than an exhausted machine.
pub const MAX_INSTANCES: u32 = 1000;

/// What resolution needs besides the raw manifest.
pub(crate) struct Context<'a> {
    pub options: &'a LoadOptions,
    pub cwd: &'a Path,
    pub root: &'a Path,
    pub manifest_shown: &'a Path,
    pub manifest_text: &'a str,
}

impl Context<'_> {
    /// The location of `span` in the manifest.
    pub fn at(&self, span: std::ops::Range<usize>) -> Location {
        Location::from_span(self.manifest_shown, self.manifest_text, span)
    }
}

/// What the load reports besides the manifest.
pub(crate) struct Report<'a> {
    /// Every file read or looked for.
    pub sources: &'a mut Vec<PathBuf>,
    /// Problems that did not stop the load.
    pub warnings: &'a mut Vec<Warning>,
    /// Facts for the first `system` lines.
    pub notices: &'a mut Vec<String>,
}

pub(crate) fn resolve(
    cx: &Context<'_>,
    raw: RawManifest,
    report: &mut Report<'_>,
) -> Result<Manifest, ManifestError> {
    let options = cx.options;
    if raw.processes.0.is_empty() {
        return Err(ManifestError::new(
            ErrorKind::NoProcesses,
            format!("{} defines no process", cx.manifest_shown.display()),
        )
        .help("add a [processes.NAME] table with a command"));
    }
    check_formation(options, &raw)?;

    let mut env = Env::new(&options.inherited_env);
    let mut files = match &raw.settings.env_file {
        Some(list) => manifest_files(cx, list),
        // `-e` replaces the default `.env`, as in foreman and honcho.
        None if !options.env_files.is_empty() => Vec::new(),
        None => vec![EnvFileRef {
            path: cx.root.join(".env"),
            required: false,
            named_at: None,
        }],
    };
    files.extend(options.env_files.iter().map(|path| EnvFileRef {
        path: cx.cwd.join(path),
        required: true,
        named_at: None,
    }));
    for file in &files {
        load_env_file(cx, file, &mut env, report.sources, report.warnings)?;
    }
    apply_table(cx, &raw.env, &mut env, report.warnings)?;
    let base_port = base_port(cx, &raw, &env, report.warnings)?;
    let global_env = env.set.clone();

    let settings = &raw.settings;
    let shell = options
        .shell
        .clone()
        .or_else(|| settings.shell.clone())
        .unwrap_or_else(|| DEFAULT_SHELL.to_owned());
    let defaults = Defaults {
        shell: &shell,
        stop_signal: settings.stop_signal.map_or(Signal::Terminate, |s| s.0),
        stop_timeout: options
            .default_stop_timeout
            .or(settings.stop_timeout.map(|g| g.0))
            .unwrap_or(DEFAULT_STOP_TIMEOUT),
        base_port,
    };

    let mut tally = Tally::default();
    let mut processes = Vec::with_capacity(raw.processes.0.len());
    for (index, (name, process)) in raw.processes.0.iter().enumerate() {
        let spec = resolve_process(
            cx, index, name, process, &defaults, &env, &mut tally, report,
        )?;
        processes.push(spec);
    }

    let counts: Vec<u32> = processes
        .iter()
        .map(|p| u32::try_from(p.instances.len()).unwrap_or(u32::MAX))
        .collect();
    let dependencies = depends::resolve(&raw.processes.0, &counts, &|span| cx.at(span))?;
    for (process, dependencies) in processes.iter_mut().zip(dependencies) {
        for instance in &mut process.instances {
            instance.depends_on.clone_from(&dependencies);
        }
    }
    Ok(Manifest {
        settings: Settings {
            root: cx.root.to_path_buf(),
            timestamps: raw.settings.timestamps,
            watch_debounce: raw
                .settings
                .watch_debounce
                .map_or(DEFAULT_WATCH_DEBOUNCE, |g| g.0),
            env: global_env,
        },
        processes,
    })
}

/// Settings every process inherits unless it sets its own.
struct Defaults<'a> {
    shell: &'a str,
    stop_signal: Signal,
    stop_timeout: Duration,
    base_port: u16,
}

/// What resolution counts across processes.
#[derive(Default)]
struct Tally {
    /// The PORT rule's `n` of the next process.
    port_slot: u32,
    /// Whether a PORT past 65535 was reported (only the first is).
    port_overflow_reported: bool,
    /// The environments of the instances so far, each counted once per instance (each holds
    /// its own copy), checked against [`MAX_ENV_ALL`] before the copies are made.
    env_bytes: usize,
}

#[allow(clippy::too_many_arguments)] // each is a distinct input of one process's resolution
fn resolve_process(
    cx: &Context<'_>,
    index: usize,
    name: &Spanned<String>,
    process: &RawProcess,
    defaults: &Defaults<'_>,
    global: &Env<'_>,
    tally: &mut Tally,
    report: &mut Report<'_>,
) -> Result<ProcessSpec, ManifestError> {
    let command = command(cx, name, process, defaults.shell)?;
    let cwd = match &process.cwd {
        Some(cwd) => {
            let path = normalize(&cx.root.join(cwd.get_ref()));
            if !path.is_dir() {
                let shown = display_path(cx.cwd, &path);
                let problem = if path.exists() {
                    "not a folder"
                } else {
                    "no such folder"
                };
                report.warnings.push(
                    Warning::new(format!("{problem}: {} (cwd)", shown.display()))
                        .at(cx.at(cwd.span()))
                        .note("cwd is relative to the root, the manifest's folder unless -d says otherwise"),
                );
            }
            path
        }
        None => cx.root.to_path_buf(),
    };

    let mut env = global.clone();
    // A process that sets PORT itself (env_file or env) keeps it for every instance.
    let mut own_port = process.env.0.iter().any(|(key, _)| key.get_ref() == "PORT");
    if let Some(list) = &process.env_file {
        for file in manifest_files(cx, list) {
            own_port |= load_env_file(cx, &file, &mut env, report.sources, report.warnings)?;
        }
    }
    apply_table(cx, &process.env, &mut env, report.warnings)?;

    let name_text = name.get_ref();
    let formation = cx.options.formation.as_ref();
    let count = formation
        .and_then(|f| f.count_for(name_text))
        .or(process.instances.map(|c| c.0))
        .unwrap_or(1);
    if count > MAX_INSTANCES {
        return Err(ManifestError::new(
            ErrorKind::InvalidValue,
            format!(
                "process {name_text:?} asks for {count} instances; the limit is {MAX_INSTANCES}"
            ),
        )
        .at(cx.at(name.span()))
        .note("the count comes from `instances` or the formation (-m)"));
    }
    let named_by_formation =
        formation.is_some_and(|f| f.counts.iter().any(|(n, _)| n == name_text));
    let skipped_release = process.release_phase && !named_by_formation;
    if skipped_release && count > 0 {
        report.notices.push(format!(
            "{RELEASE} is a Heroku release-phase command: not started (run it with `procmux run {RELEASE}`, or -m {RELEASE}=1)"
        ));
    }
    // The release phase takes no PORT slot, so the processes after it keep their ports.
    let first_port = if process.release_phase {
        None
    } else {
        let slot = tally.port_slot;
        tally.port_slot = tally.port_slot.saturating_add(1);
        Some(match process.port.map(|p| p.0) {
            Some(port) => u32::from(port),
            None => u32::from(defaults.base_port).saturating_add(slot.saturating_mul(100)),
        })
    };
    let watch = watch::resolve(cx, &process.watch)?;
    let watch_ignore = watch::resolve(cx, &process.watch_ignore)?;
    let count_bytes = usize::try_from(count).unwrap_or(usize::MAX);
    tally.env_bytes = tally
        .env_bytes
        .saturating_add(env.size.saturating_mul(count_bytes));
    if tally.env_bytes > MAX_ENV_ALL {
        return Err(ManifestError::new(
            ErrorKind::InvalidValue,
            format!(
                "with the {count} instance{} of {name_text:?}, the environments of all instances take more than 256 MiB",
                if count == 1 { "" } else { "s" },
            ),
        )
        .at(cx.at(name.span()))
        .help("run fewer instances, or give them a smaller environment"));
    }

    let mut instances = Vec::new();
    for i in 1..=count {
        let mut instance_env = env.set.clone();
        if let (false, Some(first)) = (own_port, first_port) {
            let port = first.saturating_add(i - 1);
            if port <= u32::from(u16::MAX) {
                instance_env.insert("PORT".into(), port.to_string());
            } else if !tally.port_overflow_reported {
                tally.port_overflow_reported = true;
                report.warnings.push(
                    Warning::new(format!(
                        "PORT of {name_text}.{i} would be {port}, above 65535: processes from {name_text} on get no PORT"
                    ))
                    .at(cx.at(name.span()))
                    .help("lower the base port (-p, settings.port) or this process's port"),
                );
            }
        }
        instance_env.insert("PS".into(), format!("{name_text}.{i}"));
        let display_name = if count == 1 {
            name_text.clone()
        } else {
            format!("{name_text}.{i}")
        };
        let ready = match &process.ready {
            Some(check) => Some(ready::resolve(
                cx,
                check,
                &ready::Instance {
                    name: &display_name,
                    env: &instance_env,
                    shell: defaults.shell,
                },
                report.warnings,
            )?),
            None => None,
        };
        instances.push(InstanceSpec {
            process: name_text.clone(),
            index: i,
            display_name,
            command: command.clone(),
            cwd: cwd.clone(),
            env: instance_env,
            stop_signal: process.stop_signal.map_or(defaults.stop_signal, |s| s.0),
            stop_timeout: process.stop_timeout.map_or(defaults.stop_timeout, |g| g.0),
            restart: process.restart.unwrap_or_default(),
            max_restarts: process.max_restarts.map(|c| c.0),
            can_die: process.can_die.unwrap_or(false),
            autostart: !skipped_release && process.autostart.unwrap_or(true),
            color: process.color,
            depends_on: Vec::new(),
            ready,
            watch: watch.clone(),
            watch_ignore: watch_ignore.clone(),
        });
    }
    Ok(ProcessSpec {
        name: name_text.clone(),
        index,
        instances,
    })
}

fn command(
    cx: &Context<'_>,
    name: &Spanned<String>,
    process: &RawProcess,
    shell: &str,
) -> Result<ProcessCommand, ManifestError> {
    let Some(command) = &process.command else {
        return Err(ManifestError::new(
            ErrorKind::InvalidValue,
            format!("process {:?} has no command", name.get_ref()),
        )
        .at(cx.at(name.span()))
        .help("add `command = \"...\"` to its table"));
    };
    let empty = || {
        ManifestError::new(
            ErrorKind::InvalidValue,
            format!("empty command for process {:?}", name.get_ref()),
        )
        .at(cx.at(command.span()))
    };
    match command.get_ref() {
        CommandLine::Shell(line) if line.trim().is_empty() => Err(empty()),
        CommandLine::Shell(line) => Ok(ProcessCommand::Shell {
            shell: shell.to_owned(),
            command: line.clone(),
        }),
        CommandLine::Exec(argv) => match argv.split_first() {
            Some((program, args)) if !program.trim().is_empty() => Ok(ProcessCommand::Exec {
                program: program.clone(),
                args: args.to_vec(),
            }),
            _ => Err(empty()),
        },
    }
}

fn base_port(
    cx: &Context<'_>,
    raw: &RawManifest,
    env: &Env<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<u16, ManifestError> {
    if let Some(port) = cx.options.port.or(raw.settings.port.map(|p| p.0)) {
        return Ok(port);
    }
    if let Some(port) = env.set.get("PORT") {
        return port.trim().parse().map_err(|_| {
            ManifestError::new(
                ErrorKind::InvalidValue,
                format!("PORT from the env files or [env] is not a port number: {port:?}"),
            )
        });
    }
    if let Some(port) = env.inherited.get("PORT") {
        match port.trim().parse() {
            Ok(port) => return Ok(port),
            Err(_) => warnings.push(Warning::new(format!(
                "ignoring the inherited PORT={port:?}: not a port number; using {DEFAULT_BASE_PORT}"
            ))),
        }
    }
    Ok(DEFAULT_BASE_PORT)
}
