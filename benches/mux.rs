//! Throughput of the output multiplexer on the flood workload of performance.md: 4 sources of
//! 200,000 lines of about 60 bytes each, through pumps and the writer into a sink that discards.
//!
//! `in_memory` feeds the pumps from memory, so it measures the mux alone (line assembly,
//! prefixing, batching, the channel, the writer). `real_children` runs 4 `seq` children and
//! reads their pipes, which is the flood as users see it, minus the terminal.

// `criterion_group!` generates an undocumented `pub fn benches`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::io::Cursor;
use std::process::Stdio;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use procmux::mux::{Mux, MuxOptions, pump};

const SOURCES: usize = 4;
const LINES: usize = 200_000;

fn stream(n: usize) -> &'static [u8] {
    let mut bytes = Vec::with_capacity(LINES * 61);
    for i in 1..=LINES {
        bytes.extend_from_slice(
            format!("proc-{n} line {i:06} xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n").as_bytes(),
        );
    }
    // Built once per benchmark run; 'static so the pump tasks can borrow it.
    Box::leak(bytes.into_boxed_slice())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

async fn flood(streams: &[&'static [u8]], options: MuxOptions) {
    let mux = Mux::new(options, Box::new(std::io::sink()));
    let names = ["web.1", "web.2", "worker", "api"];
    let pumps: Vec<_> = streams
        .iter()
        .zip(names)
        .map(|(&bytes, name)| tokio::spawn(pump(Cursor::new(bytes), mux.source(name, None))))
        .collect();
    for pumping in pumps {
        pumping.await.expect("pump task");
    }
    mux.flush().await;
}

fn in_memory(c: &mut Criterion) {
    let streams: Vec<&'static [u8]> = (0..SOURCES).map(stream).collect();
    let total: usize = streams.iter().map(|s| s.len()).sum();
    let rt = runtime();
    let mut group = c.benchmark_group("flood_in_memory");
    group.throughput(Throughput::Bytes(total as u64));
    group.sample_size(20);
    for (label, options) in [
        ("plain", MuxOptions::default()),
        (
            "color_timestamps",
            MuxOptions {
                color: true,
                timestamps: true,
                raw: false,
            },
        ),
        (
            "raw",
            MuxOptions {
                raw: true,
                ..MuxOptions::default()
            },
        ),
    ] {
        group.bench_function(label, |b| {
            b.iter(|| rt.block_on(flood(black_box(&streams), options)));
        });
    }
    group.finish();
}

fn real_children(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("flood_real_children");
    group.throughput(Throughput::Elements((SOURCES * LINES) as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("seq_x4_color_timestamps", |b| {
        b.iter(|| {
            rt.block_on(async {
                let options = MuxOptions {
                    color: true,
                    timestamps: true,
                    raw: false,
                };
                let mux = Mux::new(options, Box::new(std::io::sink()));
                let mut tasks = Vec::new();
                let mut children = Vec::new();
                for n in 0..SOURCES {
                    let mut child = tokio::process::Command::new("seq")
                        .arg("-f")
                        .arg(format!(
                            "proc-{n} line %06g xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                        ))
                        .arg("1")
                        .arg(LINES.to_string())
                        .stdout(Stdio::piped())
                        .spawn()
                        .expect("spawn seq");
                    let stdout = child.stdout.take().expect("piped stdout");
                    tasks.push(tokio::spawn(pump(
                        stdout,
                        mux.source(&format!("proc-{n}"), None),
                    )));
                    children.push(child);
                }
                for pumping in tasks {
                    pumping.await.expect("pump task");
                }
                for mut child in children {
                    child.wait().await.expect("wait seq");
                }
                mux.flush().await;
            });
        });
    });
    group.finish();
}

criterion_group!(benches, in_memory, real_children);
criterion_main!(benches);
