//! The owner's view of each run: pipes and pid from the spawned hook, every end from the exit
//! hook, and the Linux parent-death signal.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use procmux::supervisor::command::SpawnOptions;
use procmux::supervisor::job::start_job;
use procmux::supervisor::{ProcessEnd, Signal};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use crate::support::*;

/// Every spawn (start and restarts) hands the owner fresh stdout and stderr pipes and the pid,
/// before the state becomes `Running`.
#[tokio::test]
async fn spawned_hook_hands_over_pipes_and_pid_on_every_spawn() {
    let pids = Pids::default();
    let line = "echo out $$; echo err $$ >&2; exec sleep 1000";
    let (job, _task) = start_job(shell(line, grouped()));
    let (lines, mut lines_rx) = mpsc::unbounded_channel();
    let recorded = pids.clone();
    job.set_spawn_hook(|command, _ctx| {
        command
            .command_mut()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    });
    job.set_spawned_hook(move |child, ctx| {
        assert!(ctx.current.is_pending());
        let pid = child.id().unwrap();
        recorded.add(i32::try_from(pid).unwrap());
        let stdout = child.stdout().take().expect("stdout is piped");
        let stderr = child.stderr().take().expect("stderr is piped");
        for (name, stream) in [
            (
                "stdout",
                Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
            ),
            ("stderr", Box::new(stderr)),
        ] {
            let lines = lines.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    let _ = lines.send(format!("{pid} {name}: {line}"));
                }
            });
        }
    });
    for run in 0..3 {
        if run == 0 {
            within("start", job.start()).await;
        } else {
            within("restart", job.restart()).await;
        }
        let pid = pids.all()[run];
        let mut got = vec![
            within("line", lines_rx.recv()).await.unwrap(),
            within("line", lines_rx.recv()).await.unwrap(),
        ];
        got.sort();
        assert_eq!(
            got,
            [
                format!("{pid} stderr: err {pid}"),
                format!("{pid} stdout: out {pid}")
            ]
        );
    }
    assert_eq!(pids.all().len(), 3);
    within("delete", job.delete()).await;
    pids.assert_all_gone().await;
}

/// The exit hook sees `Finished` after every kind of end.
#[tokio::test]
async fn exit_hook_sees_every_end() {
    let pids = Pids::default();
    let scratch = Scratch::new();
    let (job, _task) = start_job(shell("exec sleep 1000", grouped()));
    let _spawns = record_spawns(&job, &pids).await;
    let ends = Arc::new(Mutex::new(Vec::new()));
    record_ends(&job, &ends).await;
    within("start", job.start()).await;
    within("restart", job.restart()).await;
    within("signal", job.signal(Signal::Hangup)).await;
    within("to_wait", job.to_wait()).await;
    within("start", job.start()).await;
    within(
        "stop",
        job.stop_with_signal(Signal::Terminate, Duration::from_secs(600)),
    )
    .await;

    let (stubborn, _task) = stubborn_job(&scratch);
    record_ends(&stubborn, &ends).await;
    start_ready(&stubborn, &scratch, &pids).await;
    within(
        "stop",
        stubborn.stop_with_signal(Signal::Terminate, Duration::from_millis(200)),
    )
    .await;

    let (natural, _task) = start_job(shell("exit 0", grouped()));
    record_ends(&natural, &ends).await;
    within("start", natural.start()).await;
    within("to_wait", natural.to_wait()).await;

    use ProcessEnd::{ExitSignal, Success};
    assert_eq!(
        *ends.lock().unwrap(),
        [
            ExitSignal(Signal::ForceStop), // restart
            ExitSignal(Signal::Hangup),    // its own end, by a signal
            ExitSignal(Signal::Terminate), // graceful stop
            ExitSignal(Signal::ForceStop), // killed at the deadline
            Success,                       // natural exit
        ]
    );
    pids.assert_all_gone().await;
}

/// Linux: a child started with a parent-death signal gets it when the thread that spawned it
/// exits. Here that thread runs a current-thread runtime that is leaked rather than dropped,
/// so that the job's own kill-on-drop cannot be what ends the child.
#[cfg(target_os = "linux")]
#[test]
fn parent_death_signal_fires_when_the_spawning_thread_exits() {
    let pids = Pids::default();
    let recorded = pids.clone();
    let spawner = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let options = SpawnOptions {
                parent_death_signal: Some(Signal::Terminate),
                ..Default::default()
            };
            let (job, task) = start_job(exec("sleep", &["1000"], options));
            let _spawns = record_spawns(&job, &recorded).await;
            within("start", job.start()).await;
            std::mem::forget((job, task));
        });
        std::mem::forget(runtime);
    });
    spawner.join().unwrap();
    let pid = pids.all()[0];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert!(
            eventually(|| !alive(pid)).await,
            "pid {pid} outlived its parent thread"
        );
    });
}

/// The task waits for the futures of async hooks and functions before going on: the spawn
/// waits for the async spawn hook, the ticket for `run_async`.
#[tokio::test]
async fn async_hooks_and_functions_are_awaited() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let pids = Pids::default();
    let (job, _task) = start_job(exec("sleep", &["1000"], grouped()));
    let _spawns = record_spawns(&job, &pids).await;
    let hooked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hooked);
    job.set_spawn_async_hook(move |command, ctx| {
        assert!(ctx.current.is_pending());
        command.command_mut().arg("1001");
        let counter = Arc::clone(&counter);
        Box::new(async move {
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            counter.fetch_add(1, Ordering::SeqCst);
        })
    });
    within("start", job.start()).await;
    assert_eq!(hooked.load(Ordering::SeqCst), 1);
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&ran);
    within(
        "run_async",
        job.run_async(move |ctx| {
            assert!(ctx.current.is_running());
            Box::new(async move {
                tokio::task::yield_now().await;
                counter.fetch_add(1, Ordering::SeqCst);
            })
        }),
    )
    .await;
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    // The spawn hook's change is to this spawn only: the next one starts from the command.
    within("unset", job.unset_spawn_hook()).await;
    within("restart", job.restart()).await;
    assert_eq!(hooked.load(Ordering::SeqCst), 1);
    within("delete", job.delete()).await;
    pids.assert_all_gone().await;
}
