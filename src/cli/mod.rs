//! The command line: argument parsing, error rendering and exit codes.
//!
//! This is the only module that imports clap and the only one that turns errors into text.

mod args;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Commands};

/// Parses the process arguments, runs the chosen command and returns its exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => {
            use clap::CommandFactory;
            // `procmux` with no command prints help, like `cargo` does.
            let _ = Cli::command().print_help();
            ExitCode::from(2)
        }
    }
}
