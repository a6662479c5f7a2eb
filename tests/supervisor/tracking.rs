//! Cgroup tracking against the real kernel: escapes from the process group (`setsid`,
//! double fork, `set -m`, `nohup`) are still the job's and leave nothing after a stop; each
//! run's cgroup is known to the spawned hook and removed when the run ends; procmux's own
//! cgroup is removed at close; and the tracking line says which tracking is in force.
//! Plus bad values: no duration can make a job task panic.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use procmux::supervisor::Signal;
use procmux::supervisor::command::{SpawnOptions, StopPolicy};
use procmux::supervisor::job::start_job;
use procmux::supervisor::tracking::{Tracker, Tracking, TrackingRequest};

use crate::harness::*;
use crate::ownership::{cgroup_mode, cgroup_modes};
use crate::support::*;

/// The lines that escape the process group in each of the usual ways, each writing the pid
/// of its escapee to `$SCRATCH/esc`, then `ready`, with the leader still running.
const ESCAPES: &[(&str, &str)] = &[
    (
        "setsid",
        r#"setsid sleep 1000 & echo $! > "$SCRATCH/esc"; echo ready; exec sleep 1000"#,
    ),
    (
        "double fork",
        r#"(setsid sleep 1000 & echo $! > "$SCRATCH/esc") ; echo ready; exec sleep 1000"#,
    ),
    (
        "bash set -m",
        r#"bash -c 'set -m; sleep 1000 & echo $! > "$SCRATCH/esc"; wait' & until [ -s "$SCRATCH/esc" ]; do sleep 0.01; done; echo ready; wait"#,
    ),
    (
        "nohup",
        r#"nohup sleep 1000 > /dev/null 2>&1 & echo $! > "$SCRATCH/esc"; echo ready; exec sleep 1000"#,
    ),
    (
        "nohup setsid",
        r#"nohup setsid sleep 1000 > /dev/null 2>&1 & echo $! > "$SCRATCH/esc"; echo ready; exec sleep 1000"#,
    ),
];

fn tracked(mode: &Mode) -> &std::sync::Arc<Tracker> {
    match mode {
        Mode::Tracked(tracker) | Mode::Declared(tracker) => tracker,
        Mode::Plain => panic!("a tracked mode"),
    }
}

#[tokio::test]
async fn escapes_leave_nothing_after_a_graceful_stop() {
    for mode in cgroup_modes() {
        for (name, line) in ESCAPES {
            let h = Harness::new(line, grouped(), &mode).await;
            h.start_ready().await;
            let pids = Pids::default();
            let escapee = h.scratch.read_pids("esc", 1, &pids).await[0];
            assert!(alive(escapee), "{name}: no escapee");
            let began = Instant::now();
            within("stop", h.job.stop_with_signal(Signal::Terminate, LONG)).await;
            assert!(began.elapsed() < LONG / 4, "{name}: waited for the grace");
            assert!(!alive(escapee), "{name}: the escapee survived");
            h.assert_no_survivors().await;
            // Removed off the job's thread, soon after the end.
            let cgroup = h.runs()[0].cgroup.clone().expect("a cgroup");
            assert!(
                eventually(|| !cgroup.exists()).await,
                "{name}: {} left",
                cgroup.display()
            );
        }
    }
}

/// The kill reaches escapes too, and ones that ignore the stop signal die at the grace.
#[tokio::test]
async fn stubborn_escapes_are_killed_at_the_grace_and_by_stop() {
    for mode in cgroup_modes() {
        let line = r#"setsid sh -c 'trap "" TERM; echo $$ > "$SCRATCH/esc"; exec sleep 1000' & until [ -s "$SCRATCH/esc" ]; do sleep 0.01; done; echo ready; exec sleep 1000"#;
        let h = Harness::new(line, grouped(), &mode).await;
        h.start_ready().await;
        let grace = Duration::from_millis(800);
        let began = Instant::now();
        within("stop", h.job.stop_with_signal(Signal::Terminate, grace)).await;
        assert!(began.elapsed() >= grace);
        h.assert_no_survivors().await;

        within("start", h.job.start()).await;
        h.line_at("ready").await;
        assert!(eventually(|| h.survivors().len() >= 2).await);
        within("stop", h.job.stop()).await;
        h.assert_no_survivors().await;
    }
}

/// A leader that exits leaving an escapee behind: the escapee is a leftover like any other.
#[tokio::test]
async fn escapes_of_a_leader_that_exited_are_leftovers() {
    for mode in cgroup_modes() {
        let line = r#"setsid sleep 1000 & echo ready; exit 0"#;
        let h = Harness::new(line, grouped(), &mode).await;
        h.start_ready().await;
        within("to_wait", h.job.to_wait()).await;
        let news = h.leftovers();
        assert_eq!(news.len(), 1);
        assert_eq!(news[0].count, 1);
        assert_eq!(h.ends().len(), 1);
        h.assert_no_survivors().await;
    }
}

