//! A control server on a fake coordinator, in a temporary `XDG_RUNTIME_DIR`.
//!
//! [`Fixture::start`] binds the real [`Server`] for a `procmux.toml` in a temporary project
//! folder and runs it on a runtime of its own (two worker threads), beside a fake coordinator
//! task that answers every [`ControlRequest`] with canned replies: the tests then use the real
//! client, in-process or as the built binary, against it. Followers are handed to the test
//! through [`Fixture::next_follower`], so it can push lines at its own pace.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use procmux::cli::client::{Target, TargetArgs};
use procmux::control::{
    ControlReply, ControlRequest, ErrorKind, FollowSender, InstanceStatus, LastExit, LogLine,
    Reply, Server, SocketEnv, State, Stream, Verb, follow_channel,
};
use tokio::sync::{mpsc, oneshot};

/// Generous, because CI is a loaded 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The instances the fake coordinator knows.
pub const NAMES: [&str; 4] = ["web", "web.1", "web.2", "worker"];

/// The canned log lines: two per instance, a non-UTF-8 one among them.
pub fn recent_lines() -> Vec<LogLine> {
    let line = |name: &str, at_ms: u64, bytes: &[u8]| LogLine {
        name: name.into(),
        stream: Stream::Stdout,
        at_ms,
        bytes: bytes.to_vec(),
    };
    vec![
        line("web.1", 1_700_000_000_000, b"listening on 5000"),
        line("web.2", 1_700_000_001_000, b"listening on 5001"),
        line("worker", 1_700_000_002_000, b"job \xff done"),
        line("web.1", 1_700_000_003_000, b"GET /"),
        line("web.2", 1_700_000_004_000, b"GET /health"),
        line("worker", 1_700_000_005_000, b"idle"),
    ]
}

/// The canned status rows.
pub fn status_rows() -> Vec<InstanceStatus> {
    vec![
        InstanceStatus {
            name: "web.1".into(),
            state: State::Running,
            pid: Some(4242),
            uptime_ms: Some(303_000),
            restarts: 0,
            last_exit: None,
            port: Some(5000),
        },
        InstanceStatus {
            name: "web.2".into(),
            state: State::Backoff,
            pid: None,
            uptime_ms: None,
            restarts: 3,
            last_exit: Some(LastExit::Signal("SIGKILL".into())),
            port: Some(5001),
        },
        InstanceStatus {
            name: "worker".into(),
            state: State::Exited,
            pid: None,
            uptime_ms: None,
            restarts: 0,
            last_exit: Some(LastExit::Code(3)),
            port: None,
        },
    ]
}

/// A server, its fake coordinator, and the folders they use.
pub struct Fixture {
    /// The runtime the server and the fake coordinator run on.
    runtime: Option<tokio::runtime::Runtime>,
    /// Ends `serve` (which removes the socket).
    shutdown: Option<oneshot::Sender<()>>,
    /// Resolves once `serve` has returned.
    served: Option<std::sync::mpsc::Receiver<()>>,
    /// Followers the fake coordinator made, for the test to feed.
    followers: Mutex<mpsc::UnboundedReceiver<FollowSender>>,
    /// Every verb the fake coordinator received.
    pub verbs: Arc<Mutex<Vec<Verb>>>,
    /// The temporary `XDG_RUNTIME_DIR`.
    pub runtime_dir: tempfile::TempDir,
    /// The project folder, holding `procmux.toml`.
    pub project: tempfile::TempDir,
    /// The socket.
    pub socket: PathBuf,
}

impl Fixture {
    /// Starts a server for `procmux.toml` with this text (it is never parsed).
    pub fn start(manifest_text: &str) -> Fixture {
        let runtime_dir = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        std::fs::write(project.path().join("procmux.toml"), manifest_text).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let env = SocketEnv::in_runtime_dir(runtime_dir.path());
        let server = Server::bind(&project.path().join("procmux.toml"), &env).unwrap();
        let socket = server.socket().to_path_buf();
        let (events_tx, events_rx) = mpsc::channel::<ControlRequest>(16);
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let (followers_tx, followers_rx) = mpsc::unbounded_channel();
        let (served_tx, served_rx) = std::sync::mpsc::channel();
        let verbs = Arc::new(Mutex::new(Vec::new()));
        // `stop` with no name ends the server, as the real coordinator does at the end of the
        // shutdown it starts.
        let (stop_all_tx, stop_all_rx) = oneshot::channel::<()>();
        runtime.spawn(fake_coordinator(
            events_rx,
            verbs.clone(),
            followers_tx,
            stop_all_tx,
        ));
        runtime.spawn(async move {
            let shutdown = async {
                tokio::select! {
                    _ = shutdown_rx => {}
                    _ = stop_all_rx => {}
                }
            };
            server.serve(events_tx, shutdown).await.unwrap();
            let _ = served_tx.send(());
        });
        Fixture {
            runtime: Some(runtime),
            shutdown: Some(shutdown_tx),
            served: Some(served_rx),
            followers: Mutex::new(followers_rx),
            verbs,
            runtime_dir,
            project,
            socket,
        }
    }

