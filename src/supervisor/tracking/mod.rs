//! Tracking: how procmux finds every process a job started, however it forked, and reaps the
//! ones that outlive their parents.
//!
//! Detect once, when procmux starts, with [`Tracker::detect`], and say which tracking is in
//! force (the [`Display`](std::fmt::Display) of the tracker is that one line). Then start the
//! jobs that should use it with [`start_job_with`](super::job::start_job_with). Jobs started
//! with plain [`start_job`](super::job::start_job) track their process group only, as
//! `watchexec-supervisor` does.
//!
//! # The two kinds of tracking
//!
//! - **cgroup** (Linux, cgroup v2, where procmux may create a child of its own cgroup): every
//!   run of a grouped job gets a cgroup under `procmux-<pid>`, which its process joins before
//!   `exec`. Children that leave the process group (`setsid`, double fork,
//!   `bash -c 'set -m; cmd & wait'`) stay in the cgroup, so stops reach them and the job ends
//!   only when the cgroup is empty (read from `cgroup.events` with inotify, never polled).
//!   The cgroup is removed when the run ends, `procmux-<pid>` at [`Tracker::close`].
//! - **process group** (everywhere else): a grouped job owns its process group. On Linux,
//!   procmux becomes a child subreaper (`PR_SET_CHILD_SUBREAPER`), so processes that escape
//!   the group are reparented to procmux when their parent dies: the orphan reaper collects
//!   them, and [`Tracker::stop_orphans`] stops those still alive at shutdown.
//!
//! As PID 1 (in a container), orphans come to procmux whatever the tracking, and the same
//! reaper collects them.
//!
//! # Children that are not jobs
//!
//! While the orphan reaper runs ([`Tracker::reaps_orphans`]), it collects every child of
//! procmux that nobody registered as waited for. Jobs register their processes; anything else
//! procmux spawns and waits for itself (a watchdog process, a probe command) must be spawned
//! through [`spawn_known_child`] (and [`forget_child`] once waited for), or the reaper may
//! collect its exit first.
//!
//! # Test hook
//!
//! The environment variable `PROCMUX_TRACKING`, read by [`Tracker::detect`], forces a kind:
//! `group` makes procmux use process groups (and the subreaper) even where cgroups work, so
//! that the fallback can be exercised; `auto` (or unset) detects. Tests that need both in one
//! process use [`Tracker::detect_with`].

#[cfg(target_os = "linux")]
pub(crate) mod cgroup;
#[cfg(target_os = "linux")]
pub(crate) mod discovery;
#[cfg(target_os = "linux")]
mod events;
#[cfg(target_os = "linux")]
mod join;
#[cfg(target_os = "linux")]
pub(crate) mod procfs;
#[cfg(target_os = "linux")]
mod reaper;
pub(crate) mod registry;
#[cfg(target_os = "linux")]
mod removals;
#[cfg(target_os = "linux")]
mod sweep;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
#[cfg(target_os = "linux")]
use std::time::Duration;

pub use registry::{forget_child, spawn_known_child};
#[cfg(target_os = "linux")]
pub use sweep::SweepReport;

#[cfg(target_os = "linux")]
use super::Signal;

/// The environment variable read by [`Tracker::detect`]: `group` forces process-group
/// tracking; `auto` or unset detects.
pub const TRACKING_ENV: &str = "PROCMUX_TRACKING";

/// What [`Tracker::detect_with`] should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TrackingRequest {
    /// Use cgroups where they can be had, else process groups and (on Linux) the child
    /// subreaper: procmux's choice.
    #[default]
    Auto,
    /// Use process groups (and the subreaper on Linux) even where cgroups would work.
    ProcessGroup,
    /// Use cgroups where they can be had, else plain process groups, without becoming a
    /// subreaper: for a library user (or a test) that spawns children the orphan reaper must
    /// not touch. As PID 1 the reaper runs all the same.
    CgroupOnly,
}

/// The tracking in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tracking {
    /// One cgroup per run, under this `procmux-<pid>` directory.
    Cgroup {
        /// procmux's own cgroup directory.
        root: PathBuf,
    },
    /// Process groups (plus, on Linux, the child subreaper).
    ProcessGroup {
        /// Why cgroups are not used, for the tracking line.
        reason: String,
    },
}

/// The tracking procmux uses for its jobs: detected once, shared by every tracked job.
///
/// Its [`Display`](fmt::Display) is the one line that says which tracking is in force:
/// `processes tracked by cgroup (/sys/fs/cgroup/unified/procmux-1234)` or
/// `processes tracked by process group (cgroups not writable: <reason>)`.
pub struct Tracker {
    tracking: Tracking,
    #[cfg(target_os = "linux")]
    cgroups: Option<Arc<cgroup::CgroupRoot>>,
    #[cfg(target_os = "linux")]
    reaper: Option<reaper::ReaperHandle>,
    subreaper: bool,
}

impl fmt::Debug for Tracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracker")
            .field("tracking", &self.tracking)
            .field("subreaper", &self.subreaper)
            .field("reaps_orphans", &self.reaps_orphans())
            .finish()
    }
}

