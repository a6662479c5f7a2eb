//! The `procmux` binary: hands over to [`procmux::cli::run`], unless it was started as
//! procmux's watchdog, which is recognised before any argument parsing so that it stays tiny.

use std::process::ExitCode;

fn main() -> ExitCode {
    if let Some(code) = procmux::watchdog::serve_if_asked() {
        return code;
    }
    procmux::cli::run()
}
