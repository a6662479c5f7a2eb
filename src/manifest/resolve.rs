//! From [`RawManifest`] to [`Manifest`]: defaults, env files and env precedence, `${VAR}`
//! expansion, `PORT`, `PS`, the formation and the checks that need the file system.
//!
//! Decisions the design leaves open, made the way a user would expect:
//!
//! - Flags beat `[settings]`: `--shell`, `-t` and `-p` override `shell`, `stop_timeout` and
//!   `port` of `[settings]`; a process's own `stop_timeout` still wins over `-t`.
//! - The base port may also come from `PORT` in `[env]` (it beats the env files, as everywhere
//!   else); an inherited `PORT` that is not a number is ignored with a warning.
//! - `${VAR}` in env values sees the layers below it and the earlier keys of its own table; the
//!   per-instance `PORT` and `PS` are set last, so `$PORT` in a *value* is the base
//!   environment's; write `$PORT` in the command, where the shell expands it at start.
//! - Process `n` for the PORT rule counts every process in file order, including disabled
//!   ones, so that `-m worker=0` does not move the ports of the others.
//! - `cwd` must be an existing directory: `check` says so now rather than `run` failing later.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::dotenv;
use super::error::{ErrorKind, Location, ManifestError, Warning, nearest};
use super::expand::expand;
use super::load::{display_path, normalize, read_text};
use super::raw::{CommandLine, EnvFiles, EnvTable, RawManifest, RawProcess};
use super::{
    DEFAULT_BASE_PORT, DEFAULT_SHELL, DEFAULT_STOP_TIMEOUT, InstanceSpec, LoadOptions, Manifest,
    ProcessCommand, ProcessSpec, Settings,
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
    fn at(&self, span: Range<usize>) -> Location {
        Location::from_span(self.manifest_shown, self.manifest_text, span)
    }
}

/// Variables procmux sets, over the inherited environment used for lookups only.
#[derive(Clone)]
struct Env<'a> {
    inherited: &'a BTreeMap<String, String>,
    set: BTreeMap<String, String>,
}

impl Env<'_> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.set
            .get(name)
            .or_else(|| self.inherited.get(name))
            .cloned()
    }
}

/// An env file to read, relative to `base`, and where it was named (a span in the manifest,
/// or `None` for `-e` flags and the default `.env`).
struct EnvFileRef {
    path: PathBuf,
    required: bool,
    named_at: Option<Range<usize>>,
}

pub(crate) fn resolve(
    cx: &Context<'_>,
    raw: RawManifest,
    sources: &mut Vec<PathBuf>,
    warnings: &mut Vec<Warning>,
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

    let mut env = Env {
        inherited: &options.inherited_env,
        set: BTreeMap::new(),
    };
    let mut files = match &raw.settings.env_file {
        Some(list) => manifest_files(cx, list),
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
        load_env_file(cx, file, &mut env, sources)?;
    }
    apply_table(cx, &raw.env, &mut env)?;
    let base_port = base_port(cx, &raw, &env, warnings)?;

    let settings = &raw.settings;
    let shell = options
        .shell
        .clone()
        .or_else(|| settings.shell.clone())
        .unwrap_or_else(|| DEFAULT_SHELL.to_owned());
    let stop_signal = settings.stop_signal.map_or(Signal::Terminate, |s| s.0);
    let stop_timeout = options
        .default_stop_timeout
        .or(settings.stop_timeout.map(|g| g.0))
        .unwrap_or(DEFAULT_STOP_TIMEOUT);

    let mut processes = Vec::with_capacity(raw.processes.0.len());
    for (index, (name, process)) in raw.processes.0.iter().enumerate() {
        let defaults = Defaults {
            shell: &shell,
            stop_signal,
            stop_timeout,
            base_port,
        };
        let spec = resolve_process(cx, index, name, process, &defaults, &env, sources)?;
        processes.push(spec);
    }
    Ok(Manifest {
        settings: Settings {
            root: cx.root.to_path_buf(),
            timestamps: raw.settings.timestamps,
            watch_debounce: super::DEFAULT_WATCH_DEBOUNCE,
        },
        processes,
    })
}

/// Settings every process inherits unless it sets its own.
struct Defaults<'a> {
    shell: &'a str,
    stop_signal: Signal,
    stop_timeout: std::time::Duration,
    base_port: u16,
}

