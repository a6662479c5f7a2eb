//! `procmux run`: load the manifest, start the selected processes and supervise them until
//! they end or procmux is told to stop.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::ManifestArgs;
use crate::control::{BindError, Server, SocketEnv};
use crate::coordinator;
use crate::manifest::{self, Loaded, Manifest};
use crate::mux::{self, ColorChoice, Mux, MuxOptions};
use crate::watchdog::Watchdog;

/// How long a clean exit waits for the watchdog to take its leave (it exits as soon as it
/// reads `bye`; this only bounds a watchdog that is stopped or starved).
const WATCHDOG_GOODBYE_LIMIT: Duration = Duration::from_secs(2);

/// Whether `name` could name a process (`^[A-Za-z0-9_-]+$`).
fn is_process_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Flags of `procmux run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run only these processes and what they depend on (also with autostart = false) [default: every autostart process]
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Which manifest, and how to load it.
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// When to colour the prefixes (NO_COLOR and CLICOLOR_FORCE are honoured in auto)
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto, overrides_with = "color")]
    pub color: ColorWhen,
    /// Put the local time in front of every line [default: settings.timestamps, else on]
    #[arg(long, overrides_with = "no_timestamps")]
    pub timestamps: bool,
    /// Do not put the time in front of lines
    #[arg(long, overrides_with = "timestamps")]
    pub no_timestamps: bool,
    /// Print the children's output as it is, with no prefix (procmux's own lines go to stderr)
    #[arg(long)]
    pub raw: bool,
    /// Do not watch the manifest and its env files for changes
    #[arg(long)]
    pub no_reload: bool,
    /// Do not restart processes when the files their `watch` globs match change
    #[arg(long)]
    pub no_watch: bool,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Colour when stdout is a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl From<ColorWhen> for ColorChoice {
    fn from(when: ColorWhen) -> Self {
        match when {
            ColorWhen::Auto => ColorChoice::Auto,
            ColorWhen::Always => ColorChoice::Always,
            ColorWhen::Never => ColorChoice::Never,
        }
    }
}

impl RunArgs {
    /// Timestamps: the flags, else the manifest's setting, else on (as foreman does).
    fn timestamps(&self, manifest: &Manifest) -> bool {
        if self.timestamps {
            true
        } else if self.no_timestamps {
            false
        } else {
            manifest.settings.timestamps.unwrap_or(true)
        }
    }
}

/// Runs `procmux run`.
pub fn run(args: &RunArgs) -> ExitCode {
    super::inherited_fds::close_on_exec_above_stdio();
    let options = match args.manifest.load_options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("error: cannot read the current directory: {error}");
            return ExitCode::from(2);
        }
    };
    let Loaded {
        manifest,
        warnings,
        sources,
        notices,
    } = match manifest::load(&options) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprint!("{}", error.render());
            return ExitCode::from(2);
        }
    };
    super::print_warnings(&warnings);
    if let Err(message) = check_selection(&manifest, &args.names) {
        super::print_diagnostic(&format!("error: {message}\n"));
        return ExitCode::from(2);
    }
    if let Some(warning) = super::open_files::raise_for(manifest.instances().count()) {
        super::print_diagnostic(&format!("warning: {warning}\n"));
    }
    // Bound before anything starts, so that a second `run` of this manifest is refused
    // with nothing started twice.
    let server = match sources.first() {
        Some(manifest_path) => match Server::bind(manifest_path, &SocketEnv::from_env()) {
            Ok(server) => Some(server),
            Err(error @ BindError::AlreadyRunning { .. }) => {
                return super::client::bind_failure(&error, &options.cwd).report();
            }
            Err(error) => {
                super::print_diagnostic(&format!(
                    "warning: cannot open the control socket ({error}): procmux status, \
                     restart, stop and logs will not reach this run\n"
                ));
                None
            }
        },
        None => None,
    };

    let terminal = std::io::stdout().is_terminal();
    let mux_options = MuxOptions {
        color: mux::resolve_from_env(args.color.into(), terminal),
        timestamps: args.timestamps(&manifest),
        raw: args.raw,
    };
    // Before the runtime, while this is procmux's only thread, and before the first child:
    // from the first spawn on, a SIGKILLed procmux leaves nothing. A failure to start it is
    // said on a system line once the mux exists.
    let watchdog = Watchdog::start();
    // One thread is plenty for pipes, timers and signals, and it keeps the parent-death
    // signal tied to the life of procmux's main thread.
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
    let result = runtime.block_on(async {
        let mux = Mux::new(mux_options, Box::new(std::io::stdout()));
        let reporter = mux.clone();
        watchdog.set_reporter(move |notice| reporter.system(&notice.to_string()));
        coordinator::run(coordinator::RunInputs {
            manifest,
            selection: args.names.clone(),
            mux,
            watching: coordinator::WatchInputs {
                options,
                sources,
                reload: !args.no_reload,
                watch: !args.no_watch,
            },
            terminal,
            notices: notices
                .into_iter()
                .map(coordinator::Message::Note)
                .collect(),
            control: server,
            watchdog: watchdog.clone(),
        })
        .await
    });
    // Every job has ended: nothing is left for the watchdog to kill.
    watchdog.goodbye(WATCHDOG_GOODBYE_LIMIT);
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Every named process exists, and at least one instance will start.
fn check_selection(manifest: &Manifest, names: &[String]) -> Result<(), String> {
    for name in names {
        if manifest.process(name).is_none() && !is_process_name(name) {
            // `procmux run bin/rails db:migrate`: a command, not process names.
            return Err(format!(
                "no process named {name:?}; to run a command with the stack's environment, \
                 use: procmux exec -- {}",
                names.join(" ")
            ));
        }
        if manifest.process(name).is_none() {
            let known: Vec<&str> = manifest.processes.iter().map(|p| p.name.as_str()).collect();
            let hint = manifest::nearest(name, known.iter().copied())
                .map(|near| format!(", did you mean {near:?}?"))
                .unwrap_or_else(|| format!(" (the processes are: {})", known.join(", ")));
            return Err(format!("no process named {name:?}{hint}"));
        }
    }
    let starts = |process: &manifest::ProcessSpec| {
        !process.instances.is_empty()
            && (names.contains(&process.name)
                || (names.is_empty() && process.instances.iter().any(|i| i.autostart)))
    };
    if !manifest.processes.iter().any(starts) {
        return Err(
            "nothing to run: every process has autostart = false or 0 instances; name \
                    the ones to run (procmux run NAME...)"
                .to_owned(),
        );
    }
    Ok(())
}
