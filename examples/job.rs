//! The Job API in a few lines: supervise `/bin/date`, signal it, stop it, delete the job.
//!
//! Run with `cargo run --example job`.

use std::sync::Arc;
use std::time::Duration;

use procmux::supervisor::Signal;
use procmux::supervisor::command::{Command, Program, SpawnOptions};
use procmux::supervisor::job::{CommandState, start_job};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let command = Arc::new(Command {
        program: Program::Exec {
            prog: "/bin/date".into(),
            args: vec![],
        },
        options: SpawnOptions {
            grouped: true,
            ..Default::default()
        },
    });
    let (job, task) = start_job(command);

    job.set_exit_hook(|ctx| {
        if let CommandState::Finished { status, .. } = ctx.current {
            println!("[job] `{}` {status}", ctx.command);
        }
    });
    job.start().await;
    println!("[job] started; running: {}", job.is_running());
    job.to_wait().await; // let `date` print
    // `date` has exited: signalling (and stopping) a finished job is a no-op.
    job.signal(Signal::User1).await;
    job.stop_with_signal(Signal::Terminate, Duration::from_secs(5))
        .await;
    println!("[job] stopped; running: {}", job.is_running());
    job.delete_now().await;
    task.await.expect("the job task does not panic");
    println!("[job] deleted; dead: {}", job.is_dead());
}
