//! A SIGKILLed procmux leaves nothing: shell wrappers, grandchildren, several instances,
//! restarted instances, and a SIGKILL to procmux's whole process group.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::custom::{Custom, Options};
use crate::procfs::wait_for_watchdog;
use crate::support::{Procmux, Start};

/// What the parent-death signal alone does not stop: the real programs behind `sh`.
const WRAPPED: &str = "\
wrapped: sh -c 'sleep 1000 & sleep 1000 & wait'
cd: cd . && sleep 1000
nested: sh -c 'sh -c \"sleep 1000 & wait\" & wait'
";

/// The sleeps of [`WRAPPED`] with `-m wrapped=2`: 2 x 2 + 1 + 1.
const WRAPPED_SLEEPS: usize = 6;
const WRAPPED_INSTANCES: usize = 4;

/// Whether procmux's first line says its processes are tracked by cgroup.
pub fn tracked_by_cgroup(procmux: &Procmux) -> bool {
    procmux
        .lines()
        .iter()
        .any(|line| line.contains("processes tracked by cgroup"))
}

/// The line the watchdog prints after a sweep.
const SWEPT: &str = "ended without saying goodbye: sent SIGKILL to";

#[test]
fn sigkill_of_procmux_leaves_no_shell_wrapped_program_nor_grandchild() {
    let mut procmux = Procmux::start_with(Start {
        file: "Procfile",
        manifest: WRAPPED,
        args: &["-m", "wrapped=2"],
        read_stdout: true,
        files: &[],
    });
    // `started` is printed after the group was handed to the watchdog.
    procmux.wait_for_count("every start", WRAPPED_INSTANCES, |l| {
        l.contains("started with pid")
    });
    procmux.wait_for_processes("sleep", WRAPPED_SLEEPS);
    wait_for_watchdog(procmux.pid().as_raw(), None);

    procmux.signal(Signal::SIGKILL);
    let status = procmux.wait_exit();
    assert_eq!(status.code(), None, "procmux was not killed: {status:?}");
    let swept = procmux.wait_for_text(SWEPT);
    // Where cgroups are writable, procmux's cgroup holds every instance's and the watchdog
    // knows it alone; elsewhere it knows each instance's process group.
    let expected = if tracked_by_cgroup(&procmux) {
        "SIGKILL to 0 process groups and 1 cgroup".to_owned()
    } else {
        format!("SIGKILL to {WRAPPED_INSTANCES} process groups and 0 cgroups")
    };
    assert!(swept.contains(&expected), "{swept}");
    // The watchdog carries the token too: it must be gone as well.
    procmux.assert_no_survivors();
}

#[test]
fn sigkill_of_procmux_after_restarts_kills_the_current_groups() {
    // Each run leaves a sleep behind in its group, which the supervisor sweeps when the
    // leader exits; the restarted run's group is a new one the watchdog must be told.
    let mut procmux = Procmux::toml(
        "[processes.cycle]\ncommand = \"sleep 1000 & sleep 0.05; exit 1\"\nrestart = \"always\"\n\n\
         [processes.long]\ncommand = \"sh -c 'sleep 1000 & wait'\"\n",
    );
    procmux.wait_for_count("three starts", 3, |l| l.contains("cycle started with pid"));
    procmux.wait_for_text("long started with pid");
    wait_for_watchdog(procmux.pid().as_raw(), None);
    procmux.signal(Signal::SIGKILL);
    procmux.wait_exit();
    procmux.wait_for_text(SWEPT);
    procmux.assert_no_survivors();
}

#[test]
fn sigkill_of_procmux_whole_process_group_misses_the_watchdog() {
    // `kill -9 -PGID`, a shell's `kill -9 %1`: the watchdog leads its own group, so it
    // survives the blow it is there to clean up after.
    let mut procmux = Custom::start(Options {
        procfile: WRAPPED,
        env: &[],
        own_group: true,
    });
    procmux.wait_for_count("started with pid", 3);
    let watchdog = wait_for_watchdog(procmux.pid(), None);
    let group = crate::procfs::stat(watchdog).unwrap()[2].clone();
    assert_eq!(
        group,
        watchdog.to_string(),
        "the watchdog leads its own group"
    );

    killpg(Pid::from_raw(procmux.pid()), Signal::SIGKILL).unwrap();
    let status = procmux.wait_exit();
    assert_eq!(status.code(), None, "procmux was not killed: {status:?}");
    procmux.wait_for_count(SWEPT, 1);
    procmux.assert_no_survivors();
}
