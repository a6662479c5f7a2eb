//! Output: every child line exactly once, intact, prefixed, in per-process order; partial
//! lines flushed; bytes passed untouched; long lines split without growing memory.

use std::collections::HashMap;

use nix::sys::signal::Signal;

use crate::support::{Procmux, code};

const FLOOD_LINES: usize = 100_000;
const PAD: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

#[test]
fn a_flood_from_four_processes_arrives_whole_and_in_order() {
    let names = ["alpha", "bravo", "charlie", "delta"];
    // Line-buffered: each line is one write, so no line is ever half in the pipe. (A child that
    // stops for longer than the quiet time in the middle of a line gets that line flushed in
    // two, by design; on a loaded machine block-buffered `seq` does exactly that.) Lines are
    // still cut across reads, which the mux must join.
    let procfile: String = names
        .iter()
        .map(|n| {
            format!("{n}: stdbuf -oL seq -f '{n} line %06g {PAD}' 1 {FLOOD_LINES}; sleep 1000\n")
        })
        .collect();
    let mut procmux = Procmux::procfile(&procfile);
    procmux.wait_for_count("flood lines", names.len() * FLOOD_LINES, |l| {
        l.ends_with(PAD)
    });

    let mut next: HashMap<&str, usize> = names.iter().map(|n| (*n, 1)).collect();
    for line in procmux.lines() {
        let Some((prefix, body)) = line.split_once(" | ") else {
            continue;
        };
        let name = prefix.trim_end();
        if name == "system" {
            continue;
        }
        assert_eq!(
            prefix,
            format!("{name:<7}"),
            "prefix padded to the longest name"
        );
        let expected = next
            .get_mut(name)
            .unwrap_or_else(|| panic!("bad prefix: {line:?}"));
        assert_eq!(
            body,
            format!("{name} line {:06} {PAD}", *expected),
            "lost, duplicated, mangled or reordered"
        );
        *expected += 1;
    }
    for (name, next) in next {
        assert_eq!(next, FLOOD_LINES + 1, "{name} lines missing");
    }
    procmux.signal(Signal::SIGINT);
    assert_eq!(code(procmux.wait_exit()), 130);
    procmux.assert_no_survivors();
}

#[test]
fn a_partial_line_is_flushed_after_a_quiet_time() {
    let mut procmux = Procmux::procfile("partial: printf 'no newline yet'; sleep 1000\n");
    procmux.wait_for("the partial line", |l| l == "partial | no newline yet");
    procmux.signal(Signal::SIGINT);
    procmux.wait_exit();
    procmux.assert_no_survivors();
}

#[test]
fn a_partial_line_is_flushed_at_exit() {
    let mut procmux = Procmux::procfile("last: printf 'final words'\n");
    procmux.wait_exit();
    procmux.wait_for("the last partial line", |l| l == "last   | final words");
}

#[test]
fn invalid_utf8_and_ansi_pass_through_untouched() {
    let mut procmux =
        Procmux::procfile("bytes: printf '\\033[31mred\\033[0m \\377\\376 end\\n'; sleep 1000\n");
    procmux.wait_for_text("end");
    let expected: &[u8] = b"bytes  | \x1b[31mred\x1b[0m \xff\xfe end";
    assert!(
        procmux.raw_lines().iter().any(|l| l == expected),
        "{:?}",
        procmux.raw_lines()
    );
    procmux.signal(Signal::SIGINT);
    procmux.wait_exit();
    procmux.assert_no_survivors();
}

#[test]
fn stdout_and_stderr_both_come_out() {
    let mut procmux = Procmux::procfile("both: echo to-out; echo to-err >&2; sleep 1000\n");
    procmux.wait_for("stdout line", |l| l == "both   | to-out");
    procmux.wait_for("stderr line", |l| l == "both   | to-err");
    procmux.signal(Signal::SIGINT);
    procmux.wait_exit();
    procmux.assert_no_survivors();
}

#[test]
fn a_huge_line_without_newline_is_split_and_memory_stays_bounded() {
    // 64 MiB without a newline: buffering it whole would show in procmux's peak memory.
    let size = 64 * 1024 * 1024;
    let mut procmux = Procmux::procfile(&format!(
        "big: head -c {size} /dev/zero | tr '\\000' x; sleep 1000\n"
    ));
    // Parts of 64 KiB; a part may be shorter where `tr` paused for longer than the quiet
    // time (a loaded machine), which flushes what is held, by design.
    let deadline = std::time::Instant::now() + crate::support::DEADLINE;
    let parts = loop {
        let parts: Vec<String> = procmux
            .lines()
            .into_iter()
            .filter(|l| l.starts_with("big    | x"))
            .map(|l| l["big    | ".len()..].to_owned())
            .collect();
        if parts.iter().map(String::len).sum::<usize>() >= size {
            break parts;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {} bytes of the long line arrived",
            parts.iter().map(String::len).sum::<usize>()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(parts.iter().map(String::len).sum::<usize>(), size);
    assert!(parts.iter().all(|p| p.len() <= 65536), "a part over 64 KiB");
    assert!(
        parts.iter().filter(|p| p.len() == 65536).count() >= size / 65536 / 2,
        "not split at 64 KiB: {} parts",
        parts.len()
    );
    assert!(parts.iter().all(|p| p.bytes().all(|b| b == b'x')));
    let peak_kib = procmux.peak_rss_kib();
    assert!(
        peak_kib < 48 * 1024,
        "procmux peaked at {peak_kib} KiB for one long line"
    );
    procmux.signal(Signal::SIGINT);
    procmux.wait_exit();
    procmux.assert_no_survivors();
}
