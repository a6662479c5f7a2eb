//! The readiness checks against real sockets and real processes: a listening and a closed
//! port, a tiny HTTP server in a test thread, and `test -f` as an exec check.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use procmux::probe::{AttemptError, ExecProbe, Probe, ProbeTimings, attempt, wait_ready};

const ATTEMPT: Duration = Duration::from_secs(2);

fn tcp(port: u16) -> Probe {
    Probe::Tcp {
        host: "127.0.0.1".into(),
        port,
    }
}

/// A port that nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Serves each connection with `answer` (after reading the request head) until dropped.
fn http_server(answer: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut buffer = [0u8; 512];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buffer[..n]),
                }
            }
            let _ = stream.write_all(answer);
        }
    });
    port
}

#[tokio::test]
async fn tcp_passes_on_a_listening_port_and_is_refused_on_a_closed_one() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    assert_eq!(attempt(&tcp(port), ATTEMPT).await, Ok(()));
    let error = attempt(&tcp(closed_port()), ATTEMPT)
        .await
        .expect_err("closed");
    assert_eq!(error.to_string(), "connection refused");
}

#[tokio::test]
async fn tcp_resolves_host_names() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let probe = Probe::tcp(&format!("localhost:{port}")).expect("target");
    // localhost may resolve to ::1 first: the check tries every address.
    assert_eq!(attempt(&probe, ATTEMPT).await, Ok(()));
    let probe = Probe::tcp("no-such-host.invalid:80").expect("target");
    let error = attempt(&probe, ATTEMPT).await.expect_err("unresolvable");
    assert!(
        matches!(
            error,
            AttemptError::Resolve { .. } | AttemptError::TimedOut { .. }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn http_judges_the_status_line() {
    let ok = http_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let redirect = http_server(b"HTTP/1.0 302 Found\r\nLocation: /\r\n\r\n");
    let unavailable = http_server(b"HTTP/1.1 503 Service Unavailable\r\n\r\n");
    let garbage = http_server(b"SSH-2.0-OpenSSH_9.2\r\n");
    let http = |port| Probe::http(&format!("http://127.0.0.1:{port}/up")).expect("url");
    assert_eq!(attempt(&http(ok), ATTEMPT).await, Ok(()));
    assert_eq!(attempt(&http(redirect), ATTEMPT).await, Ok(()));
    assert_eq!(
        attempt(&http(unavailable), ATTEMPT).await,
        Err(AttemptError::HttpStatus { status: 503 })
    );
    let error = attempt(&http(garbage), ATTEMPT).await.expect_err("garbage");
    assert_eq!(
        error.to_string(),
        "not an HTTP response: no HTTP/1.x status line"
    );
    let error = attempt(&http(closed_port()), ATTEMPT)
        .await
        .expect_err("closed");
    assert_eq!(error.to_string(), "connection refused");
}

#[tokio::test]
async fn http_times_out_on_a_server_that_never_answers() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let probe = Probe::http(&format!("http://127.0.0.1:{port}/")).expect("url");
    let error = attempt(&probe, Duration::from_millis(200))
        .await
        .expect_err("silent");
    assert_eq!(error.to_string(), "timed out after 200ms");
    drop(listener);
}

fn exec(argv: &[&str]) -> Probe {
    Probe::Exec(ExecProbe {
        argv: argv.iter().map(|s| (*s).to_owned()).collect(),
        ..ExecProbe::default()
    })
}

#[tokio::test]
async fn exec_passes_on_exit_code_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("ready");
    let check = exec(&["test", "-f", file.to_str().expect("utf-8")]);
    assert_eq!(
        attempt(&check, ATTEMPT).await,
        Err(AttemptError::ExitCode { code: 1 })
    );
    std::fs::write(&file, "").expect("write");
    assert_eq!(attempt(&check, ATTEMPT).await, Ok(()));
    let error = attempt(&exec(&["no-such-program-procmux"]), ATTEMPT)
        .await
        .expect_err("missing");
    assert_eq!(
        error.to_string(),
        "cannot run no-such-program-procmux: no such file or directory"
    );
}

#[tokio::test]
async fn exec_runs_with_its_env_and_cwd() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("marker"), "").expect("write");
    let check = Probe::Exec(ExecProbe {
        argv: vec![
            "sh".into(),
            "-c".into(),
            r#"test -f marker && test "$X" = 'a b'"#.into(),
        ],
        env: [("X".to_owned(), "a b".to_owned())].into(),
        cwd: Some(dir.path().to_path_buf()),
    });
    assert_eq!(attempt(&check, ATTEMPT).await, Ok(()));
}

/// Whether `pid` is still a live process (a zombie waiting for its reaper does not count).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

fn wait_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "process {pid} survived the check"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read_pid(path: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "no pid in {}", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn exec_timeout_kills_the_whole_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let script = format!("sleep 30 & echo $! > '{}'; wait", pidfile.display());
    let started = Instant::now();
    let error = attempt(&exec(&["sh", "-c", &script]), Duration::from_millis(300))
        .await
        .expect_err("too slow");
    assert_eq!(error.to_string(), "timed out after 300ms");
    assert!(started.elapsed() < Duration::from_secs(10));
    wait_gone(read_pid(&pidfile));
}

#[tokio::test]
async fn exec_leaves_nothing_behind_after_a_normal_exit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let script = format!("sleep 30 & echo $! > '{}'", pidfile.display());
    assert_eq!(
        attempt(&exec(&["sh", "-c", &script]), ATTEMPT).await,
        Ok(())
    );
    wait_gone(read_pid(&pidfile));
}

#[tokio::test]
async fn wait_ready_passes_once_the_port_opens() {
    let port = closed_port();
    let opener = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("rebind");
        std::thread::sleep(Duration::from_secs(3));
        drop(listener);
    });
    let timings = ProbeTimings {
        interval: Duration::from_millis(50),
        timeout: Duration::from_secs(10),
        ..ProbeTimings::default()
    };
    let elapsed = wait_ready(&tcp(port), &timings).await.expect("ready");
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    opener.join().expect("opener");
}

#[tokio::test]
async fn wait_ready_gives_up_at_its_timeout() {
    let timings = ProbeTimings {
        interval: Duration::from_millis(50),
        timeout: Duration::from_millis(400),
        ..ProbeTimings::default()
    };
    let started = Instant::now();
    let error = wait_ready(&tcp(closed_port()), &timings)
        .await
        .expect_err("closed");
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        error.to_string(),
        "not ready within 400ms: connection refused"
    );
}
