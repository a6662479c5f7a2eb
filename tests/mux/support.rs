//! Helpers: waiting on a condition with a deadline, and sinks that fail or stall on demand.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use procmux::mux::{Mux, MuxOptions, SharedBuffer};

/// Long enough for a loaded 2-core machine; only reached when a test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A mux without colour or timestamps writing into a buffer the test can read.
pub fn plain_mux() -> (Mux, SharedBuffer) {
    mux_with(MuxOptions::default())
}

/// A mux with `options` writing into a buffer the test can read.
pub fn mux_with(options: MuxOptions) -> (Mux, SharedBuffer) {
    let out = SharedBuffer::default();
    let mux = Mux::new(options, Box::new(out.clone()));
    (mux, out)
}

/// Waits until `condition` holds for the output, polling, or panics at the deadline.
pub async fn wait_for_output(out: &SharedBuffer, what: &str, condition: impl Fn(&[u8]) -> bool) {
    let waited = tokio::time::timeout(DEADLINE, async {
        while !condition(&out.contents()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "timed out waiting for {what}; output so far: {:?}",
        String::from_utf8_lossy(&out.contents())
    );
}

/// Whether `haystack` holds `line` as a whole line.
pub fn has_line(haystack: &[u8], line: &[u8]) -> bool {
    haystack.split(|&b| b == b'\n').any(|l| l == line)
}

/// An output whose reader went away: every write fails with EPIPE.
pub struct BrokenPipe;

impl Write for BrokenPipe {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
}

/// A stalled terminal: writes block until the gate opens, then go to the buffer.
#[derive(Clone, Default)]
pub struct Gate {
    /// Whether writes may proceed, with the condvar they wait on.
    open: Arc<(Mutex<bool>, Condvar)>,
    /// Where writes go once the gate is open.
    pub out: SharedBuffer,
}

impl Gate {
    /// Lets every blocked and future write through.
    pub fn open(&self) {
        let (open, wake) = &*self.open;
        *open.lock().expect("gate lock") = true;
        wake.notify_all();
    }
}

impl Write for Gate {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let (open, wake) = &*self.open;
        let mut is_open = open.lock().expect("gate lock");
        while !*is_open {
            is_open = wake.wait(is_open).expect("gate lock");
        }
        drop(is_open);
        self.out.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Pumps `bytes` as the whole output of one child stream to EOF, then flushes the mux.
pub async fn pump_all(mux: &Mux, source: procmux::mux::Source, bytes: &[u8]) {
    use tokio::io::AsyncWriteExt;
    let (reader, mut writer) = tokio::io::duplex(1024);
    let pumping = tokio::spawn(procmux::mux::pump(reader, source));
    writer.write_all(bytes).await.expect("duplex write");
    drop(writer);
    pumping.await.expect("pump task");
    mux.flush().await;
}
