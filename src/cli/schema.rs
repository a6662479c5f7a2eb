//! `procmux schema`: prints the JSON Schema of `procmux.toml`.

use std::process::ExitCode;

/// Prints the schema on stdout.
pub fn run() -> ExitCode {
    super::write_stdout(crate::manifest::schema_json().as_bytes())
}
