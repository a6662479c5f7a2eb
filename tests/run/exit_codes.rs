//! procmux's exit code: the first ending process's code, 128 + N for a signal, and the
//! conventional codes when procmux itself is told to stop.

use nix::sys::signal::Signal;

use crate::support::{Procmux, code};

#[test]
fn a_child_exit_code_becomes_procmux_exit_code() {
    let mut procmux = Procmux::procfile("fail: sh -c 'sleep 0.2; exit 3'\nlong: sleep 1000\n");
    let status = procmux.wait_exit();
    assert_eq!(code(status), 3, "{:#?}", procmux.lines());
    procmux.wait_for_text("fail exited with code 3");
    procmux.assert_no_survivors();
}

#[test]
fn a_child_killed_by_sigkill_gives_137() {
    let mut procmux = Procmux::procfile("victim: sleep 0.2; kill -9 $$\nlong: sleep 1000\n");
    let status = procmux.wait_exit();
    assert_eq!(code(status), 137, "{:#?}", procmux.lines());
    procmux.wait_for_text("victim exited with signal SIGKILL");
    procmux.assert_no_survivors();
}

#[test]
fn ctrl_c_gives_130_even_when_children_exit_nonzero_on_it() {
    let mut procmux = Procmux::procfile("a: sh -c 'trap \"exit 7\" TERM; sleep 1000 & wait'\n");
    procmux.wait_for_processes("sleep", 1);
    procmux.signal(Signal::SIGINT);
    assert_eq!(code(procmux.wait_exit()), 130);
    procmux.assert_no_survivors();
}

#[test]
fn every_process_succeeding_gives_0() {
    let mut procmux = Procmux::toml(
        "[processes.one]\ncommand = \"true\"\ncan_die = true\n\n\
         [processes.two]\ncommand = \"sh -c 'sleep 0.2'\"\ncan_die = true\n",
    );
    assert_eq!(code(procmux.wait_exit()), 0, "{:#?}", procmux.lines());
}

#[test]
fn a_manifest_error_gives_2_and_starts_nothing() {
    let mut procmux = Procmux::procfile("web sleep 1000\n");
    assert_eq!(code(procmux.wait_exit()), 2);
    procmux.assert_no_survivors();
}

#[test]
fn an_unknown_process_name_gives_2() {
    let mut procmux = Procmux::start_with(crate::support::Start {
        file: "Procfile",
        manifest: "web: sleep 1000\n",
        args: &["wbe"],
        read_stdout: true,
        files: &[],
    });
    assert_eq!(code(procmux.wait_exit()), 2);
    procmux.wait_for_text("did you mean \"web\"");
    procmux.assert_no_survivors();
}

#[test]
fn a_program_that_does_not_exist_is_reported_and_stops_the_stack() {
    let mut procmux = Procmux::toml(
        "[processes.ghost]\ncommand = [\"/nonexistent/program\"]\n\n\
         [processes.long]\ncommand = \"sleep 1000\"\n",
    );
    let status = procmux.wait_exit();
    assert_eq!(code(status), 127, "{:#?}", procmux.lines());
    procmux.wait_for_text("ghost failed to start");
    procmux.assert_no_survivors();
}
