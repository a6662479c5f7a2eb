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
//! - [`mux`]: child output lines into one terminal stream, prefixed and coloured.
//! - [`coordinator`]: owns one job per process instance and turns child exits, signals and
//!   manifest changes into job controls.
//! - [`watchdog`]: a second, tiny process that kills every process group and cgroup procmux
//!   started when procmux itself is SIGKILLed or crashes; and procmux's handle on it.
//! - [`cli`]: the command line; the only module that parses arguments, prints errors and picks
//!   exit codes.
//!
//! # Data flow
//!
//! manifest file ─▶ `Manifest` ─▶ per instance `Arc<Command>` ─▶ `start_job` ─▶ child pipes ─▶
//! mux ─▶ terminal. Child exit ─▶ restart policy or shutdown. Signals ─▶ shutdown.
//! Spawned and ended process groups ─▶ watchdog (which kills them if procmux dies).
//! File change ─▶ debounce ─▶ load ─▶ `diff(old, new)` ─▶ job controls.

pub mod cli;
pub mod coordinator;
pub mod manifest;
pub mod mux;
pub mod supervisor;
pub mod watchdog;