fn resolve_process(
    cx: &Context<'_>,
    index: usize,
    name: &Spanned<String>,
    process: &RawProcess,
    defaults: &Defaults<'_>,
    global: &Env<'_>,
    sources: &mut Vec<PathBuf>,
) -> Result<ProcessSpec, ManifestError> {
    let command = command(cx, name, process, defaults.shell)?;
    let cwd = match &process.cwd {
        Some(cwd) => {
            let path = normalize(&cx.root.join(cwd.get_ref()));
            if !path.is_dir() {
                let shown = display_path(cx.cwd, &path);
                return Err(ManifestError::new(
                    ErrorKind::NotFound,
                    format!("working directory not found: {}", shown.display()),
                )
                .at(cx.at(cwd.span()))
                .note("cwd is relative to the root, the manifest's directory unless -d says otherwise"));
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
            own_port |= load_env_file(cx, &file, &mut env, sources)?;
        }
    }
    apply_table(cx, &process.env, &mut env)?;

    let name_text = name.get_ref();
    let count = cx
        .options
        .formation
        .as_ref()
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
    let first_port = match process.port.map(|p| p.0) {
        Some(port) => u32::from(port),
        None => {
            let n = u32::try_from(index).unwrap_or(u32::MAX);
            u32::from(defaults.base_port).saturating_add(n.saturating_mul(100))
        }
    };
    let mut instances = Vec::new();
    for i in 1..=count {
        let mut instance_env = env.set.clone();
        if !own_port {
            let port = first_port.saturating_add(i - 1);
            if port > u32::from(u16::MAX) {
                return Err(ManifestError::new(
                    ErrorKind::InvalidValue,
                    format!("PORT of {name_text}.{i} would be {port}, above 65535"),
                )
                .at(cx.at(name.span()))
                .help("lower the base port (-p, settings.port) or this process's port"));
            }
            instance_env.insert("PORT".into(), port.to_string());
        }
        instance_env.insert("PS".into(), format!("{name_text}.{i}"));
        instances.push(InstanceSpec {
            process: name_text.clone(),
            index: i,
            display_name: if count == 1 {
                name_text.clone()
            } else {
                format!("{name_text}.{i}")
            },
            command: command.clone(),
            cwd: cwd.clone(),
            env: instance_env,
            stop_signal: process.stop_signal.map_or(defaults.stop_signal, |s| s.0),
            stop_timeout: process.stop_timeout.map_or(defaults.stop_timeout, |g| g.0),
            restart: process.restart.unwrap_or_default(),
            max_restarts: process.max_restarts.map(|c| c.0),
            can_die: process.can_die.unwrap_or(false),
            autostart: process.autostart.unwrap_or(true),
            color: process.color,
            depends_on: Vec::new(),
            ready: None,
            watch: Vec::new(),
            watch_ignore: Vec::new(),
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

fn manifest_files(cx: &Context<'_>, list: &Spanned<EnvFiles>) -> Vec<EnvFileRef> {
    EnvFiles::items(list)
        .into_iter()
        .map(|item| EnvFileRef {
            path: cx.root.join(item.get_ref()),
            required: true,
            named_at: Some(item.span()),
        })
        .collect()
}

/// Reads one env file into `env`; returns whether it set `PORT`.
fn load_env_file(
    cx: &Context<'_>,
    file: &EnvFileRef,
    env: &mut Env<'_>,
    sources: &mut Vec<PathBuf>,
) -> Result<bool, ManifestError> {
    let path = normalize(&file.path);
    let shown = display_path(cx.cwd, &path);
    if !sources.contains(&path) {
        sources.push(path.clone());
    }
    let Some(text) = read_text(&path, &shown)? else {
        if !file.required {
            return Ok(false);
        }
        let error = ManifestError::new(
            ErrorKind::MissingEnvFile,
            format!("env file not found: {}", shown.display()),
        );
        return Err(match &file.named_at {
            Some(span) => error.at(cx.at(span.clone())),
            None => error.note("named with -e/--env-file"),
        });
    };
    let entries = dotenv::parse(&text, &|name| env.lookup(name)).map_err(|error| {
        ManifestError::new(ErrorKind::Syntax, error.message)
            .at(Location::from_span(&shown, &text, error.span))
    })?;
    let sets_port = entries.iter().any(|(key, _)| key == "PORT");
    env.set.extend(entries);
    Ok(sets_port)
}

/// Expands and sets the entries of an `[env]` or `env = {...}` table, in file order.
fn apply_table(cx: &Context<'_>, table: &EnvTable, env: &mut Env<'_>) -> Result<(), ManifestError> {
    for (key, value) in &table.0 {
        let name = key.get_ref();
        if name.is_empty() || name.contains('=') {
            return Err(ManifestError::new(
                ErrorKind::InvalidValue,
                format!("invalid environment variable name {name:?}"),
            )
            .at(cx.at(key.span()))
            .help("names must be non-empty and cannot contain \"=\""));
        }
        let expanded = expand(value.get_ref(), false, &|name| env.lookup(name)).map_err(|e| {
            ManifestError::new(ErrorKind::InvalidValue, e.message).at(cx.at(value.span()))
        })?;
        env.set.insert(key.get_ref().clone(), expanded);
    }
    Ok(())
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
            Err(_) => warnings.push(Warning {
                message: format!(
                    "ignoring the inherited PORT={port:?}: not a port number; using {DEFAULT_BASE_PORT}"
                ),
                location: None,
            }),
        }
    }
    Ok(DEFAULT_BASE_PORT)
}

fn check_formation(options: &LoadOptions, raw: &RawManifest) -> Result<(), ManifestError> {
    let Some(formation) = &options.formation else {
        return Ok(());
    };
    let names: Vec<&str> = raw
        .processes
        .0
        .iter()
        .map(|(n, _)| n.get_ref().as_str())
        .collect();
    for (name, _) in &formation.counts {
        if names.contains(&name.as_str()) {
            continue;
        }
        let mut error = ManifestError::new(
            ErrorKind::Formation,
            format!("unknown process {name:?} in the formation"),
        );
        if let Some(suggestion) = nearest(name, names.iter().copied()) {
            error = error.help(format!("did you mean {suggestion:?}?"));
        }
        return Err(error.note(format!(
            "the processes are {}",
            super::error::quoted_list(&names)
        )));
    }
    Ok(())
}
