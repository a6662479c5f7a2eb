//! Spawning a run: the spawn hook, the run's cgroup, the spawn itself (by `CommandWrap`, a
//! spawn function or a spawn child function; or, when the hook declared a [`ChildSetup`], by
//! the vfork-style clone of `supervisor::vfork`, which puts the child in its cgroup without
//! std's fork) with the leader registered before the orphan reaper may look, then the spawned
//! hook.
//!
//! # Off the job task's thread
//!
//! A spawn blocks its thread until the child has called `exec` (std waits on a pipe to
//! report an `exec` failure), about 1 to 2 ms per spawn here, most of it the child's own
//! work. On a one-thread runtime (procmux's) that thread is the event loop, so the cgroup's
//! creation and the spawn run on tokio's blocking pool instead: the loop keeps handling
//! signals and output meanwhile, and two jobs starting at once spawn in parallel on a 2-core
//! machine.
//!
//! Except with a parent-death signal: the kernel sends it when the *thread* that spawned the
//! child exits, and the blocking pool's threads exit after 10 s idle, which would kill the
//! child. Such a command spawns on the job task's own thread, as before.
//!
//! The spawned child and its run are owned by a guard from the moment `spawn` returns: if
//! the job task goes away while the spawning thread works (a job deleted mid-start), the
//! result is dropped there and the guards kill what was started.

use std::io;
#[cfg(target_os = "linux")]
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use nix::unistd::Pid;
use process_wrap::tokio::{ChildWrapper, CommandWrap};

use super::{SpawnHook, SpawnWith, Task};
use crate::supervisor::command::Command;
use crate::supervisor::run::Run;
#[cfg(target_os = "linux")]
use crate::supervisor::setup::ChildSetup;
use crate::supervisor::state::{CommandState, RunInfo, SpawnGuard};
#[cfg(target_os = "linux")]
use crate::supervisor::tracking::cgroup::{CgroupRoot, RunCgroup};
use crate::supervisor::tracking::registry::registry;
#[cfg(target_os = "linux")]
use crate::supervisor::vfork;

/// Everything one spawn needs, moved to the thread that does it.
struct Spawn {
    wrap: CommandWrap,
    command: Arc<Command>,
    spawn_with: Option<SpawnWith>,
    /// Where the run's cgroup is made, under cgroup tracking.
    #[cfg(target_os = "linux")]
    cgroups: Option<Arc<CgroupRoot>>,
}

/// What a spawn gives back.
struct Spawned {
    /// The leader and its run, each guarded.
    outcome: io::Result<(SpawnGuard, Run)>,
    /// The run's cgroup could not be made: it runs tracked by its group only.
    cgroup_error: Option<io::Error>,
}

