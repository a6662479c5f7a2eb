//! A grouped job owns everything it started, and ends when all of it has ended: stops give
//! every process its signal and grace (behind shell wrappers too, and stopped processes get
//! SIGCONT), leftovers of a leader that ended by itself are stopped gracefully, restarts wait
//! for the old run's ports, and no process is left behind.
//!
//! Each behaviour is a function of the tracking [`Mode`], run here with plain process groups
//! and with cgroups, and by `fallback` with process groups and the subreaper.

use std::net::TcpListener;
use std::num::NonZeroI64;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal as NixSignal, kill};
use nix::unistd::Pid;
use procmux::supervisor::command::{SpawnOptions, StopPolicy};
use procmux::supervisor::tracking::{Tracker, Tracking, TrackingRequest};
use procmux::supervisor::{ProcessEnd, Signal};

use crate::harness::*;
use crate::support::*;

/// A tracker with cgroups, or `None` (with the reason printed) where they cannot be had.
pub fn cgroup_mode() -> Option<Mode> {
    cgroup_tracker().map(Mode::Tracked)
}

/// `cgroup_mode` with the setup declared: the job spawns by vfork.
pub fn vfork_mode() -> Option<Mode> {
    cgroup_tracker().map(Mode::Declared)
}

/// Both cgroup modes (none where cgroups cannot be had).
pub fn cgroup_modes() -> Vec<Mode> {
    [cgroup_mode(), vfork_mode()]
        .into_iter()
        .flatten()
        .collect()
}

fn cgroup_tracker() -> Option<std::sync::Arc<Tracker>> {
    let tracker = Tracker::detect_with(TrackingRequest::CgroupOnly);
    match tracker.tracking() {
        Tracking::Cgroup { .. } => Some(tracker),
        Tracking::ProcessGroup { reason } => {
            eprintln!("skipped: no cgroup tracking here ({reason})");
            None
        }
    }
}

fn with_leftovers(signal: Signal, grace: Duration) -> SpawnOptions {
    SpawnOptions {
        leftover_stop: Some(StopPolicy { signal, grace }),
        ..grouped()
    }
}

/// The issue's example: a TERM trap behind a shell wrapper (`cd . && sh -c ...`, where the
/// outer shell dies of SIGTERM at once) still runs, and the stop waits for it.
pub async fn trap_behind_a_wrapper_completes_within_the_grace(mode: &Mode) {
    let line = r#"cd . && sh -c 'trap "sleep 1; echo done; exit 0" TERM; echo ready; while :; do sleep 0.1; done'"#;
    let h = Harness::new(line, grouped(), mode).await;
    h.start_ready().await;
    let began = Instant::now();
    within("stop", h.job.stop_with_signal(Signal::Terminate, LONG)).await;
    let took = began.elapsed();
    let done = h.line_at("done").await;
    let ends = h.ends();
    assert_eq!(ends.len(), 1, "{:?}", h.happened());
    // The status is the leader's: the wrapper, killed by the signal.
    assert_eq!(ends[0].1, ProcessEnd::ExitSignal(Signal::Terminate));
    // The trap's shell was alive until it printed `done`, and `ends` checks that nothing
    // was alive at the end: so the end came after it.
    let _ = done;
    assert!(
        took >= Duration::from_millis(900),
        "stop took only {took:?}"
    );
    assert!(took < LONG / 2, "stop waited for the deadline: {took:?}");
    h.assert_no_survivors().await;
}

/// The issue's exact line: the trap does not exit, so the loop goes on after `done`, and the
/// stop kills it at the grace.
pub async fn trap_that_does_not_exit_prints_then_dies_at_the_grace(mode: &Mode) {
    let line = r#"cd . && sh -c 'trap "sleep 1; echo done" TERM; echo ready; while :; do sleep 0.1; done'"#;
    let h = Harness::new(line, grouped(), mode).await;
    h.start_ready().await;
    let grace = Duration::from_millis(2500);
    let began = Instant::now();
    within("stop", h.job.stop_with_signal(Signal::Terminate, grace)).await;
    assert!(began.elapsed() >= grace, "killed before the grace");
    assert!(h.lines().iter().any(|l| l == "done"), "{:?}", h.lines());
    h.assert_no_survivors().await;
}

