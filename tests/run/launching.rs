//! What each process is started with (cwd, PORT, PS, stdin, order) and the output flags.

use nix::sys::signal::Signal;

use crate::support::{Procmux, Start, code};

fn stop(mut procmux: Procmux) {
    procmux.signal(Signal::SIGINT);
    assert_eq!(code(procmux.wait_exit()), 130);
    procmux.assert_no_survivors();
}

#[test]
fn each_instance_gets_its_cwd_port_and_ps() {
    let procmux = Procmux::start_with(Start {
        file: "procmux.toml",
        manifest: "[processes.first]\ncommand = \"sleep 1000\"\n\n\
                   [processes.show]\ncommand = \"echo PORT=$PORT PS=$PS; pwd; sleep 1000\"\n\
                   cwd = \"sub\"\ninstances = 2\n",
        args: &[],
        read_stdout: true,
        files: &[("sub/.keep", "")],
    });
    procmux.wait_for("show.1's environment", |l| {
        l == "show.1 | PORT=5100 PS=show.1"
    });
    procmux.wait_for("show.2's environment", |l| {
        l == "show.2 | PORT=5101 PS=show.2"
    });
    let sub = procmux.path().join("sub").canonicalize().unwrap();
    let cwd_line = format!("show.1 | {}", sub.display());
    procmux.wait_for("show.1's cwd", |l| l == cwd_line);
    stop(procmux);
}

#[test]
fn stdin_is_an_open_pipe_that_never_ends() {
    // `esbuild --watch` and `tailwindcss --watch` exit at stdin EOF: a child that reads its
    // stdin must block, not see EOF.
    let procmux = Procmux::procfile(
        "reader: python3 -c 'import select,sys; r=select.select([sys.stdin],[],[],0.3)[0]; \
         print(\"eof\" if r else \"open\", flush=True)'; cat; echo cat-ended\n",
    );
    procmux.wait_for("the verdict", |l| l == "reader | open");
    let cat = procmux.wait_for_processes("cat", 1)[0];
    let stdin = std::fs::read_link(format!("/proc/{cat}/fd/0")).unwrap();
    assert!(
        stdin.to_string_lossy().starts_with("pipe:"),
        "stdin is {stdin:?}"
    );
    assert!(
        !procmux.lines().iter().any(|l| l.contains("cat-ended")),
        "cat saw EOF: {:#?}",
        procmux.lines()
    );
    stop(procmux);
}

#[test]
fn processes_start_in_file_order() {
    let names = ["zulu", "alpha", "mike", "bravo", "yankee"];
    let procfile: String = names.iter().map(|n| format!("{n}: sleep 1000\n")).collect();
    let procmux = Procmux::procfile(&procfile);
    let started = procmux.wait_for_count("five starts", 5, |l| l.contains("started with pid"));
    let order: Vec<&str> = started
        .iter()
        .map(|l| l.trim_start_matches("system | ").split(' ').next().unwrap())
        .collect();
    assert_eq!(order, names);
    stop(procmux);
}

#[test]
fn timestamps_come_first_when_asked() {
    let procmux = Procmux::start_with(Start {
        file: "Procfile",
        manifest: "clock: echo tick; sleep 1000\n",
        args: &["--timestamps"],
        read_stdout: true,
        files: &[],
    });
    let line = procmux.wait_for("the tick", |l| l.ends_with("clock  | tick"));
    let stamp = &line[..9];
    assert!(
        stamp.len() == 9
            && stamp.as_bytes()[2] == b':'
            && stamp.as_bytes()[5] == b':'
            && stamp.ends_with(' ')
            && stamp.bytes().filter(u8::is_ascii_digit).count() == 6,
        "{line:?}"
    );
    stop(procmux);
}

#[test]
fn raw_output_has_no_prefix() {
    let procmux = Procmux::start_with(Start {
        file: "Procfile",
        manifest: "plain: echo just the line; sleep 1000\n",
        args: &["--raw"],
        read_stdout: true,
        files: &[],
    });
    procmux.wait_for("the bare line", |l| l == "just the line");
    stop(procmux);
}

#[test]
fn color_always_colours_the_prefix_only() {
    let procmux = Procmux::start_with(Start {
        file: "procmux.toml",
        manifest: "[processes.web]\ncommand = \"echo hello; sleep 1000\"\ncolor = \"red\"\n",
        args: &["--color", "always"],
        read_stdout: true,
        files: &[],
    });
    let line = procmux.wait_for("the coloured line", |l| l.ends_with("hello"));
    assert!(line.starts_with("\x1b[31m"), "{line:?}");
    assert!(
        line.ends_with(" hello") && !line.ends_with("\x1b[0mhello\x1b[0m"),
        "{line:?}"
    );
    stop(procmux);
}
