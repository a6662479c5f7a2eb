//! Starting, ordering, tickets, idempotence, restarts, `is_running` and deletion (theory of
//! operation items 1, 3, 4, 6 and 8).

use std::num::NonZeroI64;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use procmux::supervisor::command::SpawnOptions;
use procmux::supervisor::job::{JobTaskContext, start_job};
use procmux::supervisor::{ProcessEnd, Signal};

use crate::support::*;

/// Item 1: the loop sees the child's own exit, with its status.
#[tokio::test]
async fn natural_exit_is_observed_with_its_status() {
    let (job, task) = start_job(shell("exit 3", grouped()));
    within("start", job.start()).await;
    within("to_wait", job.to_wait()).await;
    let three = ProcessEnd::ExitError(NonZeroI64::new(3).unwrap());
    assert!(eventually(|| !job.is_running()).await);
    assert_eq!(state_of(&job).await, Snapshot::Finished(three));
    assert_eq!(three.exit_code(), 3);
    within("delete", job.delete()).await;
    within("task", task).await.unwrap();
}

/// Better than upstream: `to_wait` on a job that never started resolves.
#[tokio::test]
async fn to_wait_on_a_never_started_job_resolves() {
    let (job, _task) = start_job(exec("sleep", &["1000"], grouped()));
    within("to_wait", job.to_wait()).await;
    assert_eq!(state_of(&job).await, Snapshot::Pending);
}

/// Item 3: controls run in order; a ticket resolves after its control ran; the status shows
/// the signal landed before the stop.
#[tokio::test]
async fn controls_run_in_order() {
    let pids = Pids::default();
    let (job, _task) = start_job(exec("sleep", &["1000"], grouped()));
    let spawns = record_spawns(&job, &pids).await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let entry = |text: &'static str| {
        let log = Arc::clone(&log);
        move |_: &JobTaskContext<'_>| log.lock().unwrap().push(text)
    };
    job.run(entry("before start"));
    job.start();
    job.run(entry("after start"));
    job.signal(Signal::User1);
    within("stop", job.stop()).await;
    assert_eq!(*log.lock().unwrap(), ["before start", "after start"]);
    assert_eq!(spawns.lock().unwrap().len(), 1);
    // SIGUSR1's default action ends `sleep`; it was sent before the SIGKILL of the stop.
    assert_eq!(state_of(&job).await, killed_by(Signal::User1));
    pids.assert_all_gone().await;
}

/// Item 3: dropping a ticket does not cancel its control.
#[tokio::test]
async fn dropped_tickets_still_run() {
    let pids = Pids::default();
    let (job, _task) = start_job(exec("sleep", &["1000"], grouped()));
    let spawns = record_spawns(&job, &pids).await;
    drop(job.start());
    assert!(eventually(|| spawns.lock().unwrap().len() == 1).await);
    drop(job.stop());
    pids.assert_all_gone().await;
    within("to_wait", job.to_wait()).await;
    assert!(!job.is_running());
}

/// Item 4: no-ops resolve their tickets and change nothing.
#[tokio::test]
async fn controls_that_do_not_apply_are_silent_no_ops() {
    let pids = Pids::default();
    let (job, _task) = start_job(exec("sleep", &["1000"], grouped()));
    let spawns = record_spawns(&job, &pids).await;
    let grace = Duration::from_secs(60);
    within("stop", job.stop()).await;
    within(
        "graceful stop",
        job.stop_with_signal(Signal::Terminate, grace),
    )
    .await;
    within("signal", job.signal(Signal::Hangup)).await;
    within("try_restart", job.try_restart()).await;
    within(
        "try_restart_with_signal",
        job.try_restart_with_signal(Signal::Terminate, grace),
    )
    .await;
    assert_eq!(state_of(&job).await, Snapshot::Pending);
    assert!(spawns.lock().unwrap().is_empty());

    within("start", job.start()).await;
    within("start again", job.start()).await;
    assert_eq!(
        spawns.lock().unwrap().len(),
        1,
        "start on a running job spawned"
    );
    assert!(job.is_running());
    within("delete", job.delete()).await;
    pids.assert_all_gone().await;
}

/// `is_running()` is exact once the ticket that changed it has resolved.
#[tokio::test]
async fn is_running_is_exact_after_each_ticket() {
    let pids = Pids::default();
    let (job, _task) = start_job(exec("sleep", &["1000"], grouped()));
    let _spawns = record_spawns(&job, &pids).await;
    assert!(!job.is_running());
    for _ in 0..3 {
        job.start().await;
        assert!(job.is_running());
        job.restart().await;
        assert!(job.is_running());
        job.stop().await;
        assert!(!job.is_running());
        job.restart().await;
        assert!(job.is_running());
        job.stop_with_signal(Signal::Terminate, Duration::from_secs(30))
            .await;
        assert!(!job.is_running());
    }
    job.delete().await;
    assert!(!job.is_running());
    pids.assert_all_gone().await;
}

