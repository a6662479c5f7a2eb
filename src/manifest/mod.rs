//! The manifest: `procmux.toml`, `Procfile` and `.env` files into a validated [`Manifest`], or
//! a [`ManifestError`] that points at the file, line and column.
//!
//! [`load`] is the entry point: it finds the manifest, parses it (`toml.rs` or `procfile.rs`),
//! reads the env files (`dotenv.rs`) and applies defaults, env precedence, `PORT`, `PS` and the
//! formation (`resolve.rs`). The
//! result is one [`InstanceSpec`] per instance to run, fully resolved: the coordinator needs
//! nothing else to start it, and two loads of files that differ only cosmetically compare
//! equal, so hot reload can diff instance by instance.
//!
//! - `mod.rs`: the resolved types and [`LoadOptions`] / [`Loaded`];
//! - `load.rs`: discovery and file reading; `resolve.rs`: the rules that make instances;
//!   `env.rs`: the environment layers, expansion and undefined-variable warnings;
//! - `depends.rs`, `ready.rs`, `watch.rs`: `depends_on` (and [`Manifest::start_order`]),
//!   `ready` and `watch`, each from its raw form to its resolved one; `address.rs`: the
//!   `host:port` and URLs of `ready` checks;
//! - `raw.rs`: the serde / JSON Schema types of the TOML file; `values.rs`: its scalar values;
//!   `toml.rs`, `procfile.rs`, `dotenv.rs`, `expand.rs`: the parsers; `formation.rs`:
//!   `-m web=2,all=1`; `bounds.rs`: the limits on durations and environment sizes;
//! - `error.rs`: errors with spans and their rendering; `schema.rs`: the JSON Schema.

mod address;
mod bounds;
mod depends;
mod dotenv;
mod env;
mod error;
mod expand;
mod formation;
mod load;
mod procfile;
mod raw;
mod ready;
mod resolve;
mod schema;
mod toml;
mod values;
mod watch;

#[doc(hidden)]
pub mod fuzzing;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;

pub use bounds::{MAX_DURATION, MAX_ENV_ALL, MAX_ENV_TOTAL, MAX_ENV_VALUE};
pub(crate) use error::nearest;
pub use error::{ErrorKind, Location, ManifestError, Note, Warning};
pub use formation::{Formation, FormationError};
pub use load::{load, locate};
pub use resolve::MAX_INSTANCES;
pub use schema::schema_json;
pub use values::parse_duration;
pub use watch::glob_set;

use crate::supervisor::Signal;

/// The stop grace used when neither the process, the `-t` flag nor `[settings]` sets one.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// The shell used for string commands when neither `--shell` nor `settings.shell` names one.
pub const DEFAULT_SHELL: &str = "sh";

/// The quiet time after a change before watch restarts act, when `settings.watch_debounce`
/// sets none.
pub const DEFAULT_WATCH_DEBOUNCE: Duration = Duration::from_millis(100);

/// The base port when neither `-p`, `settings.port`, the env files nor the inherited
/// environment give one.
pub const DEFAULT_BASE_PORT: u16 = 5000;

/// What [`load`] needs besides the files: the command-line flags and the environment.
///
/// The inherited environment is passed in rather than read from `std::env`, so that loading is
/// deterministic in tests; the CLI fills it from the process environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `-f/--file`: the manifest (relative to `cwd`). `*.toml` is TOML, anything else a
    /// Procfile. Absent: `procmux.toml`, else `Procfile`, else `Procfile.dev`, in `root` when
    /// given, else in `cwd` (with [`Loaded::notices`] naming the file picked when it is not
    /// `procmux.toml`, and the ones ignored).
    pub file: Option<PathBuf>,
    /// `-d/--root` (relative to `cwd`): the directory that relative `cwd` and `env_file`
    /// paths in the manifest resolve against. Absent: the manifest's directory.
    pub root: Option<PathBuf>,
    /// `-e/--env-file` (relative to `cwd`): env files loaded after `settings.env_file` and
    /// before `[env]`. Each must exist. Giving any replaces the default `.env` (as foreman
    /// and honcho do): without them, `.env` in the root loads when present and
    /// `settings.env_file` is absent.
    pub env_files: Vec<PathBuf>,
    /// `-m/--formation`: overrides the `instances` of the processes it names.
    pub formation: Option<Formation>,
    /// `-p/--port`: the base port, above `settings.port` and the environment.
    pub port: Option<u16>,
    /// `--shell`: the shell for string commands, above `settings.shell`.
    pub shell: Option<String>,
    /// `-t/--timeout`: the grace for processes that set no `stop_timeout`, above
    /// `settings.stop_timeout`. Like every duration, at most [`MAX_DURATION`] (the CLI's
    /// parser, [`parse_duration`], refuses more).
    pub default_stop_timeout: Option<Duration>,
    /// The environment procmux itself was started with: it fills `${VAR}` in env values and
    /// may give the base `PORT`. It is not copied into [`InstanceSpec::env`].
    pub inherited_env: BTreeMap<String, String>,
    /// The working directory: where relative `-f`, `-d` and `-e` paths start and where the
    /// manifest is looked for; also what error locations are shown relative to. Should be
    /// absolute; a relative one is taken relative to the process's current directory.
    pub cwd: PathBuf,
}