impl Task {
    /// Runs the spawn hook, spawns, runs the spawned hook, and makes the run current. A
    /// failed spawn goes to the error handler and leaves the state `Pending`.
    pub(super) async fn spawn(&mut self) {
        self.states.make_pending();
        self.states.run = None;
        let mut wrap = self.command.to_spawnable();
        match &self.hooks.spawn {
            None => {}
            Some(SpawnHook::Sync(hook)) => hook(&mut wrap, &self.states.context(&self.command)),
            Some(SpawnHook::Async(hook)) => {
                let future = hook(&mut wrap, &self.states.context(&self.command));
                Box::into_pin(future).await;
            }
        }
        let spawn = Spawn {
            wrap,
            command: Arc::clone(&self.command),
            spawn_with: self.hooks.spawn_with.clone(),
            #[cfg(target_os = "linux")]
            cgroups: self.tracker.as_ref().and_then(|t| t.cgroups()).cloned(),
        };
        let Spawned {
            outcome,
            cgroup_error,
        } = if self.command.options.parent_death_signal.is_some() {
            spawn.run()
        } else {
            match tokio::task::spawn_blocking(move || spawn.run()).await {
                Ok(spawned) => spawned,
                Err(error) => Spawned {
                    outcome: Err(io::Error::other(format!(
                        "the spawning thread failed: {error}"
                    ))),
                    cgroup_error: None,
                },
            }
        };
        if let Some(err) = cgroup_error {
            self.report(err).await;
        }
        let (mut guard, mut run) = match outcome {
            Ok(spawned) => spawned,
            Err(err) => return self.report(err).await,
        };
        let started = Instant::now();
        let pid = guard.child().id();
        let pgid = run.pgid();
        #[cfg(target_os = "linux")]
        if let Some(pgid) = pgid
            && self.command.options.grant_foreground
            && !self.command.options.session
        {
            run.foreground = crate::supervisor::foreground::Foreground::new(pgid);
            // The child may have paused before the SIGCHLD stream existed (its signal would
            // be lost): look once now, after the stream, so no pause goes unseen.
            if let Some(foreground) = &mut run.foreground {
                foreground.on_child_changed();
            }
        }
        self.states.run = Some(RunInfo {
            pid: pid.unwrap_or_default(),
            pgid: pgid.and_then(|pgid| u32::try_from(pgid.as_raw()).ok()),
            #[cfg(target_os = "linux")]
            cgroup: run_cgroup_path(&run),
            #[cfg(not(target_os = "linux"))]
            cgroup: None,
        });
        // Stored before the spawned hook runs: if it panics, the run's guard kills what the
        // run owns, and the spawn guard the leader.
        self.run = Some(run);
        if let Some(hook) = &self.hooks.spawned {
            let child: &mut dyn ChildWrapper = guard.child();
            hook(child, &self.states.context(&self.command));
        }
        self.states.current = CommandState::Running {
            child: guard.into_child(),
            started,
        };
        self.running.store(true, Ordering::SeqCst);
    }
}

impl Spawn {
    /// Makes the run's cgroup (a spawn child function's child cannot join one before `exec`:
    /// it is tracked by its group only), spawns, and registers the leader.
    fn run(self) -> Spawned {
        let Self {
            mut wrap,
            command,
            spawn_with,
            #[cfg(target_os = "linux")]
            cgroups,
        } = self;
        let owns_group = command.options.owns_group();
        // Made by a spawn child function: not the prepared command.
        let external = matches!(spawn_with, Some(SpawnWith::Child(_)));
        let mut cgroup_error = None;
        #[cfg(target_os = "linux")]
        let mut cgroup = None;
        #[cfg(target_os = "linux")]
        let vfork_setup = vfork_setup_for(&wrap, &command, spawn_with.is_some());
        #[cfg(target_os = "linux")]
        if owns_group
            && !external
            && let Some(root) = cgroups
        {
            match root.new_run() {
                Ok(run) => {
                    if vfork_setup.is_none() {
                        wrap.wrap(run.join());
                    }
                    cgroup = Some(run);
                }
                // Run without a cgroup (its group still tracks it) rather than not at all.
                Err(err) => cgroup_error = Some(err),
            }
        }
        let spawning = registry().spawning();
        #[cfg(target_os = "linux")]
        let by_vfork = vfork_setup.as_ref();
        #[cfg(not(target_os = "linux"))]
        let by_vfork: Option<()> = None;
        let spawned = match (&spawn_with, by_vfork) {
            #[cfg(target_os = "linux")]
            (None, Some(setup)) => {
                wrap.spawn_with_child(|_| spawn_by_vfork(&command, setup, cgroup.as_ref()))
            }
            (None, _) => wrap.spawn(),
            (Some(SpawnWith::Fn(spawn)), _) => wrap.spawn_with(|command| spawn(command)),
            (Some(SpawnWith::Child(spawn)), _) => wrap.spawn_with_child(|command| spawn(command)),
        };
        #[cfg(target_os = "linux")]
        if let Some(cgroup) = &mut cgroup {
            cgroup.spawned();
        }
        let outcome = spawned.map(|child| {
            let pid = child.id();
            if let Some(pid) = pid {
                spawning.register(pid);
            }
            drop(spawning);
            let pgid = pid
                .and_then(|pid| i32::try_from(pid).ok())
                .map(Pid::from_raw)
                .filter(|&pid| owns_group && (!external || leads_own_group(pid)));
            let run = Run::new(
                pid,
                pgid,
                #[cfg(target_os = "linux")]
                cgroup,
            );
            (SpawnGuard(Some(child)), run)
        });
        Spawned {
            outcome,
            cgroup_error,
        }
    }
}

