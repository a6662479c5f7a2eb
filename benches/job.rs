//! Benchmarks of the Job API: how many controls a running job processes per second, and what a
//! spawn through a job costs compared with a bare `tokio::process::Command` (ungrouped,
//! grouped, and grouped with a cgroup per run where cgroups can be had).
//!
//! Run with `cargo bench --bench job`.

// `criterion_group!` defines a public function without docs.
#![allow(missing_docs)]

use std::hint::black_box;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use procmux::supervisor::Signal;
use procmux::supervisor::command::{Command, Program, Shell, SpawnOptions};
use procmux::supervisor::job::{start_job, start_job_with};
use procmux::supervisor::tracking::{Tracker, Tracking, TrackingRequest};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime builds")
}

/// A stream of `signal(User1)` controls to a grouped shell (and its `sleep`) that ignore it;
/// the last ticket is awaited, so every control has been processed, signal sent, when timed.
fn controls(c: &mut Criterion) {
    let runtime = runtime();
    let command = Arc::new(Command {
        program: Program::Shell {
            shell: Shell::new("sh"),
            command: "trap '' USR1; echo ready; exec sleep 1000".into(),
            args: vec![],
        },
        options: SpawnOptions {
            grouped: true,
            ..Default::default()
        },
    });
    let (job, task) = runtime.block_on(async {
        let (job, task) = start_job(command);
        job.set_spawn_hook(|command, _| {
            command.command_mut().stdout(Stdio::piped());
        });
        let (ready, is_ready) = tokio::sync::oneshot::channel();
        let ready = Mutex::new(Some(ready));
        job.set_spawned_hook(move |child, _| {
            let stdout = child.stdout().take().expect("stdout is piped");
            let ready = ready.lock().expect("not poisoned").take();
            tokio::spawn(async move {
                let mut line = String::new();
                let _ = BufReader::new(stdout).read_line(&mut line).await;
                if let Some(ready) = ready {
                    let _ = ready.send(());
                }
            });
        });
        job.start().await;
        // Signals sent before the trap is in place would end the shell.
        is_ready.await.expect("the shell says it is ready");
        (job, task)
    });
    let mut group = c.benchmark_group("controls");
    group.throughput(Throughput::Elements(1));
    group.bench_function("signal(User1) on a running job", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let started = Instant::now();
                let mut last = None;
                for _ in 0..iters {
                    last = Some(job.signal(Signal::User1));
                }
                if let Some(ticket) = last {
                    ticket.await;
                }
                started.elapsed()
            })
        });
    });
    group.finish();
    assert!(
        job.is_running(),
        "the signalled job ended: the figures would be of no-ops"
    );
    runtime.block_on(async {
        job.delete_now().await;
        task.await.expect("the job task does not panic");
    });
}

/// Start-to-exit cycles of `true`: bare tokio, then through a job (ungrouped, grouped, and
/// grouped in a cgroup of its own).
fn spawns(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("spawn true to exit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("bare tokio::process::Command", |b| {
        b.to_custom_iter(&runtime, |_| async move {
            let status = tokio::process::Command::new("true")
                .spawn()
                .expect("true spawns")
                .wait()
                .await
                .expect("true can be waited on");
            black_box(status);
        });
    });
    let tracker = runtime.block_on(async { Tracker::detect_with(TrackingRequest::CgroupOnly) });
    let cgroups = matches!(tracker.tracking(), Tracking::Cgroup { .. });
    // The last two both run code between fork and exec, which rules out `posix_spawn`: the
    // parent-death signal (what procmux's coordinator sets) and the cgroup join.
    for (grouped, tracked, pdeathsig) in [
        (false, false, false),
        (true, false, false),
        (true, false, true),
        (true, true, true),
    ] {
        if tracked && !cgroups {
            eprintln!("no cgroups here: {tracker}");
            continue;
        }
        let command = Arc::new(Command {
            program: Program::Exec {
                prog: "true".into(),
                args: vec![],
            },
            options: SpawnOptions {
                grouped,
                parent_death_signal: pdeathsig.then_some(Signal::ForceStop),
                ..Default::default()
            },
        });
        let (job, task) = runtime.block_on(async {
            if tracked {
                start_job_with(command, Arc::clone(&tracker))
            } else {
                start_job(command)
            }
        });
        let name = match (grouped, tracked, pdeathsig) {
            (false, ..) => "job",
            (true, false, false) => "job (grouped)",
            (true, false, true) => "job (grouped, parent-death signal)",
            (true, true, _) => "job (grouped, parent-death signal, cgroup)",
        };
        group.bench_function(name, |b| {
            b.to_custom_iter(&runtime, |_| {
                let job = job.clone();
                async move {
                    job.start().await;
                    job.to_wait().await;
                }
            });
        });
        runtime.block_on(async {
            job.delete_now().await;
            task.await.expect("the job task does not panic");
        });
    }
    tracker.close();
    group.finish();
}

/// Criterion without its async feature: time `iters` sequential runs of an async body.
trait CustomIter {
    fn to_custom_iter<F, Fut>(&mut self, runtime: &Runtime, body: F)
    where
        F: FnMut(&Runtime) -> Fut,
        Fut: Future<Output = ()>;
}

impl CustomIter for criterion::Bencher<'_> {
    fn to_custom_iter<F, Fut>(&mut self, runtime: &Runtime, mut body: F)
    where
        F: FnMut(&Runtime) -> Fut,
        Fut: Future<Output = ()>,
    {
        self.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                runtime.block_on(body(runtime));
            }
            started.elapsed()
        });
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = controls, spawns
}
criterion_main!(benches);
