//! Spawning a run: the spawn hook, the run's cgroup, the spawn itself (by `CommandWrap`, a
//! spawn function or a spawn child function) with the leader registered before the orphan
//! reaper may look, then the spawned hook.

use std::sync::atomic::Ordering;
use std::time::Instant;

use nix::unistd::Pid;
use process_wrap::tokio::ChildWrapper;

use super::{SpawnHook, SpawnWith, Task};
use crate::supervisor::run::Run;
use crate::supervisor::state::{CommandState, RunInfo, SpawnGuard};
use crate::supervisor::tracking::registry::registry;

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
        let owns_group = self.command.options.owns_group();
        // A child made by a spawn child function does not run the prepared command, so it
        // cannot join a cgroup before `exec`: it is tracked by its group only.
        let external = matches!(self.hooks.spawn_with, Some(SpawnWith::Child(_)));
        #[cfg(target_os = "linux")]
        let mut cgroup = None;
        #[cfg(target_os = "linux")]
        if owns_group
            && !external
            && let Some(root) = self.tracker.as_ref().and_then(|t| t.cgroups())
        {
            match root.new_run() {
                Ok(run) => {
                    if let Some(join) = run.join() {
                        wrap.wrap(join);
                    }
                    cgroup = Some(run);
                }
                // Run without a cgroup (its group still tracks it) rather than not at all.
                Err(err) => self.report(err).await,
            }
        }
        let spawning = registry().spawning();
        let spawned = match &self.hooks.spawn_with {
            None => wrap.spawn(),
            Some(SpawnWith::Fn(spawn)) => wrap.spawn_with(|command| spawn(command)),
            Some(SpawnWith::Child(spawn)) => wrap.spawn_with_child(|command| spawn(command)),
        };
        let child = match spawned {
            Ok(child) => child,
            Err(err) => {
                drop(spawning);
                return self.report(err).await;
            }
        };
        let pid = child.id();
        if let Some(pid) = pid {
            spawning.register(pid);
        }
        drop(spawning);
        #[cfg(target_os = "linux")]
        if let Some(cgroup) = &mut cgroup {
            cgroup.spawned();
        }
        let started = Instant::now();
        let mut guard = SpawnGuard(Some(child));
        let pgid = pid
            .and_then(|pid| i32::try_from(pid).ok())
            .map(Pid::from_raw)
            .filter(|&pid| owns_group && (!external || leads_own_group(pid)));
        let mut run = Run::new(
            pid,
            pgid,
            #[cfg(target_os = "linux")]
            cgroup,
        );
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

/// Whether a child made by someone else leads its own process group (only then may the job
/// signal "its" group: the group of a child that does not lead one could be procmux's own).
fn leads_own_group(pid: Pid) -> bool {
    nix::unistd::getpgid(Some(pid)) == Ok(pid)
}

#[cfg(target_os = "linux")]
fn run_cgroup_path(run: &Run) -> Option<std::path::PathBuf> {
    run.cgroup_path().map(std::path::Path::to_path_buf)
}