/// Item 6: restart kills and spawns anew; the spawn hook sees `Pending` with the run that
/// ended as `previous`.
#[tokio::test]
async fn restart_runs_the_spawn_hook_with_the_previous_run() {
    let pids = Pids::default();
    let (job, _task) = start_job(exec("sleep", &["1000"], grouped()));
    let spawns = record_spawns(&job, &pids).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    job.set_spawn_hook(move |_command, ctx| {
        let previous = ctx.previous.map(Snapshot::of);
        log.lock()
            .unwrap()
            .push((Snapshot::of(ctx.current), previous));
    });
    within("start", job.start()).await;
    within("restart", job.restart()).await;
    within("restart", job.restart()).await;
    let spawns = spawns.lock().unwrap().clone();
    assert_eq!(spawns.len(), 3);
    assert!(spawns[0] != spawns[1] && spawns[1] != spawns[2]);
    let killed = Some(killed_by(Signal::ForceStop));
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (Snapshot::Pending, None),
            (Snapshot::Pending, killed.clone()),
            (Snapshot::Pending, killed),
        ]
    );
    assert!(!alive(spawns[0]) && !alive(spawns[1]) && alive(spawns[2]));
    within("delete", job.delete()).await;
    pids.assert_all_gone().await;
}

/// Item 8: after delete the task ends, later controls never run and resolve at once.
#[tokio::test]
async fn deleted_jobs_ignore_later_controls() {
    let pids = Pids::default();
    let (job, task) = start_job(exec("sleep", &["1000"], grouped()));
    let _spawns = record_spawns(&job, &pids).await;
    within("start", job.start()).await;
    within("delete", job.delete()).await;
    assert!(job.is_dead());
    assert!(!job.is_running());
    within("task", task).await.unwrap();
    pids.assert_all_gone().await;

    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    within("run", job.run(move |_| flag.store(true, Ordering::SeqCst))).await;
    within("start", job.start()).await;
    assert!(!ran.load(Ordering::SeqCst));
    assert!(!job.is_running());
}

/// Item 2 (Urgent): `delete_now` jumps the queue, even past a pending graceful stop.
#[tokio::test]
async fn delete_now_overtakes_a_pending_graceful_stop() {
    let pids = Pids::default();
    let scratch = Scratch::new();
    let (job, task) = stubborn_job(&scratch);
    start_ready(&job, &scratch, &pids).await;
    let graceful = job.stop_with_signal(Signal::Terminate, Duration::from_secs(600));
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    let held = job.run(move |_| flag.store(true, Ordering::SeqCst));
    within("delete_now", job.delete_now()).await;
    assert!(job.is_dead());
    within("graceful ticket", graceful).await;
    within("held ticket", held).await;
    assert!(
        !ran.load(Ordering::SeqCst),
        "a held-back control ran after delete_now"
    );
    within("task", task).await.unwrap();
    pids.assert_all_gone().await;
}

/// Which thread a job's spawn ran on, seen from a spawn function.
async fn spawning_thread(options: SpawnOptions) -> std::thread::ThreadId {
    let (job, task) = start_job(exec("sleep", &["1000"], options));
    let seen = Arc::new(Mutex::new(None));
    job.set_spawn_fn({
        let seen = Arc::clone(&seen);
        move |command| {
            *seen.lock().unwrap() = Some(std::thread::current().id());
            command.spawn()
        }
    })
    .await;
    within("start", job.start()).await;
    assert!(eventually(|| job.is_running()).await);
    within("delete", job.delete()).await;
    within("task", task).await.unwrap();
    seen.lock().unwrap().expect("the spawn function ran")
}

/// A spawn blocks its thread until the child has exec'd: it runs on tokio's blocking pool,
/// not on the runtime thread that the job tasks (and, in procmux, the event loop) share.
#[tokio::test]
async fn a_spawn_runs_off_the_runtime_thread() {
    let runtime_thread = std::thread::current().id();
    assert_ne!(spawning_thread(grouped()).await, runtime_thread);
}

/// Except with a parent-death signal, which the kernel sends when the *thread* that spawned
/// the child ends: such a spawn stays on the job task's thread, which lives as long as the
/// runtime (a pool thread ends after 10 s idle and would take the child with it).
#[tokio::test]
async fn a_spawn_with_a_parent_death_signal_stays_on_the_runtime_thread() {
    let runtime_thread = std::thread::current().id();
    let options = SpawnOptions {
        parent_death_signal: Some(Signal::ForceStop),
        ..grouped()
    };
    assert_eq!(spawning_thread(options).await, runtime_thread);
}

/// A job task that goes away while its spawn is still on the blocking pool (aborted, here)
/// leaves nothing: the child spawned after it went is killed where it was spawned.
#[tokio::test]
async fn a_task_gone_during_its_spawn_leaves_no_child() {
    let (job, task) = start_job(exec("sleep", &["1000"], grouped()));
    let spawned = Arc::new(Mutex::new(None));
    let (entered, entered_rx) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    job.set_spawn_fn({
        let spawned = Arc::clone(&spawned);
        let release_rx = Mutex::new(release_rx);
        move |command| {
            let _ = entered.send(());
            let _ = release_rx.lock().unwrap().recv();
            let child = command.spawn()?;
            *spawned.lock().unwrap() = child.id();
            Ok(child)
        }
    })
    .await;
    let start = job.start();
    let waiting = tokio::task::spawn_blocking(move || entered_rx.recv());
    within("the spawn to begin", waiting)
        .await
        .unwrap()
        .unwrap();
    task.abort();
    let _ = task.await;
    release.send(()).unwrap();
    within("the start ticket", start).await;
    assert!(eventually(|| spawned.lock().unwrap().is_some()).await);
    let pid = spawned.lock().unwrap().unwrap();
    assert!(
        eventually(|| !alive(pid as i32)).await,
        "the child {pid} outlived its job"
    );
}