/// The leader is in its run's cgroup from its start, whichever way it was spawned.
#[tokio::test]
async fn the_leader_starts_in_its_runs_cgroup() {
    for mode in cgroup_modes() {
        let h = Harness::new(
            r#"echo "in $(cut -d: -f3 /proc/$$/cgroup)"; echo ready; exec sleep 1000"#,
            grouped(),
            &mode,
        )
        .await;
        h.start_ready().await;
        let cgroup = h.runs()[0].cgroup.clone().expect("a cgroup");
        let line = h
            .lines()
            .into_iter()
            .find(|line| line.starts_with("in "))
            .expect("the cgroup line comes before ready");
        assert!(
            cgroup.ends_with(line.trim_start_matches("in /")),
            "{line} is not {}",
            cgroup.display()
        );
        within("stop", h.job.stop()).await;
        h.assert_no_survivors().await;
    }
}

/// The spawned hook learns each run's pid, group and cgroup; the cgroup exists while the run
/// does and is removed with it; procmux's own cgroup goes at close.
#[tokio::test]
async fn runs_are_known_and_their_cgroups_removed() {
    let Some(mode) = cgroup_mode() else { return };
    let tracker = tracked(&mode).clone();
    let root = tracker
        .cgroup_root()
        .expect("cgroup tracking")
        .to_path_buf();
    assert!(root.is_dir());
    assert!(
        root.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&format!("procmux-{}", std::process::id()))),
        "{}",
        root.display()
    );
    let h = Harness::new("echo ready; exec sleep 1000", grouped(), &mode).await;
    h.start_ready().await;
    within("restart", h.job.restart()).await;
    assert!(eventually(|| h.runs().len() == 2).await);
    let runs = h.runs();
    for run in &runs {
        assert_eq!(run.pgid, Some(run.pid));
        assert!(run.cgroup.as_ref().is_some_and(|c| c.starts_with(&root)));
    }
    assert_ne!(runs[0].cgroup, runs[1].cgroup);
    // Removed off the job's thread, soon after the end.
    let ended = runs[0].cgroup.clone().unwrap();
    assert!(
        eventually(|| !ended.exists()).await,
        "ended run's cgroup left"
    );
    let live: PathBuf = runs[1].cgroup.clone().unwrap();
    let procs = std::fs::read_to_string(live.join("cgroup.procs")).unwrap();
    assert!(procs.lines().any(|l| l == runs[1].pid.to_string()));
    within("delete", h.job.delete()).await;
    let mut h = h;
    within("task", &mut h.task).await.unwrap();
    assert!(eventually(|| !live.exists()).await);
    drop(h);
    drop(mode);
    tracker.close();
    assert!(!root.exists(), "{} left after close", root.display());
}

/// An ungrouped job gets no cgroup, and a job started without a tracker neither.
#[tokio::test]
async fn only_tracked_grouped_jobs_get_cgroups() {
    let Some(mode) = cgroup_mode() else { return };
    let ungrouped = Harness::new(
        "echo ready; exec sleep 1000",
        SpawnOptions::default(),
        &mode,
    )
    .await;
    ungrouped.start_ready().await;
    let plain = Harness::new("echo ready; exec sleep 1000", grouped(), &Mode::Plain).await;
    plain.start_ready().await;
    assert_eq!(ungrouped.runs()[0].cgroup, None);
    assert_eq!(ungrouped.runs()[0].pgid, None);
    assert_eq!(plain.runs()[0].cgroup, None);
    assert_eq!(plain.runs()[0].pgid, Some(plain.runs()[0].pid));
    within("stop", ungrouped.job.stop()).await;
    within("stop", plain.job.stop()).await;
}

#[tokio::test]
async fn the_tracking_line_says_which_tracking_is_in_force() {
    let tracker = Tracker::detect_with(TrackingRequest::CgroupOnly);
    let line = tracker.to_string();
    match tracker.tracking() {
        Tracking::Cgroup { root } => {
            assert_eq!(
                line,
                format!("processes tracked by cgroup ({})", root.display())
            );
            assert!(!tracker.is_subreaper() && !tracker.reaps_orphans());
        }
        Tracking::ProcessGroup { reason } => {
            assert_eq!(
                line,
                format!("processes tracked by process group ({reason})")
            );
            assert!(reason.starts_with("cgroups not writable: "), "{reason}");
        }
    }
}

