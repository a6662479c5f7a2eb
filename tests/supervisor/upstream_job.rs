//! The behaviours `watchexec-supervisor` 6.0 tests in `src/job/test.rs`, ported onto
//! `procmux::supervisor` with real processes in place of upstream's internal test child
//! (which fakes exit statuses): error handlers, queue order, functions, and the state after
//! each of start, signal, stop, restart and their graceful and `try_` forms, within and beyond
//! the grace.
//!
//! Where a real process decides the status (upstream's fake child reports whatever the test
//! set), the expectation is the status the real process ends with; the states match
//! upstream's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use procmux::supervisor::command::{Command, Program};
use procmux::supervisor::job::{Job, start_job};
use procmux::supervisor::{ProcessEnd, Signal};

use crate::support::{Snapshot, eventually, shell};

const GRACE: Duration = Duration::from_millis(300);

fn erroring_command() -> Arc<Command> {
    Arc::new(Command {
        program: Program::Exec {
            prog: "/does/not/exist".into(),
            args: Vec::new(),
        },
        options: Default::default(),
    })
}

/// Ends promptly on SIGTERM (upstream's "working" and "graceful" commands).
fn working_command() -> Arc<Command> {
    Arc::new(Command {
        program: Program::Exec {
            prog: "sleep".into(),
            args: vec!["1000".into()],
        },
        options: Default::default(),
    })
}

/// Ignores SIGUSR1, so a graceful stop with it runs past the grace (upstream's "ungraceful").
fn ungraceful_command() -> Arc<Command> {
    shell("trap '' USR1; exec sleep 1000", Default::default())
}

async fn state(job: &Job, current: bool) -> Option<Snapshot> {
    let seen = Arc::new(Mutex::new(None));
    let out = Arc::clone(&seen);
    job.run(move |ctx| {
        let state = if current {
            Some(ctx.current)
        } else {
            ctx.previous
        };
        *out.lock().unwrap() = state.map(Snapshot::of);
    })
    .await;
    seen.lock().unwrap().take()
}

fn is_running(state: Option<Snapshot>) -> bool {
    matches!(state, Some(Snapshot::Running(_)))
}

fn is_finished(state: Option<Snapshot>) -> bool {
    matches!(state, Some(Snapshot::Finished(_)))
}

/// Waits until the shell has set its trap (it replaces itself with `sleep`).
async fn until_trapped(job: &Job) {
    let Some(Snapshot::Running(pid)) = state(job, true).await else {
        panic!("not running");
    };
    let trapped = eventually(|| {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
    })
    .await;
    assert!(trapped, "the shell never exec'd sleep");
}

#[tokio::test]
async fn sync_error_handler() {
    let (job, task) = start_job(erroring_command());
    let called = Arc::new(AtomicBool::new(false));
    job.set_error_handler({
        let called = Arc::clone(&called);
        move |_| called.store(true, Ordering::Relaxed)
    })
    .await;
    job.start().await;
    assert!(called.load(Ordering::Relaxed), "called on start");
    task.abort();
}

#[tokio::test]
async fn async_error_handler() {
    let (job, task) = start_job(erroring_command());
    let called = Arc::new(AtomicBool::new(false));
    job.set_async_error_handler({
        let called = Arc::clone(&called);
        move |_| {
            let called = Arc::clone(&called);
            Box::new(async move { called.store(true, Ordering::Relaxed) })
        }
    })
    .await;
    job.start().await;
    assert!(called.load(Ordering::Relaxed), "called on start");
    task.abort();
}

#[tokio::test]
async fn unset_error_handler() {
    let (job, task) = start_job(erroring_command());
    let called = Arc::new(AtomicBool::new(false));
    job.set_error_handler({
        let called = Arc::clone(&called);
        move |_| called.store(true, Ordering::Relaxed)
    })
    .await;
    job.unset_error_handler().await;
    job.start().await;
    assert!(
        !called.load(Ordering::Relaxed),
        "not called even after start"
    );
    task.abort();
}

