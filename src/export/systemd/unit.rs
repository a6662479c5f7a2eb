//! The text of the units: `APP.target` and one service per instance.
//!
//! Choices where the two engines differ, and why:
//! - `Type=exec`: the unit is started once the program was executed, which is procmux's
//!   `started` (the spawn succeeded); `ready` adds an `ExecStartPost=` probe, and systemd
//!   orders `After=` units on the end of `ExecStartPost=`, which is procmux's `ready`.
//! - A process that something depends on with `completed` is `Type=oneshot` with
//!   `RemainAfterExit=yes`: it counts as started once it exited 0. systemd refuses
//!   `Restart=always` there; such a process gets `Restart=on-failure` (re-running a finished
//!   task forever is not what `completed` means), said in a comment and a note.
//! - `max_restarts = N` counts consecutive quick restarts in procmux (a run of 10 s renews
//!   the budget); systemd counts starts in a window: `StartLimitBurst=N+1` (the first start
//!   and N restarts) in `StartLimitIntervalSec=N*10s`, so that giving up takes runs shorter
//!   than 10 s on average. `max_restarts = 0` is `Restart=no`.
//! - `TimeoutStartSec=` is the ready timeout plus 5 s, so systemd's own start timeout (90 s by
//!   default) neither cuts a longer check short nor beats the probe's message; oneshot units
//!   keep systemd's default for them (no start timeout), since their start is the whole run.
//! - `stop_timeout = 0` becomes `TimeoutStopSec=1us`: systemd reads 0 as "wait forever".
//! - A `log` check has no systemd equivalent: nothing is mapped, the unit counts as ready once
//!   started, and a comment and a note say so.
//! - `autostart = false`: the unit is written but left out of the target's `Wants=` (a
//!   comment there says so); it is started on request, or when a unit that requires it is.
//! - Not mapped: `can_die` (systemd units fail on their own, they never stop the others),
//!   `color`, `watch`.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use super::escape::{
    EscapeError, comment, env_assignment, exec_line, flag_duration, plain_value, timespan,
};
use super::names::{APP_MARKER, HEADER_PREFIX, service_name};
use super::programs::{FindProgram, absolute_program};
use super::{SystemdOptions, UnitScope};
use crate::export::{ExportError, ExportFile};
use crate::manifest::{InstanceSpec, Manifest, ProcessCommand, ReadyKind, RestartPolicy};

/// What every unit of one rendering shares.
pub(super) struct Context<'a> {
    pub manifest: &'a Manifest,
    pub options: &'a SystemdOptions,
    pub find: &'a dyn FindProgram,
    /// Processes that run to completion (something depends on them with `completed`).
    pub oneshot: &'a BTreeSet<&'a str>,
}

/// How much longer than the ready timeout systemd waits for the start, so that the probe's
/// own message comes first.
const START_MARGIN: Duration = Duration::from_secs(5);

/// procmux's first restart delay (`coordinator::backoff_delay(0)`): `RestartSec=`.
pub(super) const RESTART_DELAY: Duration = Duration::from_millis(100);

/// The uptime after which procmux renews a process's restart budget (see `restart.rs` in the
/// coordinator): the unit of `StartLimitIntervalSec=`.
const HEALTHY_UPTIME: Duration = Duration::from_secs(10);

fn header(context: &Context) -> String {
    format!(
        "{HEADER_PREFIX} from {}: edit the manifest and export again rather than this file.\n{APP_MARKER}{}\n",
        comment(&context.options.source.display().to_string()),
        context.options.app
    )
}

/// `APP.target`: wants every unit (but those of `autostart = false` processes).
pub(super) fn target(context: &Context) -> ExportFile {
    let app = &context.options.app;
    let mut text = header(context);
    text.push_str(&format!("\n[Unit]\nDescription=procmux {app}\n"));
    for instance in context.manifest.instances() {
        let name = service_name(app, context.manifest, instance);
        if instance.autostart {
            text.push_str(&format!("Wants={name}\n"));
        } else {
            text.push_str(&format!(
                "# {name}: autostart = false, started on request (or by what requires it)\n"
            ));
        }
    }
    let wanted_by = match context.options.scope {
        UnitScope::System { .. } => "multi-user.target",
        UnitScope::User => "default.target",
    };
    text.push_str(&format!("\n[Install]\nWantedBy={wanted_by}\n"));
    ExportFile {
        name: app.target(),
        contents: text,
    }
}