/// A process that ignores TERM behind a wrapper is killed at the grace, and not before.
pub async fn ignoring_term_behind_a_wrapper_dies_at_the_grace(mode: &Mode) {
    let line = r#"cd . && sh -c 'trap "" TERM; echo ready; while :; do sleep 0.1; done'"#;
    let h = Harness::new(line, grouped(), mode).await;
    h.start_ready().await;
    let grace = Duration::from_millis(1500);
    let began = Instant::now();
    let stop = h.job.stop_with_signal(Signal::Terminate, grace);
    // Well before the grace the wrapper is dead, the trapped shell alive, the job running.
    tokio::time::sleep(grace / 2).await;
    assert!(h.job.is_running(), "the job ended with the wrapper");
    assert!(!h.survivors().is_empty(), "the trapped shell died early");
    within("stop", stop).await;
    let took = began.elapsed();
    assert!(took >= grace, "killed after {took:?}, before the grace");
    assert!(
        took < grace + Duration::from_secs(5),
        "killed late: {took:?}"
    );
    assert!(!h.job.is_running());
    h.assert_no_survivors().await;
}

/// The issue's example: `(sleep .5; echo late) &` behind a leader that exits. The leftovers
/// get the stop signal (INT here, which a non-interactive shell's background jobs ignore) and
/// their grace: `late` is printed, and the job ends after it, with the leader's status. (The
/// leader waits until the subshell runs: a child that has not yet set its signals up when the
/// stop signal comes dies of it, whatever procmux does.)
pub async fn leftovers_of_a_leader_that_exited_are_stopped_gracefully(mode: &Mode) {
    let line = r#"(touch "$SCRATCH/up"; sleep .5; echo late) & until [ -e "$SCRATCH/up" ]; do sleep 0.01; done; echo ready; exit 0"#;
    let h = Harness::new(line, with_leftovers(Signal::Interrupt, LONG), mode).await;
    let began = Instant::now();
    h.start_ready().await;
    within("to_wait", h.job.to_wait()).await;
    let late = h.line_at("late").await;
    let ends = h.ends();
    assert_eq!(ends.len(), 1, "{:?}", h.happened());
    assert_eq!(ends[0].1, ProcessEnd::Success);
    let _ = late;
    assert!(ends[0].0 - began >= Duration::from_millis(400));
    let news = h.leftovers();
    assert_eq!(news.len(), 1, "{:?}", h.happened());
    assert!(news[0].count >= 1);
    assert_eq!(news[0].status, ProcessEnd::Success);
    assert_eq!(news[0].stop.signal, Signal::Interrupt);
    h.assert_no_survivors().await;
}

/// Leftovers that trap the stop signal run their trap: TERM (the default leftover stop)
/// reaches them, they say so and exit, and the job ends then, well before the grace.
pub async fn leftovers_get_the_stop_signal_and_sigcont(mode: &Mode) {
    let line = r#"(trap "echo late; exit 0" TERM; touch "$SCRATCH/trapped"; while :; do sleep 0.1; done) & until [ -e "$SCRATCH/trapped" ]; do sleep 0.01; done; echo ready; exit 3"#;
    let h = Harness::new(line, grouped(), mode).await;
    h.start_ready().await;
    within("to_wait", h.job.to_wait()).await;
    let late = h.line_at("late").await;
    let ends = h.ends();
    assert_eq!(ends.len(), 1, "{:?}", h.happened());
    assert_eq!(
        ends[0].1,
        ProcessEnd::ExitError(NonZeroI64::new(3).unwrap())
    );
    let _ = late;
    assert_eq!(h.leftovers()[0].stop, StopPolicy::DEFAULT_LEFTOVERS);
    h.assert_no_survivors().await;
}