/// A loaded manifest with what the caller should show or watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The resolved manifest.
    pub manifest: Manifest,
    /// Things worth telling the user that did not stop the load, in the order found: ignored
    /// Procfile lines, variables defined nowhere, missing `cwd` folders, PORTs past 65535...
    /// Each appears once, even when the same env file is read for several processes.
    pub warnings: Vec<Warning>,
    /// Facts about the load a user should see on the first `system` lines, one sentence
    /// each: which file discovery picked when it is not `procmux.toml`
    /// (`using Procfile.dev (no procmux.toml or Procfile here)`), the candidates it ignored
    /// (`using procmux.toml; Procfile is ignored (use it with -f Procfile)`), a Procfile
    /// `release` that is not started.
    pub notices: Vec<String>,
    /// The manifest file (first) and every env file the load tried to read, including
    /// optional ones that were absent, as absolute paths: a reload watcher watches these.
    pub sources: Vec<PathBuf>,
}

/// A validated manifest: the settings and the processes in file order.
///
/// Source positions are not part of it: moving a comment or reordering keys gives an equal
/// `Manifest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Settings for the whole stack.
    pub settings: Settings,
    /// The processes in file order (start order, colour order), including those with zero
    /// instances.
    pub processes: Vec<ProcessSpec>,
}

impl Manifest {
    /// Every instance to run, process by process in file order.
    pub fn instances(&self) -> impl Iterator<Item = &InstanceSpec> {
        self.processes.iter().flat_map(|p| p.instances.iter())
    }

    /// The process called `name`.
    pub fn process(&self, name: &str) -> Option<&ProcessSpec> {
        self.processes.iter().find(|p| p.name == name)
    }
}

/// Settings that are not per process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The project root (absolute): `-d`, else the manifest's directory.
    pub root: PathBuf,
    /// `settings.timestamps`; `None` lets the CLI decide.
    pub timestamps: Option<bool>,
    /// `settings.watch_debounce`: the quiet time after a change before watch restarts act.
    pub watch_debounce: Duration,
    /// What procmux sets for every process, after expansion: the settings' env files (or
    /// `.env`, or the `-e` files) and `[env]`. `procmux exec` runs with this.
    pub env: BTreeMap<String, String>,
}

/// One process of the manifest and its instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// The name (`web`), unique, matching `^[A-Za-z0-9_-]+$`.
    pub name: String,
    /// 0-based position in file order. It is the `n` of the PORT rule, except after a
    /// Procfile's `release` entry, which takes no PORT slot (the processes after it get the
    /// PORT they would have without it).
    pub index: usize,
    /// The instances after `instances` and the formation; empty when disabled.
    pub instances: Vec<InstanceSpec>,
}

