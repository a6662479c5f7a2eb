//! `procmux probe`: one readiness check on its own, until it passes or its timeout runs out.
//!
//! Exit 0 once the check passes, 1 when the timeout runs out (the last failure on stderr:
//! `not ready within 60s: connection refused`), 2 on bad arguments. It is what the units of
//! `procmux export systemd` run in `ExecStartPost=`, and what a script can run before it
//! starts work.

use std::process::ExitCode;
use std::time::Duration;

use clap::ArgGroup;

use crate::probe::{self, ExecProbe, Probe, ProbeTimings};

/// Arguments of `procmux probe`.
#[derive(Debug, Clone, clap::Args)]
#[command(group(ArgGroup::new("check").required(true).args(["tcp", "http", "exec"])))]
pub struct ProbeArgs {
    /// Ready once a TCP connect succeeds (the host defaults to 127.0.0.1)
    #[arg(long, value_name = "[HOST:]PORT", value_parser = parse_tcp)]
    pub tcp: Option<Probe>,
    /// Ready once a GET answers 2xx or 3xx (http:// only)
    #[arg(long, value_name = "URL", value_parser = parse_http)]
    pub http: Option<Probe>,
    /// Ready once the command exits 0; takes the rest of the line. One word with spaces runs
    /// through `sh -c`, anything else runs directly: --exec 'pg_isready -q' or --exec test -f up
    #[arg(
        long,
        value_name = "CMD",
        num_args = 1..,
        allow_hyphen_values = true
    )]
    pub exec: Vec<String>,
    /// Give up after this long
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Wait between attempts
    #[arg(long, value_name = "DURATION", default_value = "250ms", value_parser = parse_duration)]
    pub interval: Duration,
    /// One attempt at most this long
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub attempt_timeout: Duration,
    /// Wait before the first attempt
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub initial_delay: Duration,
    /// Say on stderr when the check passes (it is always said when it does not)
    #[arg(short, long)]
    pub verbose: bool,
}

impl ProbeArgs {
    /// The check these flags describe.
    pub fn probe(&self) -> Probe {
        if let Some(probe) = self.tcp.clone().or_else(|| self.http.clone()) {
            return probe;
        }
        Probe::Exec(ExecProbe {
            argv: exec_argv(&self.exec),
            ..ExecProbe::default()
        })
    }

    /// The timings these flags describe.
    pub fn timings(&self) -> ProbeTimings {
        ProbeTimings {
            initial_delay: self.initial_delay,
            interval: self.interval,
            attempt_timeout: self.attempt_timeout,
            timeout: self.timeout,
        }
    }
}

/// One word with whitespace is a shell command line (`sh -c`), as a string command is in the
/// manifest; several words, or one plain word, are a program and its arguments.
fn exec_argv(words: &[String]) -> Vec<String> {
    match words {
        [line] if line.chars().any(char::is_whitespace) => {
            vec!["sh".into(), "-c".into(), line.clone()]
        }
        _ => words.to_vec(),
    }
}

/// Runs the check; 0 when it passes, 1 when it does not.
pub fn run(args: &ProbeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let probe = args.probe();
    match runtime.block_on(probe::wait_ready(&probe, &args.timings())) {
        Ok(elapsed) => {
            if args.verbose {
                eprintln!("ready: {probe} after {}", probe::seconds(round_ms(elapsed)));
            }
            ExitCode::SUCCESS
        }
        Err(not_ready) => {
            eprintln!("{not_ready}");
            ExitCode::FAILURE
        }
    }
}

fn round_ms(duration: Duration) -> Duration {
    Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

fn parse_tcp(text: &str) -> Result<Probe, String> {
    Probe::tcp(text).map_err(|error| error.to_string())
}

fn parse_http(text: &str) -> Result<Probe, String> {
    Probe::http(text).map_err(|error| error.to_string())
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::manifest::parse_duration(text)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Commands};

    fn parse(args: &[&str]) -> Result<ProbeArgs, clap::Error> {
        let cli = Cli::try_parse_from(["procmux", "probe"].iter().chain(args))?;
        match cli.command {
            Some(Commands::Probe(probe)) => Ok(probe),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_are_those_of_ready() {
        let args = parse(&["--tcp", "5432"]).expect("parses");
        assert_eq!(args.timings(), ProbeTimings::default());
        assert_eq!(args.probe().to_string(), "tcp 127.0.0.1:5432");
    }

    #[test]
    fn exactly_one_check() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["--tcp", "1", "--http", "http://h/"]).is_err());
        assert!(parse(&["--tcp", "70000"]).is_err());
        assert!(parse(&["--http", "https://h/"]).is_err());
        assert!(parse(&["--tcp", "1", "--timeout", "soon"]).is_err());
    }

    #[test]
    fn exec_takes_the_rest_of_the_line() {
        let args = parse(&["--timeout", "5s", "--exec", "test", "-f", "up"]).expect("parses");
        assert_eq!(args.timeout, Duration::from_secs(5));
        assert_eq!(args.probe().to_string(), "exec test -f up");
        let args = parse(&["--exec", "pg_isready -q"]).expect("parses");
        assert_eq!(args.probe().to_string(), "exec sh -c pg_isready -q");
        let args = parse(&["--exec", "true"]).expect("parses");
        assert_eq!(args.probe().to_string(), "exec true");
        // Flags after --exec are the command's: `--exec` goes last.
        let args = parse(&["--exec", "test", "-d", "/", "--timeout", "1s"]).expect("parses");
        assert_eq!(args.probe().to_string(), "exec test -d / --timeout 1s");
        assert_eq!(args.timeout, ProbeTimings::DEFAULT_TIMEOUT);
    }
}