/// One instance's service and the notes about what could not be mapped exactly.
pub(super) fn service(
    context: &Context,
    instance: &InstanceSpec,
) -> Result<(ExportFile, Vec<String>), ExportError> {
    let name = &instance.display_name;
    let value = |setting: &str, result: Result<String, EscapeError>| {
        result.map_err(|source| ExportError::Value {
            instance: name.clone(),
            setting: setting.to_owned(),
            source,
        })
    };
    let app = &context.options.app;
    let oneshot = context.oneshot.contains(instance.process.as_str());
    let mut notes = Vec::new();
    let mut unit = String::new();
    let mut service = String::new();
    let line = |out: &mut String, text: &str| {
        out.push_str(text);
        out.push('\n');
    };

    line(&mut unit, &format!("Description=procmux {app}: {name}"));
    line(&mut unit, &format!("PartOf={}", app.target()));
    if !instance.depends_on.is_empty() {
        let listed: Vec<String> = instance
            .depends_on
            .iter()
            .map(|d| format!("{} ({})", d.process, d.condition.as_str()))
            .collect();
        line(&mut unit, &format!("# depends_on: {}", listed.join(", ")));
        let mut units = Vec::new();
        for dependency in &instance.depends_on {
            let Some(process) = context.manifest.process(&dependency.process) else {
                continue;
            };
            for other in &process.instances {
                let unit_name = service_name(app, context.manifest, other);
                if !units.contains(&unit_name) {
                    units.push(unit_name);
                }
            }
        }
        if !units.is_empty() {
            line(&mut unit, &format!("After={}", units.join(" ")));
            line(&mut unit, &format!("Requires={}", units.join(" ")));
        }
    }

    let (restart, restart_comment) = restart(instance, oneshot);
    if let Some(text) = &restart_comment {
        notes.push(format!("{name}: {text}"));
    }
    if let (Some(max), true) = (instance.max_restarts, restart != RestartPolicy::No) {
        let window = HEALTHY_UPTIME * max.max(1);
        line(
            &mut unit,
            &format!("StartLimitIntervalSec={}", timespan(window)),
        );
        line(
            &mut unit,
            &format!("StartLimitBurst={}", u64::from(max) + 1),
        );
    }

    if oneshot {
        line(&mut service, "Type=oneshot");
        line(&mut service, "RemainAfterExit=yes");
    } else {
        line(&mut service, "Type=exec");
    }
    if let UnitScope::System { user } = &context.options.scope {
        line(
            &mut service,
            &format!("User={}", value("User=", plain_value(user))?),
        );
    }
    let cwd = utf8(name, &instance.cwd)?;
    line(
        &mut service,
        &format!("WorkingDirectory={}", value("cwd", plain_value(cwd))?),
    );
    for (key, val) in &instance.env {
        let setting = format!("Environment= {key}");
        line(
            &mut service,
            &format!("Environment={}", value(&setting, env_assignment(key, val))?),
        );
    }
    let argv = command_argv(context, instance, &instance.command)?;
    line(
        &mut service,
        &format!("ExecStart={}", value("command", exec_line(&argv))?),
    );
    if let Some(ready) = &instance.ready {
        match probe_argv(context, instance, ready)? {
            Some(argv) => {
                line(
                    &mut service,
                    &format!("ExecStartPost={}", value("ready", exec_line(&argv))?),
                );
                if !oneshot {
                    line(
                        &mut service,
                        &format!("TimeoutStartSec={}", timespan(ready.timeout + START_MARGIN)),
                    );
                }
            }
            None => {
                let text = format!(
                    "ready = {} has no systemd equivalent: the unit counts as ready once started",
                    ready.kind
                );
                line(&mut service, &format!("# {}", comment(&text)));
                notes.push(format!("{name}: {text}"));
            }
        }
    }
    line(&mut service, "KillMode=control-group");
    line(
        &mut service,
        &format!("KillSignal={}", instance.stop_signal),
    );
    line(
        &mut service,
        &format!("TimeoutStopSec={}", timespan(instance.stop_timeout)),
    );
    if let Some(text) = &restart_comment {
        line(&mut service, &format!("# {text}"));
    }
    line(&mut service, &format!("Restart={}", restart.as_str()));
    if restart != RestartPolicy::No {
        line(
            &mut service,
            &format!("RestartSec={}", timespan(RESTART_DELAY)),
        );
    }

    let contents = format!("{}\n[Unit]\n{unit}\n[Service]\n{service}", header(context));
    let file = ExportFile {
        name: service_name(app, context.manifest, instance),
        contents,
    };
    Ok((file, notes))
}

