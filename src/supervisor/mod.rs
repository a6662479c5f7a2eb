//! The supervisor: one supervised process per [`Job`](job::Job).
//!
//! The API follows the `watchexec-supervisor` crate, so code written against it ports by
//! changing the crate path; it adds output capture, exit notification and a Linux
//! parent-death signal, and fixes the leaks and hangs listed at the end. It knows nothing
//! about manifests, colours or terminals.
//!
//! # Usage
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use procmux::supervisor::Signal;
//! use procmux::supervisor::command::{Command, Program, SpawnOptions};
//! use procmux::supervisor::job::start_job;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let command = Arc::new(Command {
//!     program: Program::Exec { prog: "/bin/date".into(), args: vec![] },
//!     options: SpawnOptions { grouped: true, ..Default::default() },
//! });
//! let (job, task) = start_job(command);
//!
//! job.start().await;
//! job.to_wait().await; // resolves when `date` has exited
//! job.signal(Signal::User1).await; // so this is a no-op
//! job.stop_with_signal(Signal::Terminate, Duration::from_secs(5)).await;
//! job.delete_now().await;
//! task.await.expect("the job task does not panic");
//! # }
//! ```
//!
//! # Capturing output and learning of exits
//!
//! Ask for pipes in the spawn hook, take them in the spawned hook, and hear about every end in
//! the exit hook. All three run in the job task for every spawn (first start and restarts), so
//! the owner needs neither `unsafe` nor polling:
//!
//! ```
//! use std::process::Stdio;
//! use std::sync::Arc;
//!
//! use procmux::supervisor::command::{Command, Program, Shell, SpawnOptions};
//! use procmux::supervisor::job::{CommandState, start_job};
//! use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
//! use tokio::sync::mpsc::{self, UnboundedSender};
//!
//! /// Sends each line of a child's pipe, tagged, until the pipe closes.
//! fn forward<P>(pipe: P, tag: String, to: UnboundedSender<String>)
//! where
//!     P: AsyncRead + Send + Unpin + 'static,
//! {
//!     tokio::spawn(async move {
//!         let mut lines = BufReader::new(pipe).lines();
//!         while let Ok(Some(line)) = lines.next_line().await {
//!             let _ = to.send(format!("{tag}: {line}"));
//!         }
//!     });
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let command = Arc::new(Command {
//!     program: Program::Shell {
//!         shell: Shell::new("sh"),
//!         command: "echo out; echo err >&2; exit 3".into(),
//!         args: vec![],
//!     },
//!     options: SpawnOptions { grouped: true, ..Default::default() },
//! });
//! let (job, task) = start_job(command);
//! let (lines, mut lines_rx) = mpsc::unbounded_channel::<String>();
//! let (exits, mut exits_rx) = mpsc::unbounded_channel::<i64>();
//!
//! job.set_spawn_hook(|command, _ctx| {
//!     command.command_mut().stdout(Stdio::piped()).stderr(Stdio::piped());
//! });
//! job.set_spawned_hook(move |child, _ctx| {
//!     let pid = child.id().expect("a child that was just spawned has a pid");
//!     // Read both pipes to their end: a child writing to a pipe nobody reads would block,
//!     // or die of SIGPIPE once the reading end is dropped.
//!     if let Some(stdout) = child.stdout().take() {
//!         forward(stdout, format!("{pid} stdout"), lines.clone());
//!     }
//!     if let Some(stderr) = child.stderr().take() {
//!         forward(stderr, format!("{pid} stderr"), lines.clone());
//!     }
//! });
//! job.set_exit_hook(move |ctx| {
//!     if let CommandState::Finished { status, .. } = ctx.current {
//!         let _ = exits.send(status.exit_code());
//!     }
//! });
//! job.start().await;
//!
//! assert_eq!(exits_rx.recv().await, Some(3));
//! let mut got = vec![lines_rx.recv().await.expect("a line")];
//! got.push(lines_rx.recv().await.expect("a line"));
//! got.sort();
//! assert!(got[0].ends_with("stderr: err") && got[1].ends_with("stdout: out"), "{got:?}");
//! job.delete().await;
//! task.await.expect("the job task does not panic");
//! # }
//! ```
//!
//! # Theory of operation
//!
//! A [`Job`](job::Job) is a cheap handle to one tokio task, which owns the process. Handles
//! only send controls; the task does everything else, so no two controls ever race on the
//! process.
//!
//! 1. **One loop.** The task waits on two things at once: the end of the child (while one
//!    runs) and the control queue. Whichever comes first is handled to completion before the
//!    task looks again.
//! 2. **Three priorities.** Controls are Urgent (`delete_now`), High (`to_wait`) or Normal
//!    (everything else), and run highest first, in sending order within a priority. While a
//!    graceful stop or restart waits for its process to end, Normal controls are held back,
//!    so a `start` sent after it runs only once the old process is gone; Urgent and High
//!    still run.
//! 3. **Tickets.** Every control returns a [`Ticket`](job::Ticket) that resolves once the
//!    control has been processed, or once the job is gone. Dropping a ticket does not cancel
//!    its control. Methods that send several controls (`restart`) return the ticket of the
//!    last. So `job.start(); job.signal(User1); job.stop().await` has run all three, in order.
//! 4. **Idempotence.** `start` on a running job, and `stop`, `signal`, `try_restart` or
//!    `to_wait` on a job that is not running, do nothing and still resolve their tickets.
//! 5. **Graceful stop.** `stop_with_signal(signal, grace)` sends the signal (to the whole
//!    process group when grouped) and arms a timer. If the process ends first, the ticket
//!    resolves then; at the deadline the whole group gets SIGKILL and the ticket resolves once
//!    the process has been reaped. Any end disarms the timer. `stop` is the immediate form:
//!    SIGKILL to the group, then reap.
//! 6. **Restart.** Before every spawn the state that ended becomes `previous`, and the spawn
//!    hook sees `current` as `Pending`. A graceful restart spawns only after the old process
//!    has really ended, and exactly once. After every spawn the spawned hook sees the new
//!    child; after every end the exit hook sees `Finished`.
//! 7. **Errors.** A failed spawn, signal, kill or wait goes to the error handler (or is
//!    dropped when there is none); the control's ticket resolves and the loop carries on. A
//!    failed spawn leaves the job `Pending`.
//! 8. **Deletion.** After `delete` or `delete_now` the task kills the process and ends;
//!    [`is_dead`](job::Job::is_dead) is true, and later controls never run and return
//!    resolved tickets.
//!
//! # Leaving nothing behind
//!
//! Where `watchexec-supervisor` 6.0 leaks or hangs, this one does not:
//!
//! - a grouped job's stop, graceful stop and kill reach the whole process group, and when the
//!   group leader ends, whatever is left of its group is killed too, so
//!   `sh -c 'a & b & wait'` leaves no survivor;
//! - dropping the last `Job` handle, `delete`, and an aborted or panicking task all kill the
//!   whole group (the task owns the child through a guard that kills the group on drop);
//! - if the task ends for any reason, every outstanding ticket resolves and `is_dead()` is
//!   true (queued controls are dropped with the queue, and a dropped control resolves its
//!   ticket);
//! - `to_wait()` on a job that never started resolves at once;
//! - `try_restart_with_signal` past its grace spawns exactly one replacement;
//! - `is_running()` is exact once the ticket of the control that changed it has resolved.

pub mod command;
mod end;
pub mod errors;
#[cfg(unix)]
mod foreground;
mod group;
mod handle;
pub mod job;
mod messages;
#[cfg(target_os = "linux")]
mod pdeathsig;
mod priority;
mod program;
mod run;
mod shell;
mod shell_rule;
mod signal;
mod state;
mod task;
pub mod tracking;

pub use end::ProcessEnd;
pub use signal::{Signal, UnknownSignal};

pub(crate) use shell_rule::NOT_A_PROGRAM;
