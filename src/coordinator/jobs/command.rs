//! The command an instance runs: [`command_for`] (what `check` shows too), and the one a
//! spawn uses, with its program found in `PATH` once.

use crate::manifest::{InstanceSpec, ProcessCommand};
use crate::supervisor::Signal;
use crate::supervisor::command::{Command, Program, Shell, SpawnOptions, StopPolicy};

use super::super::plain::direct_argv;
use super::super::preflight;
use super::Jobs;

/// A program name, the cwd it is looked up from and the `PATH` it is looked up in.
pub(super) type ProgramKey = (String, std::path::PathBuf, Option<String>);

impl Jobs {
    /// The command of an instance with its program (or shell) found in `PATH` once, here:
    /// a child looking it up itself tries one folder of `PATH` after the other.
    /// Also gives the name as written, for the child's `argv[0]` (a program such as busybox
    /// goes by it).
    pub(super) fn resolved_command(&mut self, spec: &InstanceSpec) -> (Command, Option<String>) {
        let mut command = command_for(spec);
        if self.watchdog.pid().is_some() {
            // The watchdog kills every group and cgroup if procmux dies, which the
            // parent-death signal (the direct child only) adds nothing to; without it, a
            // spawn needs no code between fork and exec under process-group tracking, so it
            // takes posix_spawn's cheaper path.
            command.options.parent_death_signal = None;
        }
        let path = spec
            .env
            .get("PATH")
            .cloned()
            .or_else(|| std::env::var("PATH").ok());
        let program: &mut std::path::PathBuf = match &mut command.program {
            Program::Exec { prog, .. } => prog,
            Program::Shell { shell, .. } => &mut shell.prog,
        };
        if let Some(name) = program.to_str()
            && !name.contains('/')
        {
            let cache_key = (name.to_owned(), spec.cwd.clone(), path.clone());
            let found = self
                .programs
                .entry(cache_key)
                .or_insert_with(|| preflight::resolve(name, &spec.cwd, path.as_deref()))
                .clone();
            if let Some(found) = found {
                let written = name.to_owned();
                *program = found;
                return (command, Some(written));
            }
        }
        (command, None)
    }
}

/// The supervisor command for an instance: grouped, so that signals reach the whole tree it
/// starts; with a parent-death signal, so that a SIGKILLed procmux does not leave it running
/// (dropped at spawn time while a watchdog runs, which covers it); and without a shell when
/// the command needs none (see `coordinator::plain::direct_argv`).
pub fn command_for(spec: &InstanceSpec) -> Command {
    let program = match &spec.command {
        ProcessCommand::Shell { shell, command } => match direct_argv(shell, command) {
            Some(mut words) => Program::Exec {
                prog: words.remove(0).into(),
                args: words,
            },
            None => Program::Shell {
                shell: Shell::new(shell),
                command: command.clone(),
                args: Vec::new(),
            },
        },
        ProcessCommand::Exec { program, args } => Program::Exec {
            prog: program.into(),
            args: args.clone(),
        },
    };
    Command {
        program,
        options: SpawnOptions {
            grouped: true,
            parent_death_signal: Some(Signal::ForceStop),
            // What a leader that ends by itself leaves behind gets the instance's own stop.
            leftover_stop: Some(StopPolicy {
                signal: spec.stop_signal,
                grace: spec.stop_timeout,
            }),
            ..SpawnOptions::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::manifest::ProcessColor;
    use crate::mux::Color;

    #[test]
    fn every_manifest_colour_is_a_mux_colour() {
        for color in ProcessColor::ALL {
            assert!(
                Color::from_name(color.as_str()).is_some(),
                "{color:?} has no mux colour"
            );
        }
    }
}