#[tokio::test]
async fn queue_ordering() {
    let (job, task) = start_job(erroring_command());
    let called = Arc::new(AtomicBool::new(false));
    job.set_error_handler({
        let called = Arc::clone(&called);
        move |_| called.store(true, Ordering::Relaxed)
    });
    job.unset_error_handler();
    // Not awaited until this one: the queue runs in order, so it is the same as awaiting all.
    job.start().await;
    assert!(!called.load(Ordering::Relaxed), "called after queue await");
    task.abort();
}

#[tokio::test]
async fn sync_func() {
    let (job, task) = start_job(working_command());
    let called = Arc::new(AtomicBool::new(false));
    let ticket = job.run({
        let called = Arc::clone(&called);
        move |_| called.store(true, Ordering::Relaxed)
    });
    ticket.await;
    assert!(called.load(Ordering::Relaxed), "after it's been processed");
    task.abort();
}

#[tokio::test]
async fn async_func() {
    let (job, task) = start_job(working_command());
    let called = Arc::new(AtomicBool::new(false));
    let ticket = job.run_async({
        let called = Arc::clone(&called);
        move |_| Box::new(async move { called.store(true, Ordering::Relaxed) })
    });
    ticket.await;
    assert!(called.load(Ordering::Relaxed), "after it's been processed");
    task.abort();
}

#[tokio::test]
async fn start() {
    let (job, task) = start_job(working_command());
    assert_eq!(state(&job, true).await, Some(Snapshot::Pending));
    job.start().await;
    assert!(is_running(state(&job, true).await));
    job.stop().await;
    task.abort();
}

#[tokio::test]
async fn signal_unix() {
    let (job, task) = start_job(working_command());
    assert_eq!(state(&job, true).await, Some(Snapshot::Pending));
    job.start();
    job.signal(Signal::User1).await;
    // Upstream checks its fake child got SIGUSR1; a real `sleep` dies of it.
    job.to_wait().await;
    assert_eq!(
        state(&job, true).await,
        Some(Snapshot::Finished(ProcessEnd::ExitSignal(Signal::User1)))
    );
    task.abort();
}

#[tokio::test]
async fn stop() {
    let (job, task) = start_job(working_command());
    job.start().await;
    assert!(is_running(state(&job, true).await));
    job.stop().await;
    assert_eq!(
        state(&job, true).await,
        Some(Snapshot::Finished(ProcessEnd::ExitSignal(
            Signal::ForceStop
        )))
    );
    task.abort();
}

#[tokio::test]
async fn stop_when_running() {
    let (job, task) = start_job(working_command());
    job.stop().await;
    assert_eq!(state(&job, true).await, Some(Snapshot::Pending));
    job.start().await;
    assert!(is_running(state(&job, true).await));
    job.stop().await;
    task.abort();
}

#[tokio::test]
async fn restart() {
    let (job, task) = start_job(working_command());
    job.start().await;
    assert!(is_running(state(&job, true).await));
    job.restart().await;
    assert!(is_running(state(&job, true).await));
    job.stop().await;
    assert!(is_finished(state(&job, false).await));
    assert!(is_finished(state(&job, true).await));
    task.abort();
}

#[tokio::test]
async fn graceful_stop() {
    let (job, task) = start_job(working_command());
    job.start().await;
    let stop = job.stop_with_signal(Signal::Terminate, GRACE);
    stop.await;
    assert_eq!(
        state(&job, true).await,
        Some(Snapshot::Finished(ProcessEnd::ExitSignal(
            Signal::Terminate
        )))
    );
    task.abort();
}

/// Upstream's regression test for watchexec#981: the last handle dropped during a graceful
/// stop; the task ends cleanly, without a panic.
#[tokio::test]
async fn graceful_stop_with_job_dropped() {
    let (job, task) = start_job(working_command());
    job.start().await;
    let _stop = job.stop_with_signal(Signal::Terminate, GRACE);
    drop(job);
    tokio::time::timeout(GRACE * 20, task)
        .await
        .expect("the task completes")
        .expect("the task does not panic");
}

