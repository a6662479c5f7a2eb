//! What each process is started with (cwd, PORT, PS, stdin, order) and the output flags.

use nix::sys::signal::Signal;

use crate::support::{Procmux, Start, code, system_text};

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

/// Starts spawn two at a time, so a later one may finish spawning first: what each makes
/// visible still comes in manifest order, and each process's output after its own `started`
/// line, with processes that end at once among them.
#[test]
fn parallel_starts_keep_manifest_order_and_each_output_follows_its_started_line() {
    const TALKERS: usize = 40;
    const QUICK: usize = 20;
    let manifest = format!(
        "[processes.talk]\ncommand = \"echo hello from $PS; exec sleep 1000\"\n\
         instances = {TALKERS}\n\n\
         [processes.quick]\ncommand = \"echo bye from $PS\"\ninstances = {QUICK}\n\
         can_die = true\n"
    );
    for envs in [&[][..], &[("PROCMUX_TRACKING", "group")][..]] {
        let procmux = Procmux::start_with_env(Start::plain("procmux.toml", &manifest), envs);
        procmux.wait_for_count("every hello", TALKERS, |l| l.contains("| hello from "));
        procmux.wait_for_count("every quick exit", QUICK, |l| {
            l.contains("quick.") && l.contains(" exited with code 0")
        });
        let lines = procmux.lines();
        let started: Vec<String> = lines
            .iter()
            .filter_map(|l| system_text(l))
            .filter(|t| t.contains(" started with pid "))
            .map(|t| t.split(' ').next().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = (1..=TALKERS)
            .map(|n| format!("talk.{n}"))
            .chain((1..=QUICK).map(|n| format!("quick.{n}")))
            .collect();
        assert_eq!(started, expected, "{envs:?}: {lines:#?}");
        let at = |what: &str, pred: &dyn Fn(&str) -> bool| {
            lines
                .iter()
                .position(|l| pred(l))
                .unwrap_or_else(|| panic!("{envs:?}: no {what} in {lines:#?}"))
        };
        for name in &expected {
            let started = at("started line", &|l| {
                system_text(l).is_some_and(|t| t.starts_with(&format!("{name} started with pid ")))
            });
            let words = if name.starts_with("talk") {
                "hello"
            } else {
                "bye"
            };
            let said = at("output line", &|l| {
                l.ends_with(&format!("| {words} from {name}"))
            });
            assert!(
                started < said,
                "{envs:?}: {name} spoke before its start: {lines:#?}"
            );
            if words == "bye" {
                let exited = at("exit line", &|l| {
                    system_text(l) == Some(&format!("{name} exited with code 0"))
                });
                assert!(
                    said < exited,
                    "{envs:?}: {name}'s line after its exit: {lines:#?}"
                );
            }
        }
        stop(procmux);
    }
}

/// Each instance holds up to five descriptors in procmux: under the soft limit of 1,024 open
/// files that many desktops still give programs, a fleet of 400 used to stop at about 330.
#[test]
fn a_fleet_larger_than_a_1024_open_files_limit_starts_whole() {
    const FLEET: usize = 400;
    let manifest = format!("[processes.many]\ncommand = \"sleep 1000\"\ninstances = {FLEET}\n");
    let procmux =
        Procmux::start_with_open_files_limit(Start::plain("procmux.toml", &manifest), 1024);
    procmux.wait_for_count("every start", FLEET, |l| l.contains(" started with pid "));
    assert!(
        !procmux
            .lines()
            .iter()
            .any(|l| l.contains("failed to start")),
        "{:#?}",
        procmux.lines()
    );
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

/// A descriptor procmux inherited without close-on-exec (here 7, from the shell that started
/// it) reaches none of its processes, whichever way they are spawned: they start with 0, 1
/// and 2 only, as under foreman and honcho.
#[test]
fn processes_start_with_stdin_stdout_and_stderr_only() {
    // `ls` lists its own directory descriptor too: the highest, dropped.
    let procfile =
        "fds: ls /proc/self/fd | sort -n | head -n -1 | tr '\\n' ' '; echo end; exec sleep 1000\n";
    for tracking in ["", "export PROCMUX_TRACKING=group && "] {
        let procmux = Procmux::start_after(
            Start::plain("Procfile", procfile),
            &format!("{tracking}exec 7</dev/null"),
        );
        let line = procmux.wait_for("the list", |l| l.starts_with("fds") && l.ends_with("end"));
        let held = std::fs::read_link(format!("/proc/{}/fd/7", procmux.pid()));
        assert!(held.is_ok(), "procmux did not inherit 7");
        assert_eq!(line, "fds    | 0 1 2 end", "{tracking}");
        stop(procmux);
    }
}
