//! Many pumps into one output: every line exactly once, intact, prefixed, in per-source order.

use std::collections::HashMap;

use procmux::mux::pump;
use tokio::io::AsyncWriteExt;

use crate::support::plain_mux;

const SOURCES: [&str; 4] = ["web.1", "web.2", "worker", "db"];
const LINES: usize = 100_000;

fn line(name: &str, i: usize) -> String {
    format!("{name} line {i:06} xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_sources_flood_keeps_every_line_in_order() {
    let (mux, out) = plain_mux();
    let mut tasks = Vec::new();
    for (n, name) in SOURCES.into_iter().enumerate() {
        let source = mux.source(name, None);
        let (reader, mut writer) = tokio::io::duplex(64 * 1024);
        tasks.push(tokio::spawn(pump(reader, source)));
        tasks.push(tokio::spawn(async move {
            let mut stream = Vec::new();
            for i in 0..LINES {
                stream.extend_from_slice(line(name, i).as_bytes());
                stream.push(b'\n');
            }
            // Odd chunk sizes, different per source, so lines straddle every kind of boundary.
            let sizes = [1, 7, 100, 4096, 65536, 333, 61];
            let mut at = 0;
            let mut k = n;
            while at < stream.len() {
                let end = (at + sizes[k % sizes.len()]).min(stream.len());
                writer
                    .write_all(&stream[at..end])
                    .await
                    .expect("duplex write");
                at = end;
                k += 1;
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    mux.flush().await;

    let output = out.contents();
    assert_eq!(output.last(), Some(&b'\n'));
    let mut next: HashMap<&str, usize> = SOURCES.iter().map(|&s| (s, 0)).collect();
    for out_line in output[..output.len() - 1].split(|&b| b == b'\n') {
        let text = std::str::from_utf8(out_line).expect("the input was ASCII");
        let (prefix, payload) = text.split_at(9);
        let name = prefix.trim_end_matches(" | ").trim_end();
        assert_eq!(prefix, format!("{name:<6} | "), "prefix of {text:?}");
        let expected = next.get_mut(name).expect("a registered name");
        assert_eq!(payload, line(name, *expected), "garbled or out of order");
        *expected += 1;
    }
    for (name, count) in next {
        assert_eq!(count, LINES, "lines of {name}");
    }
}