/// Leftovers that ignore the stop signal are killed at the grace, counted from the leader's
/// end; until then the job is running (`start` is a no-op, `to_wait` waits).
pub async fn leftovers_that_ignore_it_die_at_the_grace(mode: &Mode) {
    let line = r#"(trap "" TERM; touch "$SCRATCH/trapped"; exec sleep 1000) & echo $! > "$SCRATCH/left"; until [ -e "$SCRATCH/trapped" ]; do sleep 0.01; done; echo ready; exit 0"#;
    let grace = Duration::from_millis(1200);
    let h = Harness::new(line, with_leftovers(Signal::Terminate, grace), mode).await;
    h.start_ready().await;
    let pids = Pids::default();
    let left = h.scratch.read_pids("left", 1, &pids).await[0];
    assert!(eventually(|| !h.leftovers().is_empty()).await);
    let leader_end = h.happened()[h
        .happened()
        .iter()
        .position(|(_, e)| matches!(e, Happened::Leftovers(_)))
        .unwrap()]
    .0;
    assert!(h.job.is_running());
    within("start", h.job.start()).await;
    assert_eq!(h.runs().len(), 1, "start spawned while leftovers ran");
    within("to_wait", h.job.to_wait()).await;
    let ended = h.ends()[0].0;
    assert!(ended - leader_end >= grace - Duration::from_millis(50));
    assert!(!alive(left));
    assert!(!h.job.is_running());
    h.assert_no_survivors().await;
}

/// A stopped (SIGSTOP) process behind the leader acts on a graceful stop at once: it gets
/// SIGCONT after the signal, so the stop does not wait for the grace.
pub async fn a_stopped_child_stops_without_the_whole_grace(mode: &Mode) {
    let line = r#"sh -c 'trap "echo bye; exit 0" TERM; echo $$ > "$SCRATCH/child"; while :; do sleep 0.1; done' & echo ready; wait"#;
    let h = Harness::new(line, grouped(), mode).await;
    h.start_ready().await;
    let pids = Pids::default();
    let child = h.scratch.read_pids("child", 1, &pids).await[0];
    kill(Pid::from_raw(child), NixSignal::SIGSTOP).unwrap();
    assert!(eventually(|| state_letter(child) == Some('T')).await);
    let began = Instant::now();
    within("stop", h.job.stop_with_signal(Signal::Terminate, LONG)).await;

    assert!(began.elapsed() < LONG / 4, "waited {:?}", began.elapsed());
    h.line_at("bye").await;
    h.assert_no_survivors().await;
}

/// The leader itself stopped: same.
pub async fn a_stopped_leader_stops_without_the_whole_grace(mode: &Mode) {
    let line = r#"trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done"#;
    let h = Harness::new(line, grouped(), mode).await;
    h.start_ready().await;
    let pid = i32::try_from(h.runs()[0].pid).unwrap();
    kill(Pid::from_raw(pid), NixSignal::SIGSTOP).unwrap();
    assert!(eventually(|| state_letter(pid) == Some('T')).await);
    let began = Instant::now();
    within("stop", h.job.stop_with_signal(Signal::Terminate, LONG)).await;
    assert!(began.elapsed() < LONG / 4);
    assert_eq!(h.ends()[0].1, ProcessEnd::Success);
    h.assert_no_survivors().await;
}

/// A graceful restart starts the new process only once the old run has ended: its port is
/// free. The old listener sits behind a wrapper and takes half a second to close.
pub async fn restart_waits_for_the_old_port(mode: &Mode) {
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let script = format!(
        "import socket, signal, sys, time\n\
         s = socket.socket()\n\
         try:\n    s.bind(('127.0.0.1', {port}))\n\
         except OSError as e:\n    print('bind failed', e, flush=True); sys.exit(1)\n\
         s.listen()\n\
         def bye(*_):\n    time.sleep(0.5); print('closed', flush=True); sys.exit(0)\n\
         signal.signal(signal.SIGTERM, bye)\n\
         print('ready', flush=True)\n\
         while True: time.sleep(1)\n"
    );
    std::fs::write(
        std::env::temp_dir().join(format!("procmux-listen-{port}.py")),
        &script,
    )
    .unwrap();
    let line = format!("cd . && python3 -u /tmp/procmux-listen-{port}.py");
    let h = Harness::new(&line, grouped(), mode).await;
    h.start_ready().await;
    within(
        "restart",
        h.job.restart_with_signal(Signal::Terminate, LONG),
    )
    .await;
    assert!(
        eventually(|| h.lines().iter().filter(|l| *l == "ready").count() == 2).await,
        "{:?}",
        h.lines()
    );
    let lines = h.lines();
    assert!(
        !lines.iter().any(|l| l.starts_with("bind failed")),
        "{lines:?}"
    );
    let closed = lines.iter().position(|l| l == "closed").expect("closed");
    let second = lines.iter().rposition(|l| l == "ready").expect("ready");
    assert!(closed < second, "{lines:?}");
    within("delete", h.job.delete()).await;
    h.assert_no_survivors().await;
    let _ = std::fs::remove_file(std::env::temp_dir().join(format!("procmux-listen-{port}.py")));
}