#[tokio::test]
async fn graceful_restart() {
    let (job, task) = start_job(working_command());
    job.start().await;
    job.restart_with_signal(Signal::Terminate, GRACE).await;
    assert!(is_running(state(&job, true).await));
    job.stop().await;
    assert_eq!(
        state(&job, false).await,
        Some(Snapshot::Finished(ProcessEnd::ExitSignal(
            Signal::Terminate
        )))
    );
    assert!(is_finished(state(&job, true).await));
    task.abort();
}

#[tokio::test]
async fn graceful_stop_beyond_grace() {
    let (job, task) = start_job(ungraceful_command());
    job.start().await;
    until_trapped(&job).await;
    let stop = job.stop_with_signal(Signal::User1, GRACE);
    // Sent while the stop waits: High priority `to_wait` is not held back, a `run` is.
    assert!(job.is_running(), "after USR1 but before the delayed stop");
    stop.await;
    assert_eq!(
        state(&job, true).await,
        Some(Snapshot::Finished(ProcessEnd::ExitSignal(
            Signal::ForceStop
        )))
    );
    task.abort();
}

#[tokio::test]
async fn graceful_restart_beyond_grace() {
    let (job, task) = start_job(ungraceful_command());
    job.start().await;
    until_trapped(&job).await;
    let restart = job.restart_with_signal(Signal::User1, GRACE);
    assert!(
        job.is_running(),
        "after USR1 but before the delayed restart"
    );
    restart.await;
    assert!(is_running(state(&job, true).await));
    job.stop().await;
    assert_eq!(
        state(&job, false).await,
        Some(Snapshot::Finished(ProcessEnd::ExitSignal(
            Signal::ForceStop
        )))
    );
    assert!(is_finished(state(&job, true).await));
    task.abort();
}

#[tokio::test]
async fn try_restart() {
    let (job, task) = start_job(working_command());
    job.try_restart().await;
    assert_eq!(
        state(&job, true).await,
        Some(Snapshot::Pending),
        "not running after try-restart"
    );
    job.start().await;
    job.try_restart().await;
    assert!(is_running(state(&job, true).await));
    job.stop().await;
    assert!(is_finished(state(&job, false).await));
    assert!(is_finished(state(&job, true).await));
    task.abort();
}

#[tokio::test]
async fn try_graceful_restart() {
    let (job, task) = start_job(working_command());
    job.try_restart_with_signal(Signal::User1, GRACE).await;
    assert_eq!(state(&job, true).await, Some(Snapshot::Pending));
    job.start().await;
    let restart = job.try_restart_with_signal(Signal::Terminate, GRACE);
    restart.await;
    assert_eq!(
        state(&job, false).await,
        Some(Snapshot::Finished(ProcessEnd::ExitSignal(
            Signal::Terminate
        )))
    );
    assert!(is_running(state(&job, true).await));
    job.stop().await;
    assert!(is_finished(state(&job, true).await));
    task.abort();
}

#[tokio::test]
async fn try_restart_beyond_grace() {
    let (job, task) = start_job(ungraceful_command());
    job.try_restart().await;
    assert_eq!(state(&job, true).await, Some(Snapshot::Pending));
    job.start().await;
    job.try_restart().await;
    assert!(is_running(state(&job, true).await));
    job.stop().await;
    assert!(is_finished(state(&job, false).await));
    assert!(is_finished(state(&job, true).await));
    task.abort();
}

#[tokio::test]
async fn try_graceful_restart_beyond_grace() {
    let (job, task) = start_job(ungraceful_command());
    job.try_restart_with_signal(Signal::User1, GRACE).await;
    assert_eq!(state(&job, true).await, Some(Snapshot::Pending));
    job.start().await;
    until_trapped(&job).await;
    let restart = job.try_restart_with_signal(Signal::User1, GRACE);
    assert!(job.is_running());
    restart.await;
    assert_eq!(
        state(&job, false).await,
        Some(Snapshot::Finished(ProcessEnd::ExitSignal(
            Signal::ForceStop
        )))
    );
    assert!(is_running(state(&job, true).await));
    job.stop().await;
    assert!(is_finished(state(&job, true).await));
    task.abort();
}