/// One process instance, fully resolved: what the coordinator starts and what hot reload
/// compares, keyed by `(process, index)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    /// The process name (`web`).
    pub process: String,
    /// 1-based instance number.
    pub index: u32,
    /// `web` when the process has one instance, else `web.1`, `web.2`... It changes when
    /// `instances` goes from 1 to 2: compare with [`InstanceSpec::runs_same_as`] to decide
    /// whether a running instance must restart.
    pub display_name: String,
    /// What to run.
    pub command: ProcessCommand,
    /// Working directory (absolute).
    pub cwd: PathBuf,
    /// Every variable procmux sets on top of the inherited environment, after `${VAR}`
    /// expansion: env-file keys, `[env]`, the process's env files and `env`, `PORT` and `PS`.
    pub env: BTreeMap<String, String>,
    /// The signal that asks the process to stop.
    pub stop_signal: Signal,
    /// Grace between the stop signal and SIGKILL.
    pub stop_timeout: Duration,
    /// When to restart it after it ends.
    pub restart: RestartPolicy,
    /// Restarts allowed before giving up; `None` is no limit.
    pub max_restarts: Option<u32>,
    /// Whether its ending (after restarts) leaves the others running.
    pub can_die: bool,
    /// Whether `run` starts it; `false` means defined but started only on request.
    pub autostart: bool,
    /// The prefix colour; `None` lets the mux pick one from the name.
    pub color: Option<ProcessColor>,
    /// The instances this one waits for before it starts, by process, in manifest order of
    /// the `depends_on` entries. A dependency on a process means on every instance of it.
    pub depends_on: Vec<Dependency>,
    /// The check that tells when this instance is ready; `None`: ready once started.
    pub ready: Option<ReadyCheck>,
    /// Globs (relative to `cwd`) whose changes restart this instance; empty: not watched.
    pub watch: Vec<String>,
    /// Globs (relative to `cwd`) excluded from `watch`, on top of `.git/`, `.gitignore` and
    /// `.ignore`.
    pub watch_ignore: Vec<String>,
}

/// One entry of `depends_on`: wait for `process` to meet `condition`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dependency {
    /// The process depended on (all of its instances).
    pub process: String,
    /// What it must have done.
    pub condition: Condition,
}

/// What a dependency must have done before its dependent starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Condition {
    /// Its process has been spawned.
    Started,
    /// Its `ready` check passed (a process with no check is ready once started).
    Ready,
    /// It exited with code 0 (a one-shot task such as migrations).
    Completed,
}

impl Condition {
    /// Every condition, in the order the documentation lists them.
    pub const ALL: [Condition; 3] = [Self::Started, Self::Ready, Self::Completed];

    /// The name as written in the manifest (`completed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Ready => "ready",
            Self::Completed => "completed",
        }
    }
}

/// A readiness check with its timings, fully resolved (`$PORT` and other variables expanded
/// from the instance's own environment).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReadyCheck {
    /// What is checked.
    pub kind: ReadyKind,
    /// Wait before the first attempt.
    pub initial_delay: Duration,
    /// Between attempts.
    pub interval: Duration,
    /// One attempt at most this long (then it counts as failed).
    pub attempt_timeout: Duration,
    /// Not ready by then (counted from the spawn): the instance failed to start.
    pub timeout: Duration,
}

/// The defaults of a `ready` table's timings.
impl ReadyCheck {
    /// `initial_delay` when the manifest sets none.
    pub const DEFAULT_INITIAL_DELAY: Duration = Duration::ZERO;
    /// `interval` when the manifest sets none.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(250);
    /// `attempt_timeout` when the manifest sets none.
    pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
    /// `timeout` when the manifest sets none.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
}

/// The one check of a `ready` table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReadyKind {
    /// A TCP connect to `host:port` succeeds.
    Tcp {
        /// Host name or address (default `127.0.0.1`).
        host: String,
        /// The port.
        port: u16,
    },
    /// A GET of `http://host:port/path` answers 2xx or 3xx.
    Http {
        /// Host name or address.
        host: String,
        /// The port (default 80).
        port: u16,
        /// The path and query, starting with `/`.
        path: String,
    },
    /// The command exits 0, run with the instance's environment and cwd.
    Exec {
        /// The command (shell string or argv), like a process command.
        command: ProcessCommand,
    },
    /// A line of the instance's output (stdout or stderr) contains the text.
    Log {
        /// The text to look for.
        text: String,
    },
}

impl std::fmt::Display for ReadyKind {
    /// `tcp 127.0.0.1:5432`, `http http://127.0.0.1:3000/up`, `exec pg_isready`, `log "Booted"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tcp { host, port } => write!(f, "tcp {host}:{port}"),
            Self::Http { host, port, path } => write!(f, "http http://{host}:{port}{path}"),
            Self::Exec { command } => match command {
                ProcessCommand::Shell { command, .. } => write!(f, "exec {command}"),
                ProcessCommand::Exec { program, args } => {
                    write!(f, "exec {program}")?;
                    args.iter().try_for_each(|arg| write!(f, " {arg}"))
                }
            },
            Self::Log { text } => write!(f, "log {text:?}"),
        }
    }
}

