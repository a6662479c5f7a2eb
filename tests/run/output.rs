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
    let procfile: String = names
        .iter()
        .map(|n| format!("{n}: seq -f '{n} line %06g {PAD}' 1 {FLOOD_LINES}; sleep 1000\n"))
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
    let chunks = procmux.wait_for_count("all parts of the long line", size / 65536, |l| {
        l.starts_with("big    | x")
    });
    for chunk in &chunks {
        let body = &chunk["big    | ".len()..];
        assert_eq!(body.len(), 65536, "split at 64 KiB");
        assert!(body.bytes().all(|b| b == b'x'));
    }
    let peak_kib = procmux.peak_rss_kib();
    assert!(
        peak_kib < 48 * 1024,
        "procmux peaked at {peak_kib} KiB for one long line"
    );
    procmux.signal(Signal::SIGINT);
    procmux.wait_exit();
    procmux.assert_no_survivors();
}
