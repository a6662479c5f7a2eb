//! The `procmux` binary: builds the runtime and hands over to [`procmux::cli::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    procmux::cli::run()
}
