//! Nothing is left behind: every way a grouped job can end kills its whole process group,
//! grandchildren included, and no ticket hangs when the task dies.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use procmux::supervisor::Signal;
use procmux::supervisor::job::{Job, start_job};
use tokio::task::JoinHandle;

use crate::support::*;

/// A started grouped job running a shell with two background sleeps, and all three pids.
async fn group_of_three(scratch: &Scratch, pids: &Pids) -> (Job, JoinHandle<()>) {
    let line = three_of_a_group(&scratch.path("pids"));
    let (job, task) = start_job(shell(&line, grouped()));
    within("start", job.start()).await;
    let found = scratch.read_pids("pids", 3, pids).await;
    assert!(found.iter().all(|&pid| alive(pid)));
    // `$!` is known as soon as the shell has forked: until the child has become `sleep`, it
    // is a copy of the shell that does not ignore SIGINT yet, and a stop then kills it (seen
    // on a loaded machine). Wait until both are `sleep`.
    let became_sleep = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|comm| comm.trim() == "sleep")
    };
    assert!(
        eventually(|| found[1..].iter().all(|&pid| became_sleep(pid))).await,
        "the background children never became sleep"
    );
    (job, task)
}

#[tokio::test]
async fn graceful_stop_signals_the_whole_group() {
    let (pids, scratch) = (Pids::default(), Scratch::new());
    let (job, _task) = group_of_three(&scratch, &pids).await;
    within(
        "graceful stop",
        job.stop_with_signal(Signal::Terminate, Duration::from_secs(600)),
    )
    .await;
    pids.assert_all_gone().await;
}

/// Background jobs of a non-interactive `sh` ignore SIGINT: the shell ends, its sleeps do
/// not. The stop's grace is theirs too (the leader's end is not the job's end): they are
/// killed at the deadline, not before, and the stop lasts until they are gone.
#[tokio::test]
async fn leftovers_of_the_group_are_killed_at_the_deadline() {
    let (pids, scratch) = (Pids::default(), Scratch::new());
    let (job, _task) = group_of_three(&scratch, &pids).await;
    let grace = Duration::from_millis(800);
    let began = std::time::Instant::now();
    let stop = job.stop_with_signal(Signal::Interrupt, grace);
    let sleeps = pids.all()[1..].to_vec();
    assert!(
        eventually(|| !alive(pids.all()[0])).await,
        "the shell survived SIGINT"
    );
    assert!(
        sleeps.iter().all(|&pid| alive(pid)),
        "a sleep died before the deadline ({:?} after the stop)",
        began.elapsed()
    );
    assert!(job.is_running(), "the job ended with its leader");
    within("graceful stop", stop).await;
    assert!(began.elapsed() >= grace);
    pids.assert_all_gone().await;
}

#[tokio::test]
async fn stop_kills_the_whole_group() {
    let (pids, scratch) = (Pids::default(), Scratch::new());
    let (job, _task) = group_of_three(&scratch, &pids).await;
    within("stop", job.stop()).await;
    pids.assert_all_gone().await;
}

#[tokio::test]
async fn delete_kills_the_whole_group() {
    let (pids, scratch) = (Pids::default(), Scratch::new());
    let (job, task) = group_of_three(&scratch, &pids).await;
    within("delete", job.delete()).await;
    within("task", task).await.unwrap();
    pids.assert_all_gone().await;
}

#[tokio::test]
async fn dropping_the_last_handle_kills_the_whole_group() {
    let (pids, scratch) = (Pids::default(), Scratch::new());
    let (job, task) = group_of_three(&scratch, &pids).await;
    let clone = job.clone();
    drop(job);
    // One handle left: the job must still be alive.
    within("run", clone.run(|_| ())).await;
    assert!(!clone.is_dead() && clone.is_running());
    drop(clone);
    within("task", task).await.unwrap();
    pids.assert_all_gone().await;
}

#[tokio::test]
async fn aborting_the_task_kills_the_whole_group_and_resolves_tickets() {
    let (pids, scratch) = (Pids::default(), Scratch::new());
    let (job, task) = group_of_three(&scratch, &pids).await;
    let waiting = job.to_wait();
    task.abort();
    assert!(within("task", task).await.unwrap_err().is_cancelled());
    within("to_wait ticket", waiting).await;
    assert!(job.is_dead());
    assert!(!job.is_running());
    within("late ticket", job.start()).await;
    pids.assert_all_gone().await;
}

/// Tickets queued behind a pending graceful stop resolve when the task is aborted.
#[tokio::test]
async fn queued_tickets_resolve_when_the_task_dies() {
    let (pids, scratch) = (Pids::default(), Scratch::new());
    let (ready, got) = (scratch.path("ready"), scratch.path("got"));
    // Survives TERM, and says so: proof that the graceful stop is under way.
    let line = format!(
        "exec 2>/dev/null; trap 'echo term > {}' TERM; echo $$ > {}; while :; do sleep 0.1; done",
        got.display(),
        ready.display()
    );
    let (job, task) = start_job(shell(&line, grouped()));
    within("start", job.start()).await;
    scratch.read_pids("ready", 1, &pids).await;
    let graceful = job.stop_with_signal(Signal::Terminate, Duration::from_secs(600));
    let held: Vec<_> = (0..10).map(|_| job.signal(Signal::User2)).collect();
    assert!(
        eventually(|| got.exists()).await,
        "the shell never got SIGTERM"
    );
    task.abort();
    let _ = task.await;
    within("graceful ticket", graceful).await;
    for ticket in held {
        within("held ticket", ticket).await;
    }
    assert!(job.is_dead());
    pids.assert_all_gone().await;
}

#[tokio::test]
async fn a_panicking_task_kills_the_whole_group_and_resolves_tickets() {
    let (pids, scratch) = (Pids::default(), Scratch::new());
    let (job, task) = group_of_three(&scratch, &pids).await;
    job.run(|_| panic!("a hook panicked (on purpose)"));
    let after = job.start();
    assert!(within("task", task).await.unwrap_err().is_panic());
    within("ticket after the panic", after).await;
    assert!(job.is_dead());
    pids.assert_all_gone().await;
}

/// Restarts do not leave the previous run's background processes behind.
#[tokio::test]
async fn restarts_leave_no_previous_group_behind() {
    let (pids, scratch) = (Pids::default(), Scratch::new());
    let (job, _task) = group_of_three(&scratch, &pids).await;
    let first = pids.all();
    std::fs::remove_file(scratch.path("pids")).unwrap();
    within("restart", job.restart()).await;
    scratch.read_pids("pids", 3, &pids).await;
    assert!(eventually(|| first.iter().all(|&pid| !alive(pid))).await);
    within("delete", job.delete()).await;
    pids.assert_all_gone().await;
}

/// Ungrouped, a simple shell command is exec'd: the job's pid is the program itself, so a stop
/// reaches it without a group.
#[tokio::test]
async fn simple_shell_commands_replace_the_shell() {
    let pids = Pids::default();
    let (job, _task) = start_job(shell("sleep 1000", Default::default()));
    let spawns = record_spawns(&job, &pids).await;
    within("start", job.start()).await;
    let pid = spawns.lock().unwrap()[0];
    let comm = Arc::new(Mutex::new(String::new()));
    let read = eventually(|| {
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        *comm.lock().unwrap() = name.clone();
        name.trim() == "sleep"
    })
    .await;
    assert!(read, "pid {pid} is {:?}, not sleep", comm.lock().unwrap());
    within("stop", job.stop()).await;
    pids.assert_all_gone().await;
}