/// Durations too long to add to a clock: never a panic, "no deadline" instead.
#[tokio::test]
async fn durations_too_long_to_represent_mean_no_deadline() {
    let years = Duration::from_secs(500_000_000_000 * 365 * 24 * 3600);
    for grace in [Duration::MAX, years] {
        for mode in [Some(Mode::Plain), cgroup_mode()].into_iter().flatten() {
            let line = r#"trap "" TERM; echo ready; while :; do sleep 0.1; done"#;
            let options = SpawnOptions {
                leftover_stop: Some(StopPolicy {
                    signal: Signal::Terminate,
                    grace,
                }),
                ..grouped()
            };
            let h = Harness::new(line, options, &mode).await;
            h.start_ready().await;
            let stop = h.job.stop_with_signal(Signal::Terminate, grace);
            let pending = tokio::time::timeout(Duration::from_millis(300), stop.clone()).await;
            assert!(pending.is_err(), "a stop with no deadline ended");
            assert!(h.job.is_running());
            within("delete_now", h.job.delete_now()).await;
            within("stop ticket", stop).await;
            h.assert_no_survivors().await;
            assert!(h.errors().is_empty(), "{:?}", h.errors());

            // The leftovers' stop timeout too.
            let line = r#"(trap "" TERM; touch "$SCRATCH/up"; exec sleep 1000) & until [ -e "$SCRATCH/up" ]; do sleep 0.01; done; echo ready"#;
            let h2 = Harness::new(line, options, &mode).await;
            h2.start_ready().await;
            assert!(eventually(|| !h2.leftovers().is_empty()).await);
            let waiting = tokio::time::timeout(Duration::from_millis(300), h2.job.to_wait()).await;
            assert!(waiting.is_err(), "leftovers with no deadline were killed");
            within("stop", h2.job.stop()).await;
            h2.assert_no_survivors().await;
            assert!(h.job.is_dead());
            let mut h = h;
            within("task", &mut h.task)
                .await
                .expect("the task did not panic");
        }
    }
    // A graceful restart with such a grace works as usual when the process cooperates.
    let (job, task) = start_job(exec("sleep", &["1000"], grouped()));
    within("start", job.start()).await;
    within(
        "restart",
        job.restart_with_signal(Signal::Terminate, Duration::MAX),
    )
    .await;
    assert!(job.is_running());
    within("delete", job.delete()).await;
    within("task", task).await.expect("the task did not panic");
}

/// A run that cannot get its cgroup (here: a cgroup of that name is in the way) still runs,
/// tracked by its process group, and the error handler hears why.
#[tokio::test]
async fn a_run_without_its_cgroup_runs_by_its_group() {
    let Some(mode) = cgroup_mode() else { return };
    let in_the_way = tracked(&mode).cgroup_root().unwrap().join("run-1");
    std::fs::create_dir(&in_the_way).unwrap();
    let h = Harness::new("echo ready; exec sleep 1000", grouped(), &mode).await;
    h.start_ready().await;
    let run = h.runs()[0].clone();
    assert_eq!(run.cgroup, None);
    assert_eq!(run.pgid, Some(run.pid));
    assert_eq!(h.errors().len(), 1, "{:?}", h.errors());
    within("stop", h.job.stop_with_signal(Signal::Terminate, LONG)).await;
    h.assert_no_survivors().await;
    std::fs::remove_dir(&in_the_way).unwrap();
}

/// Whether an inotify instance of this process watches the file with inode `inode`.
fn inotify_watches(inode: u64) -> bool {
    std::fs::read_dir("/proc/self/fdinfo")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .any(|info| {
            info.lines().any(|line| {
                line.starts_with("inotify wd:")
                    && line.split_whitespace().any(|f| {
                        f.strip_prefix("ino:")
                            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
                            == Some(inode)
                    })
            })
        })
}

/// The end of a cgroup is learnt from inotify on its `cgroup.events`, not by polling: once
/// the leader has exited and leftovers keep the cgroup populated, an inotify instance of this
/// process watches that very file, and the job ends as soon as the leftovers die. While the
/// leader runs there is no watch yet (most runs end with their leader, their cgroup empty).
#[tokio::test]
async fn cgroup_events_are_watched_with_inotify_once_leftovers_are_waited_for() {
    use std::os::unix::fs::MetadataExt;
    let Some(mode) = cgroup_mode() else { return };
    let line = r#"(trap "" TERM; touch "$SCRATCH/trapped"; exec sleep 1000) & echo $! > "$SCRATCH/left"; until [ -e "$SCRATCH/trapped" ]; do sleep 0.01; done; echo ready; until [ -e "$SCRATCH/go" ]; do sleep 0.01; done; exit 0"#;
    let options = SpawnOptions {
        leftover_stop: Some(StopPolicy {
            signal: Signal::Terminate,
            grace: LONG,
        }),
        ..grouped()
    };
    let h = Harness::new(line, options, &mode).await;
    h.start_ready().await;
    let pids = Pids::default();
    let left = h.scratch.read_pids("left", 1, &pids).await[0];
    let cgroup = h.runs()[0].cgroup.clone().unwrap();
    let inode = std::fs::metadata(cgroup.join("cgroup.events"))
        .unwrap()
        .ino();
    assert!(!inotify_watches(inode), "watched while the leader runs");
    std::fs::write(h.scratch.path("go"), "").unwrap();
    assert!(eventually(|| !h.leftovers().is_empty()).await);
    assert!(
        eventually(|| inotify_watches(inode)).await,
        "no inotify watch on {}",
        cgroup.display()
    );
    let killed = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(left), nix::sys::signal::SIGKILL).unwrap();
    within("to_wait", h.job.to_wait()).await;
    assert!(
        killed.elapsed() < Duration::from_secs(5),
        "the end of the leftovers took {:?} to be seen",
        killed.elapsed()
    );
    h.assert_no_survivors().await;
}
