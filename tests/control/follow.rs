//! `logs -f`: live lines reach the client, a slow client loses lines instead of slowing the
//! producer, and either side leaving ends the stream.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use procmux::cli::client::{self, LogsOptions};
use procmux::control::{LogLine, LogsRequest, Reply, Request, Stream, decode_reply, encode};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::{DEADLINE, Fixture, raw};

/// A `Write` the test can read while the client writes to it.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Waits until the text satisfies `pred`, failing at the deadline.
    async fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !pred(&self.text()) {
            assert!(Instant::now() < deadline, "no {what} in:\n{}", self.text());
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

fn live(n: usize) -> LogLine {
    LogLine {
        name: "web.1".into(),
        stream: Stream::Stderr,
        at_ms: 1_700_000_100_000,
        bytes: format!("live {n}").into_bytes(),
    }
}

fn follow_options() -> LogsOptions {
    LogsOptions {
        names: vec!["web".into()],
        lines: 0,
        follow: true,
        color: false,
    }
}

#[test]
fn live_lines_then_the_end_of_procmux() {
    let fixture = Fixture::start("");
    let target = fixture.target();
    let (out, err) = (Shared::default(), Shared::default());
    let task = {
        let (mut out, mut err) = (out.clone(), err.clone());
        fixture.handle().spawn(async move {
            let never = std::future::pending::<()>();
            client::logs(&target, &follow_options(), &mut out, &mut err, never).await
        })
    };
    let follower = fixture.next_follower();
    follower.send(live(1)).unwrap();
    follower.send(live(2)).unwrap();
    let stamp = client::stamp(1_700_000_100_000);
    fixture.block_on(out.wait_for("live lines", |text| text.contains("live 2")));
    assert_eq!(
        out.text(),
        format!("{stamp}web.1  | live 1\n{stamp}web.1  | live 2\n")
    );
    // The producer ends the stream (procmux going away): the client says so and succeeds.
    drop(follower);
    fixture.block_on(task).unwrap().unwrap();
    assert_eq!(err.text(), "procmux stopped\n");
}

#[test]
fn the_client_stopping_tells_the_producer() {
    let fixture = Fixture::start("");
    let target = fixture.target();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let out = Shared::default();
    let task = {
        let mut out = out.clone();
        fixture.handle().spawn(async move {
            let stop = async {
                let _ = stop_rx.await;
            };
            client::logs(&target, &follow_options(), &mut out, &mut Vec::new(), stop).await
        })
    };
    let follower = fixture.next_follower();
    follower.send(live(1)).unwrap();
    fixture.block_on(out.wait_for("a live line", |text| text.contains("live 1")));
    stop_tx.send(()).unwrap();
    fixture.block_on(task).unwrap().unwrap();
    // The connection task notices the client left and drops its receiver.
    let deadline = Instant::now() + DEADLINE;
    while !follower.is_gone() {
        assert!(Instant::now() < deadline, "the follower was never dropped");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(follower.send(live(2)).is_err());
}

#[test]
fn a_follower_that_reads_nothing_never_makes_the_producer_wait() {
    let fixture = Fixture::start("");
    let mut stream = fixture.block_on(raw(&fixture.socket));
    let request = Request::Logs(LogsRequest {
        names: vec![],
        lines: 0,
        follow: true,
    });
    fixture
        .block_on(stream.write_all(&encode(&request)))
        .unwrap();
    let follower = fixture.next_follower();
    // The client reads nothing meanwhile: every send must return at once.
    const LINES: usize = 100_000;
    let started = Instant::now();
    for n in 0..LINES {
        follower.send(live(n)).unwrap();
    }
    let pushed_in = started.elapsed();
    assert!(pushed_in < DEADLINE, "pushing took {pushed_in:?}");
    drop(follower);
    // Now read everything: each line arrives or is counted as skipped, in order.
    let (lines, skipped, last) = fixture.block_on(async {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        let (mut lines, mut skipped, mut last) = (0_usize, 0_u64, None);
        reader.read_line(&mut line).await.unwrap();
        assert!(
            matches!(decode_reply(line.as_bytes()), Ok(Reply::Logs { .. })),
            "{line}"
        );
        loop {
            line.clear();
            if reader.read_line(&mut line).await.unwrap() == 0 {
                break;
            }
            match decode_reply(line.as_bytes()).unwrap() {
                Reply::Line(got) => {
                    let n: usize = String::from_utf8(got.bytes).unwrap()[5..].parse().unwrap();
                    assert!(
                        last.is_none_or(|last| n > last),
                        "out of order: {n} after {last:?}"
                    );
                    last = Some(n);
                    lines += 1;
                }
                Reply::Skipped { count } => skipped += count,
                other => panic!("{other:?}"),
            }
        }
        (lines, skipped, last)
    });
    assert_eq!(
        lines as u64 + skipped,
        LINES as u64,
        "{lines} lines, {skipped} skipped"
    );
    assert!(
        skipped > 0,
        "the queue is bounded, so a reader that waited lost lines"
    );
    assert_eq!(last, Some(LINES - 1), "the newest lines are kept");
}
