//! What the watchdog costs while procmux idles: no CPU (asleep in `read(2)`), one thread, a
//! few hundred KiB of its own memory; and what it holds: its pipe and nothing else, in its
//! own process group, in `/`.

use std::time::Duration;

use crate::procfs::{fds, kib, stat, wait_for_watchdog};
use crate::support::Procmux;

/// Memory only the watchdog uses (its anonymous pages: heap, stack, relocated data), in KiB.
const OWN_MEMORY_LIMIT_KIB: u64 = 1024;

#[test]
fn an_idle_watchdog_sleeps_uses_no_cpu_and_little_memory() {
    let procmux = Procmux::procfile("a: sh -c 'sleep 1000 & wait'\n");
    procmux.wait_for_text("a started with pid");
    let watchdog = wait_for_watchdog(procmux.pid().as_raw(), None);
    let ticks = |pid| {
        let fields = stat(pid).expect("alive");
        let tick = |i: usize| fields[i].parse::<u64>().expect("a number");
        (fields[0].clone(), tick(11) + tick(12))
    };
    let (_, before) = ticks(watchdog);
    // A measurement over a fixed span is the point here, not a wait for something.
    std::thread::sleep(Duration::from_secs(1));
    let (state, after) = ticks(watchdog);
    assert_eq!(state, "S", "asleep");
    assert_eq!(after, before, "CPU ticks while idle");
    assert_eq!(
        crate::procfs::status_field(watchdog, "Threads").as_deref(),
        Some("1")
    );

    let rss = kib(watchdog, "status", "VmRSS");
    let anon = kib(watchdog, "status", "RssAnon");
    let file = kib(watchdog, "status", "RssFile");
    let pss = kib(watchdog, "smaps_rollup", "Pss");
    let private = kib(watchdog, "smaps_rollup", "Private_Clean")
        + kib(watchdog, "smaps_rollup", "Private_Dirty");
    eprintln!(
        "watchdog memory: VmRSS {rss} kB (RssAnon {anon} kB, RssFile {file} kB), Pss {pss} kB, \
         private {private} kB"
    );
    assert!(
        anon <= OWN_MEMORY_LIMIT_KIB,
        "the watchdog's own memory is {anon} kB (VmRSS {rss} kB)"
    );
}

#[test]
fn the_watchdog_holds_its_pipe_and_nothing_else_and_no_child_holds_the_other_end() {
    let procmux = Procmux::procfile("a: sh -c 'sleep 1000 & wait'\nb: cd . && sleep 1000\n");
    procmux.wait_for_count("both starts", 2, |l| l.contains("started with pid"));
    procmux.wait_for_processes("sleep", 2);
    let watchdog = wait_for_watchdog(procmux.pid().as_raw(), None);

    let held = fds(watchdog);
    assert_eq!(
        held.iter().map(|(fd, _)| *fd).take(3).collect::<Vec<_>>(),
        [0, 1, 2],
        "{held:?}"
    );
    // Beyond stdio, only what procmux itself inherited from whoever started this test (a
    // CI runner's descriptors that were not close-on-exec): nothing procmux opened.
    let inherited = fds(std::process::id() as i32);
    for fd in &held[3..] {
        assert!(
            inherited.contains(fd),
            "the watchdog holds {fd:?} from procmux"
        );
    }
    let pipe = &held[0].1;
    assert!(pipe.starts_with("pipe:"), "stdin is {pipe}");
    assert_eq!(held[1].1, "/dev/null");
    let holders = |pid| fds(pid).into_iter().filter(|(_, t)| t == pipe).count();
    assert_eq!(
        holders(procmux.pid().as_raw()),
        1,
        "procmux holds the write end"
    );
    for pid in procmux.tagged_processes() {
        if pid != watchdog {
            assert_eq!(holders(pid), 0, "pid {pid} inherited the watchdog's pipe");
        }
    }

    let fields = stat(watchdog).expect("alive");
    let procmux_fields = stat(procmux.pid().as_raw()).expect("alive");
    assert_eq!(
        fields[2],
        watchdog.to_string(),
        "leads its own process group"
    );
    assert_eq!(fields[3], procmux_fields[3], "stays in procmux's session");
    assert_eq!(
        std::fs::read_link(format!("/proc/{watchdog}/cwd")).unwrap(),
        std::path::Path::new("/")
    );
}