/// A job whose group still holds a process when its leader exits reports its exit once that
/// process is gone (here it ignores TERM and ends on its own), with the leader's status.
pub async fn exit_is_reported_once_the_group_is_empty(mode: &Mode) {
    let line = r#"(trap '' TERM; touch "$SCRATCH/trapped"; sleep 0.6) & until [ -e "$SCRATCH/trapped" ]; do sleep 0.01; done; echo ready; exit 0"#;
    let h = Harness::new(line, grouped(), mode).await;
    let began = Instant::now();
    h.start_ready().await;
    within("to_wait", h.job.to_wait()).await;
    let ends = h.ends();
    assert_eq!(ends.len(), 1);
    assert_eq!(ends[0].1, ProcessEnd::Success);
    let ready = h.line_at("ready").await;
    assert!(
        ends[0].0 - ready >= Duration::from_millis(500),
        "reported too early"
    );
    assert!(
        ends[0].0 - began < StopPolicy::DEFAULT_LEFTOVERS.grace,
        "waited for the kill"
    );
    h.assert_no_survivors().await;
}

/// `stop` (SIGKILL) ends everything, wrapper and all.
pub async fn stop_kills_everything(mode: &Mode) {
    let line = r#"cd . && sh -c 'trap "" TERM; sleep 1000 & echo ready; wait'"#;
    let h = Harness::new(line, grouped(), mode).await;
    h.start_ready().await;
    within("stop", h.job.stop()).await;
    assert!(!h.job.is_running());
    h.assert_no_survivors().await;
}

/// While leftovers drain, the job is running: signals reach them, and a dead task (aborted
/// here) kills them.
pub async fn draining_leftovers_are_signalled_and_die_with_the_task(mode: &Mode) {
    let line = r#"(trap "" TERM; trap "echo usr1" USR1; touch "$SCRATCH/up"; while :; do sleep 0.1; done) & until [ -e "$SCRATCH/up" ]; do sleep 0.01; done; echo ready; exit 0"#;
    let mut h = Harness::new(line, with_leftovers(Signal::Terminate, LONG), mode).await;
    h.start_ready().await;
    assert!(eventually(|| !h.leftovers().is_empty()).await);
    assert!(h.job.is_running());
    within("signal", h.job.signal(Signal::User1)).await;
    h.line_at("usr1").await;
    assert!(!h.survivors().is_empty());
    h.task.abort();
    let _ = (&mut h.task).await;
    assert!(h.job.is_dead());
    h.assert_no_survivors().await;
}

/// The one-letter state of a process, from `/proc`.
pub fn state_letter(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rfind(')')
        .and_then(|end| stat[end + 1..].split_whitespace().next())
        .and_then(|s| s.chars().next())
}

/// A test per mode: plain process groups, cgroups, and cgroups with the vfork spawn.
macro_rules! in_every_mode {
    ($($name:ident),* $(,)?) => {
        mod plain {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&crate::harness::Mode::Plain).await;
                }
            )*
        }
        mod cgroup {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(mode) = super::cgroup_mode() {
                        super::$name(&mode).await;
                    }
                }
            )*
        }
        mod cgroup_vfork {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(mode) = super::vfork_mode() {
                        super::$name(&mode).await;
                    }
                }
            )*
        }
    };
}

in_every_mode!(
    trap_behind_a_wrapper_completes_within_the_grace,
    trap_that_does_not_exit_prints_then_dies_at_the_grace,
    ignoring_term_behind_a_wrapper_dies_at_the_grace,
    leftovers_of_a_leader_that_exited_are_stopped_gracefully,
    leftovers_get_the_stop_signal_and_sigcont,
    leftovers_that_ignore_it_die_at_the_grace,
    a_stopped_child_stops_without_the_whole_grace,
    a_stopped_leader_stops_without_the_whole_grace,
    restart_waits_for_the_old_port,
    exit_is_reported_once_the_group_is_empty,
    stop_kills_everything,
    draining_leftovers_are_signalled_and_die_with_the_task,
);
