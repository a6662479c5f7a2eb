//! `procmux exec`: one command in the foreground with the environment the stack's processes
//! get — `foreman run`, `honcho run`, `heroku local:run`.
//!
//! The environment is what procmux sets for every process (the settings' env files, `.env`
//! or the `-e` files, `[env]`) on top of the inherited one; with `--process NAME`, that
//! process's first instance's instead (its own env and env files, its `PORT` and `PS`), and
//! its cwd. One argument containing a space runs through the shell; several run directly. A
//! single word naming a process runs that process's command (`procmux exec web`), as
//! `foreman run web` does. The terminal is inherited (`rails console` and `psql` work); the
//! exit code is the command's (128 + N for signal N), 127 when it cannot be found, 126 when
//! it cannot be run.

use std::process::ExitCode;

use clap::Args;

use super::ManifestArgs;
use crate::coordinator::{command_for, preflight};
use crate::manifest::{self, DEFAULT_SHELL, InstanceSpec, Manifest};

/// Arguments of `procmux exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Which manifest, and how to load it.
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// Also use this process's environment, cwd, PORT and PS (of its first instance)
    #[arg(long, value_name = "NAME")]
    pub process: Option<String>,
    /// The command: one argument with spaces runs through the shell, several run directly,
    /// one process name runs that process's command
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

/// Runs `procmux exec`.
pub fn run(args: &ExecArgs) -> ExitCode {
    let (options, loaded) = match super::load_manifest(&args.manifest) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let manifest = &loaded.manifest;
    let plan = match plan(args, manifest, options.shell.as_deref()) {
        Ok(plan) => plan,
        Err(message) => {
            super::print_diagnostic(&format!("error: {message}\n"));
            return ExitCode::from(2);
        }
    };
    let mut command = std::process::Command::new(&plan.argv[0]);
    command.args(&plan.argv[1..]).envs(&plan.env);
    if let Some(cwd) = &plan.cwd {
        command.current_dir(cwd);
    }
    match crate::foreground::run(command) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            let explained = match &plan.instance {
                Some(spec) => preflight::spawn_error(spec, &manifest.settings.root, &error),
                None => format!("{}: {}", plan.argv[0], describe(&error)),
            };
            super::print_diagnostic(&format!("error: {explained}\n"));
            // What a shell gives: 127 not found, 126 found but not runnable.
            let code = if error.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            ExitCode::from(code)
        }
    }
}

/// What to run, where, with what environment.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    argv: Vec<String>,
    env: std::collections::BTreeMap<String, String>,
    cwd: Option<std::path::PathBuf>,
    /// The instance whose settings are used, when there is one.
    instance: Option<InstanceSpec>,
}

fn describe(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "command not found".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    }
}

/// Decides what runs: pure, for the tests.
fn plan(args: &ExecArgs, manifest: &Manifest, shell: Option<&str>) -> Result<Plan, String> {
    let named_process = match (&args.process, args.command.as_slice()) {
        (None, [word]) if manifest.process(word).is_some() => Some(word.as_str()),
        _ => None,
    };
    let process = args.process.as_deref().or(named_process);
    let instance = match process {
        None => None,
        Some(name) => Some(first_instance(manifest, name)?),
    };
    let argv = match (named_process, &instance) {
        (Some(_), Some(spec)) => program_argv(spec),
        _ => match args.command.as_slice() {
            [line] if line.contains(char::is_whitespace) => {
                let shell = instance
                    .as_ref()
                    .and_then(|spec| match &spec.command {
                        manifest::ProcessCommand::Shell { shell, .. } => Some(shell.as_str()),
                        manifest::ProcessCommand::Exec { .. } => None,
                    })
                    .or(shell)
                    .unwrap_or(DEFAULT_SHELL);
                vec![shell.to_owned(), "-c".to_owned(), line.clone()]
            }
            words => words.to_vec(),
        },
    };
    Ok(Plan {
        argv,
        env: instance
            .as_ref()
            .map_or_else(|| manifest.settings.env.clone(), |spec| spec.env.clone()),
        cwd: instance.as_ref().map(|spec| spec.cwd.clone()),
        instance,
    })
}