/// The setup to spawn with by vfork (see `supervisor::vfork`), when the spawn hook declared
/// it, nothing else makes the child, the program is given by path and no parent-death signal
/// is asked for (its `pre_exec` must run on the job task's thread). With or without a
/// cgroup: the vfork spawn also saves copying and closing procmux's descriptors.
#[cfg(target_os = "linux")]
fn vfork_setup_for(
    wrap: &CommandWrap,
    command: &Command,
    spawn_function: bool,
) -> Option<ChildSetup> {
    if spawn_function || command.options.parent_death_signal.is_some() {
        return None;
    }
    let setup = wrap.get_wrap::<ChildSetup>()?;
    let (program, _) = command.program.argv();
    crate::supervisor::vfork::spawnable(&program).then(|| setup.clone())
}

/// Spawns the command by vfork, into the run's cgroup when there is one.
#[cfg(target_os = "linux")]
fn spawn_by_vfork(
    command: &Command,
    setup: &ChildSetup,
    cgroup: Option<&RunCgroup>,
) -> io::Result<Box<dyn ChildWrapper>> {
    use crate::supervisor::program::Args;
    let (program, args) = command.program.argv();
    let (Args::Quoted(args) | Args::Raw(args)) = args;
    let plan = vfork::Plan {
        program: &program,
        args: &args,
        arg0: setup.arg0.as_deref(),
        cwd: setup.cwd.as_deref(),
        env: &setup.env,
        stdin: setup.stdin.as_deref().map(AsFd::as_fd),
        session: command.options.session,
        grouped: command.options.owns_group(),
        reset_sigmask: command.options.reset_sigmask,
        cgroup_procs: cgroup.map(RunCgroup::procs),
        // For the child to be born in the cgroup (`clone3`), when it can be.
        cgroup_dir: cgroup.and_then(RunCgroup::dir),
    };
    Ok(Box::new(vfork::spawn(&plan)?))
}

/// Whether a child made by someone else leads its own process group (only then may the job
/// signal "its" group: the group of a child that does not lead one could be procmux's own).
fn leads_own_group(pid: Pid) -> bool {
    nix::unistd::getpgid(Some(pid)) == Ok(pid)
}

#[cfg(target_os = "linux")]
fn run_cgroup_path(run: &Run) -> Option<std::path::PathBuf> {
    run.cgroup_path().map(std::path::Path::to_path_buf)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::supervisor::Signal;
    use crate::supervisor::command::{Program, SpawnOptions};

    fn command(prog: &str, options: SpawnOptions) -> Command {
        Command {
            program: Program::Exec {
                prog: prog.into(),
                args: Vec::new(),
            },
            options,
        }
    }

    fn declared(command: &Command) -> CommandWrap {
        let mut wrap = command.to_spawnable();
        wrap.wrap(ChildSetup::default());
        wrap
    }

    #[test]
    fn a_declared_setup_and_a_program_by_path_spawn_by_vfork() {
        let grouped = SpawnOptions {
            grouped: true,
            ..SpawnOptions::default()
        };
        let by_path = command("/bin/sleep", grouped);
        assert!(vfork_setup_for(&declared(&by_path), &by_path, false).is_some());
        // Not declared: the hook may have set anything on the command.
        assert!(vfork_setup_for(&by_path.to_spawnable(), &by_path, false).is_none());
        // A spawn function makes the child itself.
        assert!(vfork_setup_for(&declared(&by_path), &by_path, true).is_none());
        // A bare name is looked up in PATH by std's execvp.
        let by_name = command("sleep", grouped);
        assert!(vfork_setup_for(&declared(&by_name), &by_name, false).is_none());
        // The parent-death signal is set by std's pre_exec, on the job task's thread.
        let with_pdeathsig = command(
            "/bin/sleep",
            SpawnOptions {
                parent_death_signal: Some(Signal::ForceStop),
                ..grouped
            },
        );
        assert!(vfork_setup_for(&declared(&with_pdeathsig), &with_pdeathsig, false).is_none());
    }
}
