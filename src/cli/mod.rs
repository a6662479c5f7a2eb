//! The command line: argument parsing, error rendering and exit codes.
//!
//! This is the only module that imports clap and the only one that turns errors into text.
//! Each subcommand has its own file; [`ManifestArgs`] holds the flags every command that loads
//! the manifest shares.

mod args;
mod check;
mod completions;
mod control;
mod exec;
mod export;
mod inherited_fds;
mod logs;
mod open_files;
mod probe;
mod restart;
mod run;
mod schema;
mod status;
mod stop;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Commands, ManifestArgs};
pub use check::{CheckArgs, report as check_report};
pub use completions::CompletionsArgs;
pub use exec::ExecArgs;
pub use export::{ExportArgs, ExportTarget, SystemdArgs};
pub use logs::LogsArgs;
pub use probe::ProbeArgs;
pub use restart::RestartArgs;
pub use run::{ColorWhen, RunArgs};
pub use status::StatusArgs;
pub use stop::StopArgs;

/// The client commands' logic (`status`, `restart`, `stop`, `logs`) as functions that write to
/// the given outputs and return a [`Failure`](client::Failure) instead of exiting: what the
/// commands run, and what tests call.
pub mod client {
    pub use super::control::{Failure, Target, TargetArgs, bind_failure, connect};
    pub use super::logs::{LogsOptions, Renderer, logs, stamp};
    pub use super::restart::restart;
    pub use super::status::{render_status, status};
    pub use super::stop::stop;
}

use crate::manifest::Warning;

/// Parses the process arguments, runs the chosen command and returns its exit code.
///
/// Usage errors exit with 2 (clap's default), like manifest errors.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => {
            use clap::CommandFactory;
            // `procmux` with no command prints help, like `cargo` does.
            let _ = Cli::command().print_help();
            ExitCode::from(2)
        }
        Some(Commands::Run(args)) => run::run(&args),
        Some(Commands::Check(args)) => check::run(&args),
        Some(Commands::Schema) => schema::run(),
        Some(Commands::Completions(args)) => completions::run(&args),
        Some(Commands::Exec(args)) => exec::run(&args),
        Some(Commands::Probe(args)) => probe::run(&args),
        Some(Commands::Export(args)) => export::run(&args),
        Some(Commands::Status(args)) => status::run(&args),
        Some(Commands::Restart(args)) => restart::run(&args),
        Some(Commands::Stop(args)) => stop::run(&args),
        Some(Commands::Logs(args)) => logs::run(&args),
    }
}

/// Loads the manifest the flags designate, printing its warnings; on failure prints the error
/// and gives exit code 2 (what every command that loads the manifest does).
pub(crate) fn load_manifest(
    args: &ManifestArgs,
) -> Result<(crate::manifest::LoadOptions, crate::manifest::Loaded), ExitCode> {
    let options = args.load_options().map_err(|error| {
        eprintln!("error: cannot read the current directory: {error}");
        ExitCode::from(2)
    })?;
    let loaded = crate::manifest::load(&options).map_err(|error| {
        print_diagnostic(&error.render());
        ExitCode::from(2)
    })?;
    print_warnings(&loaded.warnings);
    Ok((options, loaded))
}

/// Prints each warning on stderr as `warning: ...` with its `-->` position.
pub fn print_warnings(warnings: &[Warning]) {
    for warning in warnings {
        print_diagnostic(&warning.render());
    }
}

/// Prints a rendered error or warning on stderr, with its `error:` / `warning:` label in
/// colour when stderr is a terminal (anstream drops the colour otherwise, and for `NO_COLOR`).
pub fn print_diagnostic(rendered: &str) {
    use owo_colors::OwoColorize;
    if let Some(rest) = rendered.strip_prefix("error:") {
        anstream::eprint!("{}{rest}", "error:".red().bold());
    } else if let Some(rest) = rendered.strip_prefix("warning:") {
        anstream::eprint!("{}{rest}", "warning:".yellow().bold());
    } else {
        anstream::eprint!("{rendered}");
    }
}

/// Writes `bytes` to stdout in one go. A closed pipe (`procmux schema | head`) is not an
/// error: it exits quietly with 0, like ripgrep.
fn write_stdout(bytes: &[u8]) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: cannot write to stdout: {error}");
            ExitCode::FAILURE
        }
    }
}
