//! Orphans under the subreaper, one test at a time (each looks at every orphan of the
//! process): they are reaped as they die, the sweep stops those still alive, a group that
//! still holds an orphan ends once the reaper collected it, and the reaper never takes an
//! exit that tokio waits for.

use std::num::NonZeroI64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use procmux::supervisor::job::{CommandState, start_job_with};
use procmux::supervisor::tracking::Tracker;
use procmux::supervisor::{ProcessEnd, Signal};

use super::payload::fallback_mode;
use crate::harness::*;
use crate::support::*;

fn tracker_of(mode: &Mode) -> Arc<Tracker> {
    match mode {
        Mode::Tracked(tracker) | Mode::Declared(tracker) => Arc::clone(tracker),
        Mode::Plain => panic!("the fallback mode is tracked"),
    }
}

/// The zombie children of this process (orphans nobody reaped would pile up here).
fn zombie_children() -> Vec<i32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let fields: Vec<&str> = stat
                .rfind(')')
                .map(|end| stat[end + 1..].split_whitespace().collect())
                .unwrap_or_default();
            fields.first() == Some(&"Z") && fields.get(1) == Some(&me.as_str())
        })
        .collect()
}

#[tokio::test]
#[ignore = "runs in the fallback payload process"]
async fn orphans_are_reparented_and_reaped() {
    let Some(mode) = fallback_mode() else { return };
    let line = r#"for i in 1 2 3 4 5 6 7 8; do (setsid sleep 0.05 &); (sleep 0.05 &); done; echo ready; exec sleep 1000"#;
    let h = Harness::new(line, grouped(), &mode).await;
    h.start_ready().await;
    assert!(
        eventually(|| h.survivors().len() == 1).await,
        "orphans still alive: {:?}",
        describe(&h.survivors())
    );
    assert!(
        eventually(|| zombie_children().is_empty()).await,
        "zombies: {:?}",
        zombie_children()
    );
    within("stop", h.job.stop()).await;
    h.assert_no_survivors().await;
}

#[tokio::test]
#[ignore = "runs in the fallback payload process"]
async fn the_sweep_stops_escaped_orphans_at_shutdown() {
    let Some(mode) = fallback_mode() else { return };
    let tracker = tracker_of(&mode);
    // Escapes the group, so its job ends without it; it is then procmux's orphan.
    let line = r#"setsid sleep 1000 & echo $! > "$SCRATCH/polite"; setsid sh -c 'trap "" TERM; echo $$ > "$SCRATCH/stubborn"; exec sleep 1000' & until [ -s "$SCRATCH/stubborn" ]; do sleep 0.01; done; echo ready"#;
    let h = Harness::new(line, grouped(), &mode).await;
    h.start_ready().await;
    within("to_wait", h.job.to_wait()).await;
    // Process groups cannot see these escapes: the job ended without them.
    let ends = h.ends_with_escapes();
    assert_eq!(ends.len(), 1, "{:?}", h.happened());
    assert_eq!(ends[0].1.len(), 2, "{:?}", h.happened());
    let pids = Pids::default();
    let polite = h.scratch.read_pids("polite", 1, &pids).await[0];
    let stubborn = h.scratch.read_pids("stubborn", 1, &pids).await[0];
    assert!(
        alive(polite) && alive(stubborn),
        "the escapes did not escape"
    );
    let grace = Duration::from_millis(700);
    let began = std::time::Instant::now();
    let report = within("sweep", tracker.stop_orphans(Signal::Terminate, grace)).await;
    assert!(
        began.elapsed() >= grace,
        "the stubborn one was not given its grace"
    );
    let (polite, stubborn) = (polite as u32, stubborn as u32);
    assert!(report.signalled.contains(&polite), "{report:?}");
    assert!(report.signalled.contains(&stubborn), "{report:?}");
    assert!(report.killed.contains(&stubborn), "{report:?}");
    assert!(!report.killed.contains(&polite), "{report:?}");
    assert!(report.survivors.is_empty(), "{report:?}");
    h.assert_no_survivors().await;
    assert!(eventually(|| zombie_children().is_empty()).await);
}

/// Many short-lived jobs while orphans keep dying around them: every exit status reaches its
/// job (the reaper never collects a leader), and no zombie is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs in the fallback payload process"]
async fn the_reaper_never_steals_a_leaders_exit() {
    let Some(mode) = fallback_mode() else { return };
    let tracker = tracker_of(&mode);
    let churn = Harness::new(
        r#"echo ready; while :; do (sleep 0.01 &); (setsid true &); sleep 0.005; done"#,
        grouped(),
        &mode,
    )
    .await;
    churn.start_ready().await;
    let three = ProcessEnd::ExitError(NonZeroI64::new(3).unwrap());
    let mut tasks = Vec::new();
    for round in 0..8 {
        let tracker = Arc::clone(&tracker);
        tasks.push(tokio::spawn(async move {
            let options = if round % 2 == 0 {
                grouped()
            } else {
                Default::default()
            };
            let (job, _task) = start_job_with(shell("exit 3", options), tracker);
            let ends = Arc::new(Mutex::new(Vec::new()));
            let errors = Arc::new(Mutex::new(Vec::new()));
            let (log, err_log) = (Arc::clone(&ends), Arc::clone(&errors));
            job.set_exit_hook(move |ctx| {
                if let CommandState::Finished { status, .. } = ctx.current {
                    log.lock().unwrap().push(*status);
                }
            });
            job.set_error_handler(move |err| {
                err_log
                    .lock()
                    .unwrap()
                    .push(err.get().map(ToString::to_string));
            });
            for _ in 0..25 {
                within("start", job.start()).await;
                within("to_wait", job.to_wait()).await;
            }
            within("delete", job.delete()).await;
            (ends.lock().unwrap().clone(), errors.lock().unwrap().clone())
        }));
    }
    for task in tasks {
        let (ends, errors) = task.await.unwrap();
        assert!(errors.is_empty(), "errors: {errors:?}");
        assert_eq!(ends.len(), 25);
        assert!(ends.iter().all(|end| *end == three), "{ends:?}");
    }
    within("stop", churn.job.stop()).await;
    churn.assert_no_survivors().await;
    assert!(
        eventually(|| zombie_children().is_empty()).await,
        "zombies: {:?}",
        zombie_children()
    );
}