    /// The environment of this fixture's sockets.
    pub fn env(&self) -> SocketEnv {
        SocketEnv::in_runtime_dir(self.runtime_dir.path())
    }

    /// The client's target for the project's manifest.
    pub fn target(&self) -> Target {
        TargetArgs::default()
            .target_in(self.project.path(), self.env())
            .unwrap()
    }

    /// The project's manifest.
    pub fn manifest(&self) -> PathBuf {
        self.project.path().join("procmux.toml")
    }

    /// Runs `future` on the fixture's runtime, failing the test at the deadline.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime
            .as_ref()
            .unwrap()
            .block_on(async { tokio::time::timeout(DEADLINE, future).await })
            .expect("deadline")
    }

    /// The runtime's handle, to spawn on it.
    pub fn handle(&self) -> tokio::runtime::Handle {
        self.runtime.as_ref().unwrap().handle().clone()
    }

    /// The next follower the fake coordinator made (waits for it, with the deadline).
    pub fn next_follower(&self) -> FollowSender {
        let mut followers = self.followers.lock().unwrap();
        self.block_on(followers.recv())
            .expect("the fake coordinator is alive")
    }

    /// Ends `serve` and waits until it has returned (the socket is then gone).
    pub fn stop_server(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.wait_served();
    }

    /// Waits until `serve` has returned, for whatever reason.
    pub fn wait_served(&mut self) {
        if let Some(served) = self.served.take() {
            served.recv_timeout(DEADLINE).expect("serve returns");
        }
    }

    /// The verbs the fake coordinator received so far.
    pub fn verbs(&self) -> Vec<Verb> {
        self.verbs.lock().unwrap().clone()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(served) = self.served.take() {
            let _ = served.recv_timeout(DEADLINE);
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(DEADLINE);
        }
    }
}

/// Answers like a coordinator with instances `web.1`, `web.2` and `worker` would.
async fn fake_coordinator(
    mut events: mpsc::Receiver<ControlRequest>,
    verbs: Arc<Mutex<Vec<Verb>>>,
    followers: mpsc::UnboundedSender<FollowSender>,
    stop_all: oneshot::Sender<()>,
) {
    let mut stop_all = Some(stop_all);
    while let Some(request) = events.recv().await {
        verbs.lock().unwrap().push(request.verb.clone());
        let reply: ControlReply = match &request.verb {
            Verb::Status => Reply::Status {
                instances: status_rows(),
            }
            .into(),
            Verb::Restart(names) => match unknown(names) {
                Some(error) => error,
                None => Reply::done(format!("restarted {}", names.join(", "))).into(),
            },
            Verb::Stop(names) if names.is_empty() => {
                request.answer(Reply::done("stopping procmux"));
                // Like the real one: the server goes away once the stack is down.
                if let Some(stop_all) = stop_all.take() {
                    let _ = stop_all.send(());
                }
                continue;
            }
            Verb::Stop(names) => match unknown(names) {
                Some(error) => error,
                None => Reply::done(format!("stopped {}", names.join(", "))).into(),
            },
            Verb::Logs(logs) => {
                if let Some(error) = unknown(&logs.names) {
                    error
                } else {
                    let wanted = |line: &LogLine| {
                        logs.names.is_empty()
                            || logs.names.iter().any(|name| {
                                *line.name == **name || line.name.starts_with(&format!("{name}."))
                            })
                    };
                    let mut lines: Vec<LogLine> =
                        recent_lines().into_iter().filter(wanted).collect();
                    // The last `lines` per instance.
                    let mut kept = Vec::new();
                    for line in lines.drain(..).rev() {
                        let count = kept
                            .iter()
                            .filter(|l: &&LogLine| l.name == line.name)
                            .count();
                        if count < logs.lines as usize {
                            kept.push(line);
                        }
                    }
                    kept.reverse();
                    let reply = Reply::Logs {
                        lines: kept,
                        colors: [("worker".to_owned(), "red".to_owned())].into(),
                    };
                    if logs.follow {
                        let (tx, rx) = follow_channel();
                        let _ = followers.send(tx);
                        ControlReply::following(reply, rx)
                    } else {
                        reply.into()
                    }
                }
            }
        };
        request.answer(reply);
    }
}

/// The `unknown_name` error for the first name the fake does not know, with a did-you-mean
/// (the real coordinator's job: here a canned rule).
fn unknown(names: &[String]) -> Option<ControlReply> {
    let name = names.iter().find(|name| !NAMES.contains(&name.as_str()))?;
    let hint = if name.starts_with('w') {
        "; did you mean \"web\"?"
    } else {
        ""
    };
    Some(ControlReply::error(
        ErrorKind::UnknownName,
        format!("no process or instance named {name:?}{hint}"),
    ))
}

/// Connects a raw stream to `socket` and returns it (for tests that speak the protocol by
/// hand).
pub async fn raw(socket: &Path) -> tokio::net::UnixStream {
    tokio::net::UnixStream::connect(socket).await.unwrap()
}

/// Reads everything until the server closes the connection.
pub async fn read_to_close(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> String {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    // A reset after the reply is a close too (the server may close with our bytes unread).
    let mut buf = [0_u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8(out).unwrap()
}
