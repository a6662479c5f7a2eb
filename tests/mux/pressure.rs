//! A slow or closed output: memory stays bounded, and a closed one is reported and drained.

use std::time::Duration;

use procmux::mux::{BATCH_BYTES, CHANNEL_BATCHES, MAX_LINE, Mux, MuxOptions, pump};
use tokio::io::AsyncWriteExt;

use crate::support::{BrokenPipe, DEADLINE, Gate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_output_stops_the_pumps_and_bounds_memory() {
    let gate = Gate::default();
    let mux = Mux::new(MuxOptions::default(), Box::new(gate.clone()));
    let duplex_capacity = 16 * 1024;
    let (reader, mut writer) = tokio::io::duplex(duplex_capacity);
    let pumping = tokio::spawn(pump(reader, mux.source("chatty", None)));

    // The child writes far more than the bound while the terminal is stalled. `write` (not
    // `write_all`) so that the count stays exact when the timeout cancels it.
    let mut line = [b'x'; 100];
    line[99] = b'\n';
    let mut accepted = 0usize;
    let total = 64 * 1024 * 1024;
    let stalled = tokio::time::timeout(Duration::from_millis(500), async {
        while accepted < total {
            accepted += writer.write(&line[accepted % 100..]).await.expect("write");
        }
    })
    .await;
    assert!(stalled.is_err(), "the child was never blocked");
    // What left the child: the channel, the batch being written, the one being filled, one
    // read, and the duplex buffer. Each batch is at most BATCH_BYTES plus a line and a prefix.
    let bound = (CHANNEL_BATCHES + 2) * (BATCH_BYTES + MAX_LINE) + 64 * 1024 + duplex_capacity;
    assert!(
        accepted <= bound,
        "accepted {accepted} bytes with the output stalled, bound {bound}"
    );

    // Open the terminal: everything accepted so far comes out, and more flows.
    gate.open();
    let flowed = tokio::time::timeout(DEADLINE, async {
        let goal = (accepted / 100 + 10_000) * 100;
        while accepted < goal {
            accepted += writer.write(&line[accepted % 100..]).await.expect("write");
        }
    })
    .await;
    assert!(flowed.is_ok(), "output did not resume");
    drop(writer);
    pumping.await.expect("pump");
    mux.flush().await;
    let output = gate.out.contents();
    assert_eq!(output.len(), accepted / 100 * (9 + 100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_output_is_reported_and_pumps_keep_draining() {
    let mux = Mux::new(MuxOptions::default(), Box::new(BrokenPipe));
    let closed = mux.closed();
    let (reader, mut writer) = tokio::io::duplex(4096);
    let pumping = tokio::spawn(pump(reader, mux.source("web", None)));
    writer.write_all(b"first line\n").await.expect("write");
    tokio::time::timeout(DEADLINE, closed)
        .await
        .expect("closed() resolves after EPIPE");
    assert!(mux.is_closed());

    // The child goes on writing much more than any buffer holds, and never blocks.
    let drained = tokio::time::timeout(DEADLINE, async {
        let chunk = [b'y'; 4096];
        for _ in 0..4096 {
            writer.write_all(&chunk).await.expect("write");
            writer.write_all(b"\n").await.expect("write");
        }
    })
    .await;
    assert!(drained.is_ok(), "the pump stopped draining");
    mux.system("stopping");
    drop(writer);
    pumping.await.expect("pump ends without error");
    tokio::time::timeout(DEADLINE, mux.flush())
        .await
        .expect("flush returns on a closed output");
    // Still resolves for late askers.
    tokio::time::timeout(DEADLINE, mux.closed())
        .await
        .expect("closed() resolves at once once closed");
}