/// The `Restart=` a unit gets, and why it differs from the manifest's when it does.
fn restart(instance: &InstanceSpec, oneshot: bool) -> (RestartPolicy, Option<String>) {
    match (instance.restart, instance.max_restarts) {
        (RestartPolicy::No, _) => (RestartPolicy::No, None),
        (_, Some(0)) => (
            RestartPolicy::No,
            Some("max_restarts = 0 allows no restart: Restart=no".into()),
        ),
        (RestartPolicy::Always, _) if oneshot => (
            RestartPolicy::OnFailure,
            Some(
                "restart = \"always\" becomes Restart=on-failure: a dependency with `completed` \
                 is Type=oneshot, which systemd never restarts after a clean exit"
                    .into(),
            ),
        ),
        (policy, _) => (policy, None),
    }
}

fn utf8<'p>(instance: &str, path: &'p Path) -> Result<&'p str, ExportError> {
    path.to_str().ok_or_else(|| ExportError::NotUtf8 {
        instance: instance.to_owned(),
        path: path.to_path_buf(),
    })
}

/// The program with an absolute path and its arguments; a string command through its shell.
fn command_argv(
    context: &Context,
    instance: &InstanceSpec,
    command: &ProcessCommand,
) -> Result<Vec<String>, ExportError> {
    let (program, rest) = match command {
        ProcessCommand::Shell { shell, command } => {
            (shell.as_str(), vec!["-c".to_owned(), command.clone()])
        }
        ProcessCommand::Exec { program, args } => (program.as_str(), args.clone()),
    };
    let path = absolute_program(program, &instance.cwd, context.find).ok_or_else(|| {
        ExportError::ProgramNotFound {
            instance: instance.display_name.clone(),
            program: program.to_owned(),
        }
    })?;
    let path = utf8(&instance.display_name, &path)?.to_owned();
    Ok(std::iter::once(path).chain(rest).collect())
}

/// `procmux probe` with the check and its timings; `None` for a `log` check.
fn probe_argv(
    context: &Context,
    instance: &InstanceSpec,
    ready: &crate::manifest::ReadyCheck,
) -> Result<Option<Vec<String>>, ExportError> {
    let bracketed = |host: &str| {
        if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        }
    };
    let check: Vec<String> = match &ready.kind {
        ReadyKind::Tcp { host, port } => {
            vec!["--tcp".into(), format!("{}:{port}", bracketed(host))]
        }
        ReadyKind::Http { host, port, path } => vec![
            "--http".into(),
            format!("http://{}:{port}{path}", bracketed(host)),
        ],
        ReadyKind::Exec { command } => {
            let mut argv = command_argv(context, instance, command)?;
            if let [program] = argv.as_slice()
                && program.chars().any(char::is_whitespace)
            {
                // `procmux probe --exec` runs one word with spaces through `sh -c`; `env`
                // runs it as the program it is.
                let env =
                    absolute_program("env", &instance.cwd, context.find).ok_or_else(|| {
                        ExportError::ProgramNotFound {
                            instance: instance.display_name.clone(),
                            program: "env".into(),
                        }
                    })?;
                argv.insert(0, utf8(&instance.display_name, &env)?.to_owned());
            }
            std::iter::once("--exec".to_owned()).chain(argv).collect()
        }
        ReadyKind::Log { .. } => return Ok(None),
    };
    let procmux = utf8("procmux", &context.options.procmux)?.to_owned();
    let mut argv = vec![
        procmux,
        "probe".into(),
        "--timeout".into(),
        flag_duration(ready.timeout),
        "--interval".into(),
        flag_duration(ready.interval),
        "--attempt-timeout".into(),
        flag_duration(ready.attempt_timeout),
    ];
    if !ready.initial_delay.is_zero() {
        argv.push("--initial-delay".into());
        argv.push(flag_duration(ready.initial_delay));
    }
    // Last: `--exec` takes the rest of the line.
    argv.extend(check);
    Ok(Some(argv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_delay_is_procmux_first_backoff() {
        assert_eq!(RESTART_DELAY, crate::coordinator::backoff_delay(0));
    }
}
