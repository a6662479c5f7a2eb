//! procmux: a process manager for local development stacks.
//!
//! `procmux run` reads `procmux.toml` (or a foreman `Procfile` with `.env` files), starts one
//! supervised job per process, prints their output as one coloured stream with a `name |`
//! prefix, stops each with its own signal and grace period, restarts what the manifest says to
//! restart, and applies manifest edits without restarting what did not change.
//!
//! # Layout
//!
//! - [`supervisor`]: the `Job` API, one supervised process per job (modelled on
//!   `watchexec-supervisor`); knows nothing of manifests or terminals.
//! - [`manifest`]: `procmux.toml`, `Procfile` and `.env` files into a validated `Manifest`, or an
//!   error that points at the file, line and column.
//! - [`mux`]: child output into line records shared by its sinks: the terminal (prefixed and
//!   coloured), a ring of recent lines per process, followers and taps.
//! - [`watch`]: one file watcher: the manifest and its env files, and per-process globs, in;
//!   debounced, filtered change sets and reloaded manifests out.
//! - [`control`]: the control socket: the versioned JSON-lines protocol, the server the
//!   coordinator runs, and the client that `procmux status|restart|stop|logs` use.
//! - [`coordinator`]: owns one job per process instance; one event channel, the pure fleet
//!   that decides (dependencies, readiness, restarts, shutdown order, reload, requests).
//! - [`foreground`]: one command in the terminal's foreground (`procmux exec`).
//! - [`watchdog`]: a second, tiny process that kills every process group and cgroup procmux
//!   started when procmux itself is SIGKILLed or crashes; and procmux's handle on it.
//! - [`probe`]: the readiness checks (tcp, http, exec), one attempt or a loop until ready;
//!   used by the coordinator, by `procmux probe` and by the systemd export.
//! - [`export`]: renderers from a resolved `Manifest` to other engines: systemd units.
//! - [`cli`]: the command line; the only module that parses arguments, prints errors and picks
//!   exit codes.
//!
//! # Data flow
//!
//! manifest file ─▶ `Manifest` ─▶ per instance `Arc<Command>` ─▶ `start_job` ─▶ child pipes ─▶
//! chunks ─▶ terminal, ring, followers, taps. Job hooks, timers, checks, signals, file changes
//! and control requests ─▶ one event channel ─▶ `Fleet::handle` ─▶ actions on the jobs.
//! Spawned and ended process groups ─▶ watchdog (which kills them if procmux dies).

pub mod cli;
pub mod control;
pub mod coordinator;
pub mod export;
pub mod foreground;
pub mod manifest;
pub mod mux;
pub mod probe;
pub mod supervisor;
pub mod watch;
pub mod watchdog;
