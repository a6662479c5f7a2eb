//! The Job API in a few lines: detect procmux's process tracking, supervise a shell line that
//! leaves a background process behind, hear of the leftovers and of the end, delete the job.
//!
//! Run with `cargo run --example job`.

use std::sync::Arc;
use std::time::Duration;

use procmux::supervisor::Signal;
use procmux::supervisor::command::{Command, Program, Shell, SpawnOptions, StopPolicy};
use procmux::supervisor::job::{CommandState, start_job_with};
use procmux::supervisor::tracking::{Tracker, TrackingRequest};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Cgroups where they can be had; this example spawns nothing else, but a program that
    // does should read `tracking`'s docs on children that are not jobs.
    let tracker = Tracker::detect_with(TrackingRequest::CgroupOnly);
    println!("[job] {tracker}");

    let command = Arc::new(Command {
        program: Program::Shell {
            shell: Shell::new("sh"),
            // The leader exits; its background subshell is a leftover, which gets SIGINT
            // (that a shell's background jobs ignore) and a second to finish. (The leader
            // gives it a moment to start: a child that has not yet set its signals up dies
            // of any.)
            command:
                "(sleep 0.3; echo '[sh] late, but printed') & sleep 0.1; echo '[sh] leader exits'"
                    .into(),
            args: vec![],
        },
        options: SpawnOptions {
            grouped: true,
            leftover_stop: Some(StopPolicy {
                signal: Signal::Interrupt,
                grace: Duration::from_secs(1),
            }),
            ..Default::default()
        },
    });
    let (job, task) = start_job_with(command, Arc::clone(&tracker));

    job.set_spawned_hook(|child, ctx| {
        let run = ctx.run.expect("the spawned hook knows the run");
        println!(
            "[job] started: pid {:?}, group {:?}, cgroup {:?}",
            child.id(),
            run.pgid,
            run.cgroup
        );
    });
    job.set_leftovers_hook(|ctx, leftovers| {
        println!(
            "[job] `{}` {}; stopping {} leftover processes",
            ctx.command, leftovers.status, leftovers.count
        );
    });
    job.set_exit_hook(|ctx| {
        if let CommandState::Finished { status, .. } = ctx.current {
            println!(
                "[job] `{}` {status}, and nothing of it is left",
                ctx.command
            );
        }
    });
    job.start().await;
    job.to_wait().await; // resolves once the leftovers have ended too
    println!("[job] running: {}", job.is_running());
    job.delete_now().await;
    task.await.expect("the job task does not panic");
    tracker.close();
    println!("[job] deleted; dead: {}", job.is_dead());
}