fn first_instance(manifest: &Manifest, name: &str) -> Result<InstanceSpec, String> {
    let Some(process) = manifest.process(name) else {
        let known: Vec<&str> = manifest.processes.iter().map(|p| p.name.as_str()).collect();
        let hint = manifest::nearest(name, known.iter().copied())
            .map(|near| format!(", did you mean {near:?}?"))
            .unwrap_or_else(|| format!(" (the processes are: {})", known.join(", ")));
        return Err(format!("no process named {name:?}{hint}"));
    };
    process.instances.first().cloned().ok_or_else(|| {
        format!("process {name:?} has 0 instances here, so there is no environment to use")
    })
}

/// The program and arguments a process's command runs.
fn program_argv(spec: &InstanceSpec) -> Vec<String> {
    command_for(spec).program.words()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Commands};

    fn args(argv: &[&str]) -> ExecArgs {
        match Cli::try_parse_from(["procmux", "exec"].iter().chain(argv)) {
            Ok(Cli {
                command: Some(Commands::Exec(exec)),
            }) => exec,
            other => panic!("{argv:?}: {other:?}"),
        }
    }

    fn manifest() -> Manifest {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("procmux.toml"),
            "[env]\nGLOBAL = \"g\"\n\n[processes.web]\ncommand = \"bundle exec puma -p $PORT\"\n\
             env = { OWN = \"o\" }\n\n[processes.worker]\ncommand = [\"bin/worker\", \"--fast\"]\n",
        )
        .expect("write");
        let options = manifest::LoadOptions {
            cwd: dir.path().to_path_buf(),
            ..Default::default()
        };
        manifest::load(&options).expect("load").manifest
    }

    #[test]
    fn words_run_directly_one_string_runs_through_the_shell() {
        let manifest = manifest();
        let plan = plan(
            &args(&["--", "rails", "console", "-e", "test"]),
            &manifest,
            None,
        )
        .expect("plan");
        assert_eq!(plan.argv, ["rails", "console", "-e", "test"]);
        assert_eq!(plan.env.get("GLOBAL").map(String::as_str), Some("g"));
        assert!(!plan.env.contains_key("OWN"));
        assert_eq!(plan.cwd, None);
        let plan = plan_for(&manifest, &["echo $GLOBAL > out"]);
        assert_eq!(plan.argv, ["sh", "-c", "echo $GLOBAL > out"]);
    }

    fn plan_for(manifest: &Manifest, argv: &[&str]) -> Plan {
        plan(&args(argv), manifest, None).expect("plan")
    }

    #[test]
    fn a_process_name_runs_its_command_with_its_environment() {
        let manifest = manifest();
        let plan = plan_for(&manifest, &["web"]);
        assert_eq!(plan.argv, ["sh", "-c", "bundle exec puma -p $PORT"]);
        assert_eq!(plan.env.get("OWN").map(String::as_str), Some("o"));
        assert_eq!(plan.env.get("PORT").map(String::as_str), Some("5000"));
        assert_eq!(plan.env.get("PS").map(String::as_str), Some("web.1"));
        let plan = plan_for(&manifest, &["worker"]);
        assert_eq!(plan.argv, ["bin/worker", "--fast"]);
        let plan = plan_for(&manifest, &["--process", "web", "--", "env"]);
        assert_eq!(plan.argv, ["env"]);
        assert_eq!(plan.env.get("PS").map(String::as_str), Some("web.1"));
        assert!(plan.cwd.is_some());
    }

    #[test]
    fn an_unknown_process_suggests() {
        let manifest = manifest();
        let error =
            plan(&args(&["--process", "wbe", "--", "env"]), &manifest, None).expect_err("unknown");
        assert_eq!(error, "no process named \"wbe\", did you mean \"web\"?");
    }
}
