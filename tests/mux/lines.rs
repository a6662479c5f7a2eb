//! What one line looks like on the way out: partial lines, raw bytes, colour, width, raw mode.

use std::process::Stdio;
use std::time::Instant;

use procmux::mux::{Color, Mux, MuxOptions, QUIET_TIME, SharedBuffer, pump};
use tokio::io::AsyncWriteExt;

use crate::support::{has_line, mux_with, plain_mux, pump_all, wait_for_output};

#[tokio::test]
async fn partial_line_is_written_after_the_quiet_time() {
    let (mux, out) = plain_mux();
    let (reader, mut writer) = tokio::io::duplex(1024);
    let pumping = tokio::spawn(pump(reader, mux.source("web", None)));
    let started = Instant::now();
    writer.write_all(b"Password: ").await.expect("write");
    wait_for_output(&out, "the partial line", |o| o == b"web    | Password: \n").await;
    assert!(
        started.elapsed() >= QUIET_TIME,
        "written after {:?}, before the quiet time",
        started.elapsed()
    );
    // The pump is still reading: the next line comes out as usual.
    writer.write_all(b"ok\n").await.expect("write");
    wait_for_output(&out, "the next line", |o| has_line(o, b"web    | ok")).await;
    drop(writer);
    pumping.await.expect("pump");
}

#[tokio::test]
async fn partial_line_is_written_at_eof() {
    let (mux, out) = plain_mux();
    pump_all(&mux, mux.source("web", None), b"one\ntwo").await;
    assert_eq!(out.contents(), b"web    | one\nweb    | two\n");
}

#[tokio::test]
async fn child_bytes_pass_through_and_only_the_prefix_is_coloured() {
    let (mux, out) = mux_with(MuxOptions {
        color: true,
        ..MuxOptions::default()
    });
    let api = mux.source("api", Some(Color::Blue));
    pump_all(&mux, api, b"\xff\xfe not utf-8 \x1b[31mred\x1b[0m\r\n").await;
    mux.system("done");
    mux.flush().await;
    assert_eq!(
        out.contents(),
        b"\x1b[34mapi    |\x1b[0m \xff\xfe not utf-8 \x1b[31mred\x1b[0m\r\n\
          \x1b[1msystem |\x1b[0m done\n"
    );
}

#[tokio::test]
async fn a_longer_name_widens_every_prefix() {
    let (mux, out) = plain_mux();
    let (reader, mut writer) = tokio::io::duplex(1024);
    let pumping = tokio::spawn(pump(reader, mux.source("web", None)));
    writer.write_all(b"before\n").await.expect("write");
    wait_for_output(&out, "the first line", |o| has_line(o, b"web    | before")).await;

    let _reloaded = mux.source("background-worker", None);
    assert_eq!(mux.width(), 17);
    writer.write_all(b"after\n").await.expect("write");
    drop(writer);
    pumping.await.expect("pump");
    mux.system("reload: +background-worker");
    mux.flush().await;
    assert_eq!(
        out.contents(),
        b"web    | before\n\
          web               | after\n\
          system            | reload: +background-worker\n"
    );
}

#[tokio::test]
async fn timestamps_come_first() {
    let (mux, out) = mux_with(MuxOptions {
        timestamps: true,
        ..MuxOptions::default()
    });
    pump_all(&mux, mux.source("web.1", None), b"Listening\n").await;
    let output = out.contents();
    assert_eq!(output.len(), 9 + 9 + 10, "{output:?}");
    let (stamp, rest) = output.split_at(9);
    assert_eq!(rest, b"web.1  | Listening\n");
    for (i, &b) in stamp.iter().enumerate() {
        match i {
            2 | 5 => assert_eq!(b, b':'),
            8 => assert_eq!(b, b' '),
            _ => assert!(b.is_ascii_digit(), "{stamp:?}"),
        }
    }
}

#[tokio::test]
async fn raw_mode_writes_child_bytes_only_and_system_lines_elsewhere() {
    let out = SharedBuffer::default();
    let system_out = SharedBuffer::default();
    let options = MuxOptions {
        raw: true,
        color: true,
        timestamps: true,
    };
    let mux = Mux::with_system_output(options, Box::new(out.clone()), Box::new(system_out.clone()));
    let (reader, mut writer) = tokio::io::duplex(1024);
    let pumping = tokio::spawn(pump(reader, mux.source("web", None)));
    writer
        .write_all(b"a\r\n\x1b[1mb\x1b[0m\n")
        .await
        .expect("write");
    drop(writer);
    pumping.await.expect("pump");
    mux.system("web exited with code 0");
    mux.flush().await;
    assert_eq!(out.contents(), b"a\r\n\x1b[1mb\x1b[0m\n");
    let system = system_out.contents();
    assert!(
        system.ends_with(b" system | web exited with code 0\n") && system.len() == 9 + 32,
        "{:?}",
        String::from_utf8_lossy(&system)
    );
}

#[tokio::test]
async fn system_lines_are_never_glued_to_a_partial_line() {
    let (mux, out) = plain_mux();
    let (reader, mut writer) = tokio::io::duplex(1024);
    let pumping = tokio::spawn(pump(reader, mux.source("web", None)));
    writer.write_all(b"half a li").await.expect("write");
    mux.system("stopping web\nsecond line");
    writer.write_all(b"ne\n").await.expect("write");
    drop(writer);
    pumping.await.expect("pump");
    mux.flush().await;
    let output = out.contents();
    assert!(has_line(&output, b"system | stopping web"), "{output:?}");
    assert!(has_line(&output, b"system | second line"), "{output:?}");
    // The child's line is whole, or (if the machine stalled past the quiet time) two lines;
    // never mixed with the system line.
    assert!(
        has_line(&output, b"web    | half a line")
            || (has_line(&output, b"web    | half a li") && has_line(&output, b"web    | ne")),
        "{output:?}"
    );
}

#[tokio::test]
async fn stdout_and_stderr_of_a_real_child_both_come_out() {
    let (mux, out) = plain_mux();
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg("echo out 1; echo err 1 >&2; echo out 2; echo err 2 >&2; printf 'no newline'")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sh");
    let source = mux.source("sh", None);
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let pumps = [
        tokio::spawn(pump(stdout, source.clone())),
        tokio::spawn(pump(stderr, source)),
    ];
    child.wait().await.expect("wait sh");
    for pumping in pumps {
        pumping.await.expect("pump");
    }
    mux.flush().await;
    let output = out.contents();
    let lines: Vec<&[u8]> = output.split(|&b| b == b'\n').collect();
    let position = |line: &[u8]| lines.iter().position(|&l| l == line);
    let (out1, out2) = (position(b"sh     | out 1"), position(b"sh     | out 2"));
    let (err1, err2) = (position(b"sh     | err 1"), position(b"sh     | err 2"));
    assert!(out1 < out2 && out1.is_some(), "{output:?}");
    assert!(err1 < err2 && err1.is_some(), "{output:?}");
    assert!(position(b"sh     | no newline").is_some(), "{output:?}");
    assert_eq!(lines.len(), 6, "{output:?}");
}
