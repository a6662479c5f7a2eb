//! Graceful stops and restarts with real signals and deadlines (theory of operation items 2,
//! 5 and 6).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use procmux::supervisor::Signal;
use procmux::supervisor::job::{CommandState, Job, start_job};

use crate::support::*;

/// Records "spawn <pid>" and "exit <status>" in order.
async fn record_events(job: &Job, pids: &Pids) -> Arc<Mutex<Vec<String>>> {
    let events = Arc::new(Mutex::new(Vec::new()));
    let (log, pids) = (Arc::clone(&events), pids.clone());
    job.set_spawned_hook(move |child, ctx| {
        assert!(
            ctx.current.is_pending(),
            "spawned hook saw {:?}",
            ctx.current
        );
        let pid = i32::try_from(child.id().unwrap()).unwrap();
        pids.add(pid);
        log.lock().unwrap().push(format!("spawn {pid}"));
    })
    .await;
    let log = Arc::clone(&events);
    job.set_exit_hook(move |ctx| {
        let CommandState::Finished { status, .. } = ctx.current else {
            panic!("exit hook saw {:?}", ctx.current);
        };
        log.lock().unwrap().push(format!("exit {status:?}"));
    })
    .await;
    events
}

/// Item 5: the ticket resolves as soon as the process ends, long before the grace period.
#[tokio::test]
async fn graceful_stop_resolves_when_the_process_ends() {
    let pids = Pids::default();
    let (job, _task) = start_job(exec("sleep", &["1000"], grouped()));
    let _spawns = record_spawns(&job, &pids).await;
    within("start", job.start()).await;
    let started = Instant::now();
    within(
        "graceful stop",
        job.stop_with_signal(Signal::Terminate, Duration::from_secs(600)),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(state_of(&job).await, killed_by(Signal::Terminate));
    pids.assert_all_gone().await;
}

/// Item 5: a process that ignores the signal is killed (the whole group) at the deadline,
/// and the ticket resolves once it is reaped.
#[tokio::test]
async fn graceful_stop_kills_at_the_deadline() {
    let pids = Pids::default();
    let scratch = Scratch::new();
    let (job, _task) = stubborn_job(&scratch);
    start_ready(&job, &scratch, &pids).await;
    let grace = Duration::from_millis(300);
    let started = Instant::now();
    within(
        "graceful stop",
        job.stop_with_signal(Signal::Terminate, grace),
    )
    .await;
    assert!(started.elapsed() >= grace, "killed before the deadline");
    assert!(!job.is_running());
    assert_eq!(state_of(&job).await, killed_by(Signal::ForceStop));
    pids.assert_all_gone().await;
}

/// Item 2: while a graceful stop is pending, Normal controls wait for it.
#[tokio::test]
async fn normal_controls_wait_for_a_pending_graceful_stop() {
    let pids = Pids::default();
    let scratch = Scratch::new();
    let (job, _task) = stubborn_job(&scratch);
    start_ready(&job, &scratch, &pids).await;
    let _stop = job.stop_with_signal(Signal::Terminate, Duration::from_millis(300));
    // Sent while the stop is pending: runs after it, so it sees the kill.
    assert_eq!(state_of(&job).await, killed_by(Signal::ForceStop));
    pids.assert_all_gone().await;
}

/// Item 6: `restart_with_signal` starts the new process only after the old one ended (here:
/// was killed at the deadline).
#[tokio::test]
async fn graceful_restart_waits_for_the_old_process() {
    let pids = Pids::default();
    let scratch = Scratch::new();
    let (job, _task) = stubborn_job(&scratch);
    let events = record_events(&job, &pids).await;
    start_ready(&job, &scratch, &pids).await;
    within(
        "restart",
        job.restart_with_signal(Signal::Terminate, Duration::from_millis(300)),
    )
    .await;
    let events = events.lock().unwrap().clone();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events[0].starts_with("spawn "));
    assert_eq!(events[1], "exit ExitSignal(ForceStop)");
    assert!(events[2].starts_with("spawn ") && events[2] != events[0]);
    assert!(job.is_running());
    within("delete", job.delete()).await;
    pids.assert_all_gone().await;
}

/// Better than upstream: `try_restart_with_signal` past its grace spawns exactly one new
/// process, and the old one is gone.
#[tokio::test]
async fn try_graceful_restart_past_grace_spawns_exactly_once() {
    let pids = Pids::default();
    let scratch = Scratch::new();
    let (job, _task) = stubborn_job(&scratch);
    let spawns = record_spawns(&job, &pids).await;
    start_ready(&job, &scratch, &pids).await;
    within(
        "try restart",
        job.try_restart_with_signal(Signal::Terminate, Duration::from_millis(300)),
    )
    .await;
    // Anything the task would still do for that restart happens before it runs this.
    let state = state_of(&job).await;
    let spawns = spawns.lock().unwrap().clone();
    assert_eq!(spawns.len(), 2, "spawns: {spawns:?}");
    assert_eq!(state, Snapshot::Running(spawns[1]));
    assert!(eventually(|| !alive(spawns[0])).await);
    within("delete", job.delete()).await;
    pids.assert_all_gone().await;
}

/// `try_restart_with_signal` whose process ends in time restarts once too.
#[tokio::test]
async fn try_graceful_restart_in_time_spawns_exactly_once() {
    let pids = Pids::default();
    let (job, _task) = start_job(exec("sleep", &["1000"], grouped()));
    let events = record_events(&job, &pids).await;
    within("start", job.start()).await;
    within(
        "try restart",
        job.try_restart_with_signal(Signal::Terminate, Duration::from_secs(600)),
    )
    .await;
    let _ = state_of(&job).await;
    let events = events.lock().unwrap().clone();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[1], "exit ExitSignal(Terminate)");
    within("delete", job.delete()).await;
    pids.assert_all_gone().await;
}

/// `stop` is immediate: SIGKILL, not the graceful signal.
#[tokio::test]
async fn stop_kills_at_once() {
    let pids = Pids::default();
    let scratch = Scratch::new();
    let (job, _task) = stubborn_job(&scratch);
    start_ready(&job, &scratch, &pids).await;
    within("stop", job.stop()).await;
    assert_eq!(state_of(&job).await, killed_by(Signal::ForceStop));
    pids.assert_all_gone().await;
}
