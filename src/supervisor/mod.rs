//! The supervisor: one supervised process per [`Job`](job::Job).
//!
//! The API follows the `watchexec-supervisor` crate (6.0), so code written against it ports
//! by changing the crate path; it adds output capture, exit notification, a Linux
//! parent-death signal and process tracking (cgroups, or the subreaper), fixes the leaks and
//! hangs listed below, and differs where said at the end. It knows nothing about manifests,
//! colours or terminals.
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
//! process. (Each item is pinned down by the tests in `tests/supervisor/`, named after it.)
//!
//! 1. **One loop.** The task waits on three things at once: the end of the leader (while it
//!    runs), the run's own events (its leftovers all gone, or their deadline), and the
//!    control queue. Whichever comes first is handled to completion before the task looks
//!    again.
//! 2. **Three priorities.** Controls are Urgent (`delete_now`), High (`to_wait`) or Normal
//!    (everything else), and run highest first, in sending order within a priority. While a
//!    graceful stop or restart waits for its run to end, Normal controls are held back, so a
//!    `start` sent after it runs only once the old run is gone; Urgent and High still run.
//! 3. **Tickets.** Every control returns a [`Ticket`](job::Ticket) that resolves once the
//!    control has been processed, or once the job is gone. Dropping a ticket does not cancel
//!    its control; clones resolve together. Methods that send several controls (`restart`)
//!    return the ticket of the last. So `job.start(); job.signal(User1); job.stop().await`
//!    has run all three, in order.
//! 4. **Idempotence.** `start` on a running job, and `stop`, `signal`, `try_restart` or
//!    `to_wait` on a job that is not running, do nothing and still resolve their tickets.
//! 5. **Graceful stop.** `stop_with_signal(signal, grace)` sends SIGCONT, the signal, then
//!    SIGCONT again, to everything the run owns (its process group and, under cgroup
//!    tracking, the members of its cgroup outside the group; just the process when not
//!    grouped), so that a stopped (SIGSTOP, Ctrl-Z) process acts on the signal at once; and
//!    arms a timer. The grace runs until everything the run owns has ended: a shell wrapper
//!    that dies of the signal at once does not end the stop, its children keep their grace.
//!    If all of it ends first, the ticket resolves then; at the deadline everything left gets
//!    SIGKILL and the ticket resolves once it is gone. Any end disarms the timer. A grace too
//!    long to add to the clock means no deadline. `stop` is the immediate form: SIGKILL to
//!    everything, then wait for all of it.
//! 6. **How a grouped job ends.** The leader's end is not the job's end: the job has ended
//!    when everything it owns has ended (the group, and the cgroup where there is one, are
//!    empty). Until then it is `Running`: `start` is a no-op, restarts and `to_wait` wait.
//!    When the leader ends by itself and leaves processes behind, the leftovers hook hears of
//!    it (how many, and the leader's status), and they get the command's
//!    [`leftover_stop`](command::SpawnOptions::leftover_stop) (default SIGTERM, then
//!    SIGCONT) and SIGKILL when its grace, counted from the leader's end, runs out. The
//!    status is the leader's; the exit hook, `to_wait` tickets and `Finished` come only at
//!    the end. Only the leader's pid is the job's pid.
//! 7. **Restart.** Before every spawn the state that ended becomes `previous`, and the spawn
//!    hook sees `current` as `Pending`. A graceful restart spawns only after the old run has
//!    really ended (so its ports and files are free), and exactly once. After every spawn the
//!    spawned hook sees the new child and what the run owns
//!    ([`JobTaskContext::run`](job::JobTaskContext::run)); after every end the exit hook sees
//!    `Finished`.
//! 8. **Errors.** A failed spawn, signal, kill or wait goes to the error handler (or is
//!    dropped when there is none); the control's ticket resolves and the loop carries on. A
//!    failed spawn leaves the job `Pending`. A run that cannot get its cgroup runs with its
//!    process group only, and says so to the error handler.
//! 9. **Deletion.** After `delete` or `delete_now` the task kills everything the run owns
//!    and ends; [`is_dead`](job::Job::is_dead) is true, and later controls never run and
//!    return resolved tickets.
//!
//! # Tracking
//!
//! [`start_job`](job::start_job) tracks a grouped job by its process group, as
//! `watchexec-supervisor` does. [`start_job_with`](job::start_job_with) and a
//! [`Tracker`](tracking::Tracker) (detected once, at start) add procmux's tracking: a cgroup
//! per run where cgroup v2 allows it, so that children that leave the group (`setsid`,
//! double fork, `bash -c 'set -m; cmd & wait'`) are still the job's; else the child
//! subreaper on Linux, with an orphan reaper and a shutdown sweep. See [`tracking`].
//!
//! # Leaving nothing behind
//!
//! Where `watchexec-supervisor` 6.0 leaks or hangs, this one does not:
//!
//! - a grouped job's stop, graceful stop and kill reach everything it owns, and the job ends
//!   only once all of it has, so `sh -c 'a & b & wait'` leaves no survivor;
//! - dropping the last `Job` handle, `delete`, and an aborted or panicking task all kill
//!   everything the run owns (the task owns the run through guards that kill on drop);
//! - if the task ends for any reason, every outstanding ticket resolves and `is_dead()` is
//!   true (queued controls are dropped with the queue, and a dropped control resolves its
//!   ticket);
//! - `to_wait()` on a job that never started resolves at once;
//! - `try_restart_with_signal` past its grace spawns exactly one replacement;
//! - `is_running()` is exact once the ticket of the control that changed it has resolved;
//! - the leader is waited for by its pid, never with `waitpid(-pgid)` (which blocks until
//!   every member of the group has died once procmux is a subreaper, and takes exits meant
//!   for others), and the orphan reaper never uses `waitpid(-1)`.
//!
//! # Where procmux differs from watchexec-supervisor
//!
//! Code written against `watchexec-supervisor` 6.0 ports by changing the crate path (its own
//! tests, ported, are `tests/supervisor/upstream_*.rs`), except for these deliberate
//! differences:
//!
//! - **A grouped job ends when everything it owns has ended**, not when its leader does (see
//!   item 6 above): the exit hook, `to_wait`, `Finished` and the next spawn of a restart wait
//!   for the leftovers. Upstream's job ends with the leader. This also replaces procmux's
//!   first rule ("sweep the group with SIGKILL when the leader ends"): leftovers now get the
//!   stop signal and a grace, so a shell's background job can finish its work
//!   (`(sleep .5; echo late) &` prints `late`).
//! - **Graceful stops send SIGCONT** (before and after the signal), and reach the cgroup's
//!   members outside the group. Upstream sends the signal only.
//! - **Dropping the last `Job`, `delete` and a dead task kill everything the run owns**, and
//!   tickets always resolve (upstream kills only the leader, and a panicked task's tickets
//!   never resolve). `to_wait` on a job that never started resolves (upstream hangs).
//! - **The group wrapper is procmux's** ([`command::ProcessGroup`],
//!   [`command::GroupChild`]), not process-wrap's `ProcessGroup`: a running child does not
//!   downcast to `ProcessGroupChild`, and its `wait` is the leader's alone.
//! - **`SpawnOptions` has more fields** (`parent_death_signal`, `leftover_stop`): build it
//!   with `..Default::default()`, as upstream recommends; a literal that names every
//!   upstream field and nothing else does not compile.
//! - **The spawn runs on tokio's blocking pool** (the spawn hook and the spawned hook still
//!   run in the job task): a spawn blocks until its child has exec'd, and on a one-thread
//!   runtime that would stall every other task meanwhile. A spawn function therefore runs on
//!   a pool thread, and a command with a parent-death signal spawns in the job task itself,
//!   since the kernel sends that signal when the spawning *thread* ends. Upstream spawns in
//!   the job task.
//! - **`JobTaskContext` has a `run` field** (what the run owns); reading code is unaffected.
//! - **The hook types are `Arc`s**, as upstream's, but [`job::HookFuture`] only needs `Send`
//!   (upstream's boxed futures are `Send + Sync`): closures port unchanged.
//! - **`FromStr for Signal` reads Unix names first**: `STOP` is SIGSTOP, where upstream's
//!   `FromStr` tries Windows names first and makes it SIGKILL; `C`, `BREAK` and `CLOSE` are
//!   not accepted. [`Signal::from_windows_str`] and [`Signal::from_unix_str`] behave as
//!   upstream's; their error is [`UnknownSignal`], not `SignalParseError`. `Display` prints
//!   `SIGTERM` style names on every platform.
//! - **`Display for Program` quotes arguments** that would not read back as one word
//!   (`echo 'two words'`); upstream joins them with spaces.
//! - **`ProcessEnd::into_exitstatus` never panics**: values Unix cannot hold are truncated as
//!   `exit(2)` would (upstream panics on them).
//! - **`Shell::cmd` exists on every platform** (upstream: Windows only); `Shell::new` quotes
//!   except on Windows, as upstream.
//! - **Extra API**: the spawned, exit and leftovers hooks, output capture, the
//!   parent-death signal, `start_job_with` and [`tracking`], `Leftovers`, `RunInfo`, and
//!   [`setup::ChildSetup`], which lets a job spawn by a vfork-style clone that puts the child
//!   in its cgroup before `exec`, instead of std's spawn.

#[cfg(target_os = "linux")]
mod clone3;
pub mod command;
mod end;
pub mod errors;
#[cfg(target_os = "linux")]
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
pub mod setup;
mod shell;
mod shell_rule;
mod signal;
mod state;
mod task;
pub mod tracking;
#[cfg(target_os = "linux")]
mod vfork;

pub use end::ProcessEnd;
pub use signal::{Signal, UnknownSignal};

pub(crate) use shell_rule::NOT_A_PROGRAM;