impl InstanceSpec {
    /// Whether `other` runs exactly the same way: every field but the display name, which is
    /// cosmetic (`web` becomes `web.1` when a second instance is added, and `web.1` need not
    /// restart for that; `PS` is `web.1` in both cases).
    pub fn runs_same_as(&self, other: &InstanceSpec) -> bool {
        let Self {
            process,
            index,
            display_name: _,
            command,
            cwd,
            env,
            stop_signal,
            stop_timeout,
            restart,
            max_restarts,
            can_die,
            autostart,
            color,
            depends_on,
            ready,
            // Watching is not how the process runs: editing `watch` takes effect without a
            // restart.
            watch: _,
            watch_ignore: _,
        } = self;
        *process == other.process
            && *index == other.index
            && *command == other.command
            && *cwd == other.cwd
            && *env == other.env
            && *stop_signal == other.stop_signal
            && *stop_timeout == other.stop_timeout
            && *restart == other.restart
            && *max_restarts == other.max_restarts
            && *can_die == other.can_die
            && *autostart == other.autostart
            && *color == other.color
            && *depends_on == other.depends_on
            && *ready == other.ready
    }

    /// The `PORT` this instance gets, when it is a number.
    pub fn port(&self) -> Option<u16> {
        self.env.get("PORT").and_then(|p| p.parse().ok())
    }
}

/// How to start a process.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProcessCommand {
    /// A command string run as `shell -c command`.
    Shell {
        /// The shell program (`sh`).
        shell: String,
        /// The command line given to `-c`.
        command: String,
    },
    /// A program run directly, without a shell.
    Exec {
        /// The program (looked up in `PATH` when it has no `/`).
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
}

impl ProcessCommand {
    /// The program and its arguments as they will be executed.
    pub fn argv(&self) -> Vec<String> {
        match self {
            Self::Shell { shell, command } => vec![shell.clone(), "-c".into(), command.clone()],
            Self::Exec { program, args } => std::iter::once(program.clone())
                .chain(args.iter().cloned())
                .collect(),
        }
    }
}

/// When a process is restarted after it ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Never (the default): its ending stops everything unless it `can_die`.
    #[default]
    No,
    /// When it exits with a non-zero code or dies of a signal.
    OnFailure,
    /// Whenever it ends.
    Always,
}

impl RestartPolicy {
    /// Every policy, in the order the documentation lists them.
    pub const ALL: [RestartPolicy; 3] = [Self::No, Self::OnFailure, Self::Always];

    /// The name as written in the manifest (`on-failure`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::No => "no",
            Self::OnFailure => "on-failure",
            Self::Always => "always",
        }
    }
}

/// The ANSI colour of a process's output prefix, as written in the manifest (`bright_cyan`).
#[allow(missing_docs)] // the names say it all
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProcessColor {
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
    White,
    BrightRed,
    BrightGreen,
    BrightYellow,
    BrightBlue,
    BrightMagenta,
    BrightCyan,
    BrightWhite,
}

impl ProcessColor {
    /// Every colour, normal ones first: the palette to pick from when a process sets none.
    pub const ALL: [ProcessColor; 14] = [
        Self::Red,
        Self::Green,
        Self::Yellow,
        Self::Blue,
        Self::Magenta,
        Self::Cyan,
        Self::White,
        Self::BrightRed,
        Self::BrightGreen,
        Self::BrightYellow,
        Self::BrightBlue,
        Self::BrightMagenta,
        Self::BrightCyan,
        Self::BrightWhite,
    ];

    /// The name as written in the manifest (`bright_cyan`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Red => "red",
            Self::Green => "green",
            Self::Yellow => "yellow",
            Self::Blue => "blue",
            Self::Magenta => "magenta",
            Self::Cyan => "cyan",
            Self::White => "white",
            Self::BrightRed => "bright_red",
            Self::BrightGreen => "bright_green",
            Self::BrightYellow => "bright_yellow",
            Self::BrightBlue => "bright_blue",
            Self::BrightMagenta => "bright_magenta",
            Self::BrightCyan => "bright_cyan",
            Self::BrightWhite => "bright_white",
        }
    }
}