/// Upstream's signal crate's own tests: job-control signals parse, display and convert.
#[test]
fn job_control_signals_parse_display_and_convert() {
    use nix::sys::signal::Signal as NixSignal;
    for (name, signal) in [
        ("SIGCONT", Signal::Continue),
        ("SIGSTOP", Signal::Suspend),
        ("SIGTSTP", Signal::TerminalSuspend),
    ] {
        assert_eq!(Signal::from_unix_str(name).unwrap(), signal);
        assert_eq!(signal.to_string(), name);
    }
    for (nix, signal) in [
        (NixSignal::SIGCONT, Signal::Continue),
        (NixSignal::SIGSTOP, Signal::Suspend),
        (NixSignal::SIGTSTP, Signal::TerminalSuspend),
    ] {
        assert_eq!(signal.to_nix(), Some(nix));
        assert_eq!(Signal::from_nix(nix), signal);
        assert_eq!(Signal::from(nix as i32), signal);
    }
    assert_eq!(Signal::Custom(6), Signal::from(NixSignal::SIGABRT as i32));
    assert_eq!(Signal::Custom(6), Signal::from_nix(NixSignal::SIGABRT));
    assert_eq!(Signal::Hangup, Signal::from_unix_str("hup").unwrap());
    assert_eq!(Signal::Interrupt, Signal::from_unix_str("SIGINT").unwrap());
    assert_eq!(Signal::ForceStop, Signal::from_unix_str("Kill").unwrap());
    assert_eq!(
        Signal::Hangup,
        Signal::from_windows_str("ctrl+close").unwrap()
    );
    assert_eq!(Signal::Interrupt, Signal::from_windows_str("C").unwrap());
    assert_eq!(Signal::ForceStop, Signal::from_windows_str("Stop").unwrap());
}

/// Tickets clone, and clones resolve together.
#[tokio::test]
async fn tickets_clone() {
    let (job, task) = start_job(working_command());
    let ticket = job.start();
    let clone = ticket.clone();
    ticket.await;
    clone.await;
    assert!(job.is_running());
    let stop = job.stop();
    let clones: Vec<_> = (0..3).map(|_| stop.clone()).collect();
    for clone in clones {
        clone.await;
    }
    assert!(!job.is_running());
    task.abort();
}

/// `ProcessEnd::into_exitstatus`, as upstream uses it in its tests.
#[test]
fn process_ends_convert_to_exit_statuses() {
    use std::num::NonZeroI64;
    let one = ProcessEnd::ExitError(NonZeroI64::new(1).unwrap());
    assert_eq!(ProcessEnd::from(one.into_exitstatus()), one);
    assert_eq!(
        ProcessEnd::from(ProcessEnd::Success.into_exitstatus()),
        ProcessEnd::Success
    );
    let term = ProcessEnd::ExitSignal(Signal::Terminate);
    assert_eq!(ProcessEnd::from(term.into_exitstatus()), term);
}

/// `Display for Program`, and `Shell::with_quoting` / `Shell.quote`.
#[test]
fn programs_display_and_shells_quote() {
    use procmux::supervisor::command::Shell;
    let program = Program::Exec {
        prog: "make".into(),
        args: vec!["check".into()],
    };
    assert_eq!(program.to_string(), "make check");
    let shell = Program::Shell {
        shell: Shell::new("sh"),
        command: "echo hi && true".into(),
        args: Vec::new(),
    };
    assert_eq!(shell.to_string(), "echo hi && true");
    assert!(Shell::new("sh").quote, "quoted by default on Unix");
    assert!(!Shell::with_quoting("pwsh", false).quote);
    assert_eq!(
        Shell::with_quoting("bash", true).program_option.as_deref(),
        Some(std::ffi::OsStr::new("-c"))
    );
}
