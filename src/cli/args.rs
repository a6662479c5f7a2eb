//! The command-line grammar: every command and flag, as clap derive types.

use clap::{Parser, Subcommand};

/// A process manager for local development stacks.
#[derive(Debug, Parser)]
#[command(name = "procmux", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Option<Commands>,
}

/// The subcommands of `procmux`.
#[derive(Debug, Subcommand)]
pub enum Commands {}