impl fmt::Display for Tracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tracking {
            Tracking::Cgroup { root } => {
                write!(f, "processes tracked by cgroup ({})", root.display())
            }
            Tracking::ProcessGroup { reason } => {
                write!(f, "processes tracked by process group ({reason})")
            }
        }
    }
}

impl Tracker {
    /// Detects the tracking to use, honouring [`TRACKING_ENV`]. Call once, at start, inside
    /// the tokio runtime that will run the jobs (the orphan reaper is a task on it).
    pub fn detect() -> Arc<Self> {
        let request = match std::env::var(TRACKING_ENV).as_deref() {
            Ok("group") => TrackingRequest::ProcessGroup,
            _ => TrackingRequest::Auto,
        };
        Self::detect_with(request)
    }

    /// Detects the tracking to use, as asked (ignoring the environment).
    pub fn detect_with(request: TrackingRequest) -> Arc<Self> {
        Arc::new(Self::detect_inner(request))
    }

    #[cfg(target_os = "linux")]
    fn detect_inner(request: TrackingRequest) -> Self {
        let pid = std::process::id();
        let is_pid1 = pid == 1;
        let cgroups = match request {
            TrackingRequest::ProcessGroup => Err(format!("{TRACKING_ENV}=group")),
            TrackingRequest::Auto | TrackingRequest::CgroupOnly => cgroup::create(pid)
                .map(Arc::new)
                .map_err(|reason| format!("cgroups not writable: {reason}")),
        };
        let may_subreap = request != TrackingRequest::CgroupOnly;
        let (tracking, cgroups, want_subreaper) = match cgroups {
            Ok(root) => (
                Tracking::Cgroup {
                    root: root.path().to_path_buf(),
                },
                Some(root),
                false,
            ),
            Err(reason) => (
                Tracking::ProcessGroup { reason },
                None,
                may_subreap && !is_pid1,
            ),
        };
        // Orphans only come to procmux as a subreaper or as PID 1, and then must be reaped;
        // without a runtime to reap on, do not ask for them.
        let reaper = if want_subreaper || is_pid1 {
            reaper::start()
        } else {
            None
        };
        let subreaper = want_subreaper
            && reaper.is_some()
            && nix::sys::prctl::set_child_subreaper(true)
                .map_err(|err| tracing::warn!(error = %err, "cannot become a child subreaper"))
                .is_ok();
        Self {
            tracking,
            cgroups,
            reaper,
            subreaper,
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn detect_inner(request: TrackingRequest) -> Self {
        let reason = match request {
            TrackingRequest::ProcessGroup => format!("{TRACKING_ENV}=group"),
            TrackingRequest::Auto | TrackingRequest::CgroupOnly => {
                "cgroups not writable: cgroups are Linux-only".to_owned()
            }
        };
        Self {
            tracking: Tracking::ProcessGroup { reason },
            subreaper: false,
        }
    }

    /// The tracking in force.
    pub fn tracking(&self) -> &Tracking {
        &self.tracking
    }

    /// procmux's cgroup directory (`procmux-<pid>`), under cgroup tracking.
    pub fn cgroup_root(&self) -> Option<&Path> {
        match &self.tracking {
            Tracking::Cgroup { root } => Some(root),
            Tracking::ProcessGroup { .. } => None,
        }
    }

    /// Whether procmux is a child subreaper (process-group tracking on Linux).
    pub fn is_subreaper(&self) -> bool {
        self.subreaper
    }

    /// Whether the orphan reaper runs (as a subreaper, or as PID 1): then every child of
    /// procmux that is not a job's must be spawned with [`spawn_known_child`].
    pub fn reaps_orphans(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.reaper.is_some();
        #[cfg(not(target_os = "linux"))]
        false
    }

    #[cfg(target_os = "linux")]
    pub(crate) fn cgroups(&self) -> Option<&Arc<cgroup::CgroupRoot>> {
        self.cgroups.as_ref()
    }

    /// Stops every child of procmux that no job owns: with process-group tracking, the
    /// processes that escaped their group and were reparented to procmux; as PID 1, every
    /// orphan. Each gets `signal` (to its group too when it leads one), then SIGCONT; those
    /// left at `grace` get SIGKILL. Call at shutdown, after the jobs have been stopped (their
    /// own processes are theirs to stop). Resolves once none is left (or, after SIGKILL,
    /// after a bounded wait).
    ///
    /// Under cgroup tracking (and not PID 1) nothing escapes its job's cgroup, so there is
    /// nothing to do.
    #[cfg(target_os = "linux")]
    pub async fn stop_orphans(&self, signal: Signal, grace: Duration) -> SweepReport {
        if !self.reaps_orphans() {
            return SweepReport::default();
        }
        sweep::stop_orphans(signal, grace).await
    }

    /// Kills whatever is left in procmux's cgroups and removes them (`procmux-<pid>` last).
    /// Also done on drop; idempotent. Stop the jobs first: the processes of a job still
    /// running are killed, and its later runs get no cgroup.
    pub fn close(&self) {
        #[cfg(target_os = "linux")]
        if let Some(root) = &self.cgroups {
            root.close();
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.close();
    }
}
