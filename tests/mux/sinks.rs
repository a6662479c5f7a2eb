//! The sinks beside the terminal: the ring of recent lines, followers that lose lines rather
//! than slow anything, taps that wait for one line; and the order of system lines.

use std::time::Duration;

use procmux::mux::{FollowItem, Mux, MuxOptions, RING_LINES, Stream, pump, spawn_pump};
use tokio::io::AsyncWriteExt;

use crate::support::{DEADLINE, Gate, plain_mux, pump_all};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn the_ring_keeps_the_last_lines_of_both_streams() {
    let (mux, _out) = plain_mux();
    let web = mux.source("web", None);
    let lines: String = (1..=RING_LINES + 500)
        .map(|i| format!("out {i}\n"))
        .collect();
    pump_all(&mux, web.clone(), lines.as_bytes()).await;
    pump_all(&mux, web.stderr(), b"err 1\nerr 2").await;
    let recent = web.recent(3);
    let shown: Vec<(Stream, String)> = recent.iter().map(|l| (l.stream, text(&l.bytes))).collect();
    assert_eq!(
        shown,
        [
            (Stream::Stdout, format!("out {}", RING_LINES + 500)),
            (Stream::Stderr, "err 1".to_owned()),
            (Stream::Stderr, "err 2".to_owned()),
        ]
    );
    let all = web.recent(usize::MAX);
    assert_eq!(all.len(), RING_LINES);
    assert_eq!(text(&all[0].bytes), format!("out {}", 503));
    assert!(web.ring_footprint() <= procmux::mux::RING_BYTES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_reads_nothing_loses_lines_and_slows_nobody() {
    let (mux, out) = plain_mux();
    let web = mux.source("web", None);
    let mut follower = mux.follow(Some(vec![web.id()]), 2);
    let mut other = mux.follow(None, 1024);
    let lines: String = (1..=50_000).map(|i| format!("line {i}\n")).collect();
    let (reader, mut writer) = tokio::io::duplex(4096);
    let pumping = tokio::spawn(pump(reader, web.clone()));
    // Written in many small pieces, so that the pump makes many chunks.
    let fed = tokio::time::timeout(DEADLINE, async {
        for piece in lines.as_bytes().chunks(700) {
            writer.write_all(piece).await.expect("write");
        }
        drop(writer);
        pumping.await.expect("pump");
    })
    .await;
    assert!(fed.is_ok(), "the follower slowed the pump");
    mux.flush().await;
    assert_eq!(
        out.contents().iter().filter(|&&b| b == b'\n').count(),
        50_000,
        "the terminal got every line"
    );
    // The slow follower: its two queued chunks, then one count of what it missed.
    let mut got = 0;
    let mut skipped = 0;
    while let Ok(Some(item)) =
        tokio::time::timeout(Duration::from_millis(50), follower.recv()).await
    {
        match item {
            FollowItem::Chunk(chunk) => got += chunk.line_count() as u64,
            FollowItem::Skipped(n) => skipped += n,
        }
    }
    // The skip count is delivered when room frees up; one more line makes room for it.
    pump_all(&mux, web.clone(), b"late\n").await;
    while let Ok(Some(item)) =
        tokio::time::timeout(Duration::from_millis(50), follower.recv()).await
    {
        match item {
            FollowItem::Chunk(chunk) => got += chunk.line_count() as u64,
            FollowItem::Skipped(n) => skipped += n,
        }
    }
    assert_eq!(
        got + skipped,
        50_001,
        "every line is either seen or counted"
    );
    assert!(skipped > 0, "a follower that reads nothing must lose lines");
    // A follower of every source with room sees lines too.
    assert!(matches!(other.recv().await, Some(FollowItem::Chunk(_))));
}

#[tokio::test]
async fn a_tap_resolves_on_the_first_matching_line_only() {
    let (mux, _out) = plain_mux();
    let db = mux.source("db", None);
    let tap = db.tap("ready to accept");
    let (reader, mut writer) = tokio::io::duplex(1024);
    let pumping = tokio::spawn(pump(reader, db.stderr()));
    writer.write_all(b"starting\n").await.expect("write");
    let early = tokio::time::timeout(Duration::from_millis(200), db.tap("never")).await;
    assert!(early.is_err(), "a tap resolved without a matching line");
    writer
        .write_all(b"LOG: database system is ready to accept connections\n")
        .await
        .expect("write");
    tokio::time::timeout(DEADLINE, tap)
        .await
        .expect("the tap saw the line on stderr");
    drop(writer);
    pumping.await.expect("pump");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_line_waits_for_the_lines_read_before_it() {
    // A stalled terminal: the child's lines sit in the channel when the exit line is queued.
    let gate = Gate::default();
    let mux = Mux::new(MuxOptions::default(), Box::new(gate.clone()));
    mux.system("web started with pid 1");
    let web = mux.source("web", None);
    let lines: String = (1..=2000)
        .map(|i| format!("traceback line {i}\n"))
        .collect();
    let (reader, mut writer) = tokio::io::duplex(512);
    let pumping = spawn_pump(reader, web);
    let feeding = tokio::spawn(async move {
        for piece in lines.as_bytes().chunks(100) {
            writer.write_all(piece).await.expect("write");
        }
    });
    // The pump cannot drain while the terminal is stalled; open it once lines are queued.
    tokio::time::sleep(Duration::from_millis(50)).await;
    gate.open();
    feeding.await.expect("feed");
    tokio::time::timeout(DEADLINE, pumping.drained(Duration::from_millis(200)))
        .await
        .expect("the pump drains");
    mux.system("web exited with code 1");
    mux.flush().await;
    let output = text(&gate.out.contents());
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.first(), Some(&"system | web started with pid 1"));
    assert_eq!(lines.last(), Some(&"system | web exited with code 1"));
    assert_eq!(lines.len(), 2002);
}

#[tokio::test]
async fn break_line_ends_the_terminal_line_in_order() {
    let (mux, out) = plain_mux();
    pump_all(&mux, mux.source("web", None), b"a\n").await;
    mux.break_line();
    mux.system("received SIGINT");
    mux.flush().await;
    assert_eq!(out.contents(), b"web    | a\n\nsystem | received SIGINT\n");
}
