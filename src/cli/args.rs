//! The command-line grammar: every command and flag, as clap derive types.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use super::check::CheckArgs;
use super::completions::CompletionsArgs;
use super::exec::ExecArgs;
use super::export::ExportArgs;
use super::logs::LogsArgs;
use super::probe::ProbeArgs;
use super::restart::RestartArgs;
use super::run::RunArgs;
use super::status::StatusArgs;
use super::stop::StopArgs;
use crate::manifest::{Formation, LoadOptions};

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
pub enum Commands {
    /// Start the processes of the manifest and supervise them until they end or Ctrl-C.
    #[command(visible_alias = "start")]
    Run(RunArgs),
    /// Load and validate the manifest, and print each instance's effective settings.
    Check(CheckArgs),
    /// Print the JSON Schema of procmux.toml.
    Schema,
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Run one command in the foreground with the stack's environment (foreman run).
    Exec(ExecArgs),
    /// Write the manifest as units for another engine (systemd).
    Export(ExportArgs),
    /// Run one readiness check (tcp, http or exec) until it passes or times out.
    Probe(ProbeArgs),
    /// Show what the running procmux of this manifest runs.
    Status(StatusArgs),
    /// Restart processes or instances of the running procmux.
    Restart(RestartArgs),
    /// Stop processes or instances of the running procmux, or all of it.
    Stop(StopArgs),
    /// Print recent output of the running procmux's processes, and follow it with -f.
    Logs(LogsArgs),
}

/// Which manifest to load and how: the flags shared by `check` and `run`
/// (`#[command(flatten)]`). [`ManifestArgs::load_options`] turns them into
/// [`LoadOptions`].
#[derive(Debug, Clone, Default, Args)]
pub struct ManifestArgs {
    /// The manifest: *.toml is TOML, anything else a Procfile [default: procmux.toml, else Procfile, else Procfile.dev]
    #[arg(short = 'f', long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// The project root that relative paths in the manifest start from [default: the manifest's folder]
    #[arg(short = 'd', long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Env files to load instead of .env, after settings.env_file (repeatable, or comma-separated)
    #[arg(
        short = 'e',
        long = "env-file",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub env_files: Vec<PathBuf>,
    /// How many instances of which process, e.g. web=2,worker=0,all=1
    #[arg(
        short = 'm',
        long,
        visible_alias = "concurrency",
        visible_short_alias = 'c',
        value_name = "FORMATION"
    )]
    pub formation: Option<Formation>,
    /// The base port: process n instance i gets PORT = base + 100*n + i - 1 [default: 5000]
    #[arg(short = 'p', long, value_name = "N")]
    pub port: Option<u16>,
    /// Grace before SIGKILL for processes that set no stop_timeout, in seconds (or "500ms")
    #[arg(short = 't', long = "timeout", value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// The shell that runs string commands [default: sh]
    #[arg(long, value_name = "PATH")]
    pub shell: Option<String>,
}

impl ManifestArgs {
    /// The load options for these flags, with the given working directory and inherited
    /// environment (deterministic: for tests and for callers that already have them).
    pub fn to_load_options(
        &self,
        cwd: PathBuf,
        inherited_env: BTreeMap<String, String>,
    ) -> LoadOptions {
        LoadOptions {
            file: self.file.clone(),
            root: self.root.clone(),
            env_files: self.env_files.clone(),
            formation: self.formation.clone(),
            port: self.port,
            shell: self.shell.clone(),
            default_stop_timeout: self.timeout,
            inherited_env,
            cwd,
        }
    }

    /// The load options for these flags, in the current directory with the current process
    /// environment (variables whose name or value is not UTF-8 are left out).
    pub fn load_options(&self) -> std::io::Result<LoadOptions> {
        let cwd = std::env::current_dir()?;
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Ok(self.to_load_options(cwd, env))
    }
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    crate::manifest::parse_duration(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_args(args: &[&str]) -> ManifestArgs {
        let cli = Cli::try_parse_from(["procmux", "check"].iter().chain(args))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        match cli.command {
            Some(Commands::Check(check)) => check.manifest,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags_become_load_options() {
        let args = manifest_args(&[
            "-f",
            "x/Procfile",
            "-d",
            "root",
            "-e",
            "a.env,b.env",
            "--env-file",
            "c.env",
            "--concurrency",
            "web=2,all=0",
            "-p",
            "3000",
            "-t",
            "1.5",
            "--shell",
            "bash",
        ]);
        let env = BTreeMap::from([("HOME".to_owned(), "/h".to_owned())]);
        let options = args.to_load_options("/work".into(), env.clone());
        assert_eq!(
            options,
            LoadOptions {
                file: Some("x/Procfile".into()),
                root: Some("root".into()),
                env_files: vec!["a.env".into(), "b.env".into(), "c.env".into()],
                formation: Some("web=2,all=0".parse().expect("formation")),
                port: Some(3000),
                shell: Some("bash".into()),
                default_stop_timeout: Some(Duration::from_millis(1500)),
                inherited_env: env,
                cwd: "/work".into(),
            }
        );
        assert_eq!(
            manifest_args(&["-t", "500ms"]).timeout,
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            manifest_args(&["-m", "web=1"])
                .formation
                .map(|f| f.to_string()),
            Some("web=1".into())
        );
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for args in [&["-t", "soon"][..], &["-m", "web"], &["-p", "70000"]] {
            let argv = ["procmux", "check"].iter().chain(args);
            assert!(Cli::try_parse_from(argv).is_err(), "{args:?}");
        }
    }
}
