//! A job under test with everything recorded: its output lines, its spawns (with what each
//! run owns), leftovers news and ends, each with the time it happened; and a tag (an
//! environment token every process of the job inherits) to find survivors in `/proc` by,
//! including processes that left the group. Dropping the harness kills whatever still carries
//! the tag: only processes this test started.

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal as NixSignal, kill};
use nix::unistd::Pid;
use procmux::supervisor::ProcessEnd;
use procmux::supervisor::command::SpawnOptions;
use procmux::supervisor::job::{CommandState, Job, Leftovers, RunInfo, start_job, start_job_with};
use procmux::supervisor::setup::ChildSetup;
use procmux::supervisor::tracking::Tracker;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::task::JoinHandle;

use crate::support::*;

/// The environment variable that tags a test's processes.
pub const TAG: &str = "PROCMUX_TEST_TAG";

/// How a harness starts its job.
#[derive(Clone)]
pub enum Mode {
    /// `start_job`: the process group only.
    Plain,
    /// `start_job_with` this tracker.
    Tracked(Arc<Tracker>),
    /// `start_job_with` this tracker, the shell given by path and the child's setup declared
    /// as a [`ChildSetup`]: the job spawns by vfork instead of std's spawn.
    Declared(Arc<Tracker>),
}

/// Something that happened to the job.
#[derive(Debug, Clone)]
pub enum Happened {
    Line(String),
    Spawned(RunInfo),
    Leftovers(Leftovers),
    /// How it ended, and which tagged processes were still alive when the exit hook ran
    /// (there must be none: the job ends when everything it owns has).
    Ended(ProcessEnd, Vec<i32>),
    Error(String),
}

pub struct Harness {
    pub job: Job,
    pub task: JoinHandle<()>,
    pub token: String,
    pub log: Arc<Mutex<Vec<(Instant, Happened)>>>,
    pub scratch: Scratch,
}

fn unique_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "t{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn forward<R>(pipe: R, log: Arc<Mutex<Vec<(Instant, Happened)>>>)
where
    R: AsyncRead + Send + Unpin + 'static,
{
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            log.lock()
                .unwrap()
                .push((Instant::now(), Happened::Line(line)));
        }
    });
}

impl Harness {
    /// A job (not started) running the shell line `line`, in which `$SCRATCH` names a scratch
    /// directory.
    pub async fn new(line: &str, options: SpawnOptions, mode: &Mode) -> Self {
        let (job, task) = match mode {
            Mode::Plain => start_job(shell(line, options)),
            Mode::Tracked(tracker) => start_job_with(shell(line, options), Arc::clone(tracker)),
            Mode::Declared(tracker) => {
                start_job_with(shell_at("/bin/sh", line, options), Arc::clone(tracker))
            }
        };
        let token = unique_token();
        let scratch = Scratch::new();
        let log: Arc<Mutex<Vec<(Instant, Happened)>>> = Arc::default();
        let (tag, dir) = (token.clone(), scratch.path(""));
        if matches!(mode, Mode::Declared(_)) {
            let setup = ChildSetup {
                env: Arc::new(vec![
                    (TAG.into(), tag.into()),
                    ("SCRATCH".into(), dir.into()),
                ]),
                ..ChildSetup::default()
            };
            job.set_spawn_hook(move |command, _| {
                command.wrap(setup.clone());
            });
        } else {
            job.set_spawn_hook(move |command, _| {
                command
                    .command_mut()
                    .env(TAG, &tag)
                    .env("SCRATCH", &dir)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
            });
        }
        let spawned = Arc::clone(&log);
        job.set_spawned_hook(move |child, ctx| {
            let info = ctx.run.cloned().expect("the spawned hook knows the run");
            spawned
                .lock()
                .unwrap()
                .push((Instant::now(), Happened::Spawned(info)));
            if let Some(out) = child.stdout().take() {
                forward(out, Arc::clone(&spawned));
            }
            if let Some(err) = child.stderr().take() {
                forward(err, Arc::clone(&spawned));
            }
        });
        let left = Arc::clone(&log);
        job.set_leftovers_hook(move |_, leftovers| {
            left.lock()
                .unwrap()
                .push((Instant::now(), Happened::Leftovers(*leftovers)));
        });
        let (ended, tag) = (Arc::clone(&log), token.clone());
        job.set_exit_hook(move |ctx| {
            let CommandState::Finished { status, .. } = ctx.current else {
                panic!("exit hook saw {:?}", ctx.current);
            };
            let alive = tagged(&tag);
            ended
                .lock()
                .unwrap()
                .push((Instant::now(), Happened::Ended(*status, alive)));
        });
        let errors = Arc::clone(&log);
        job.set_error_handler(move |err| {
            let text = err.get().map(ToString::to_string).unwrap_or_default();
            errors
                .lock()
                .unwrap()
                .push((Instant::now(), Happened::Error(text)));
        })
        .await;
        Self {
            job,
            task,
            token,
            log,
            scratch,
        }
    }

    pub fn happened(&self) -> Vec<(Instant, Happened)> {
        self.log.lock().unwrap().clone()
    }

    pub fn lines(&self) -> Vec<String> {
        self.happened()
            .into_iter()
            .filter_map(|(_, h)| match h {
                Happened::Line(line) => Some(line),
                _ => None,
            })
            .collect()
    }

    /// When `line` was printed, waiting for it (with the deadline).
    pub async fn line_at(&self, line: &str) -> Instant {
        let mut at = None;
        let seen = eventually(|| {
            at = self
                .happened()
                .into_iter()
                .find_map(|(t, h)| matches!(&h, Happened::Line(l) if l == line).then_some(t));
            at.is_some()
        })
        .await;
        assert!(seen, "never printed {line:?}; log: {:?}", self.happened());
        at.expect("seen")
    }

    /// Every end, when it was reported; asserts that nothing of the job was alive then.
    pub fn ends(&self) -> Vec<(Instant, ProcessEnd)> {
        self.happened()
            .into_iter()
            .filter_map(|(t, h)| match h {
                Happened::Ended(end, alive) => {
                    assert!(
                        alive.is_empty(),
                        "the job ended ({end:?}) while {:?} lived",
                        describe(&alive)
                    );
                    Some((t, end))
                }
                _ => None,
            })
            .collect()
    }

    /// Every end, with what was still alive then (escapes, where the tracking cannot see
    /// them).
    pub fn ends_with_escapes(&self) -> Vec<(ProcessEnd, Vec<i32>)> {
        self.happened()
            .into_iter()
            .filter_map(|(_, h)| match h {
                Happened::Ended(end, alive) => Some((end, alive)),
                _ => None,
            })
            .collect()
    }

    pub fn runs(&self) -> Vec<RunInfo> {
        self.happened()
            .into_iter()
            .filter_map(|(_, h)| match h {
                Happened::Spawned(info) => Some(info),
                _ => None,
            })
            .collect()
    }

    pub fn leftovers(&self) -> Vec<Leftovers> {
        self.happened()
            .into_iter()
            .filter_map(|(_, h)| match h {
                Happened::Leftovers(l) => Some(l),
                _ => None,
            })
            .collect()
    }

    pub fn errors(&self) -> Vec<String> {
        self.happened()
            .into_iter()
            .filter_map(|(_, h)| match h {
                Happened::Error(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    /// Starts the job and waits until it prints `ready`.
    pub async fn start_ready(&self) -> Instant {
        within("start", self.job.start()).await;
        self.line_at("ready").await
    }

    /// The live processes (zombies are not) that carry this harness's tag.
    pub fn survivors(&self) -> Vec<i32> {
        tagged(&self.token)
    }

    /// Waits (with the deadline) until no process carries the tag.
    pub async fn assert_no_survivors(&self) {
        let gone = eventually(|| self.survivors().is_empty()).await;
        assert!(gone, "survivors: {:?}", describe(&self.survivors()));
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        for pid in self.survivors() {
            let _ = kill(Pid::from_raw(pid), NixSignal::SIGKILL);
        }
    }
}

/// The live processes whose environment holds `TAG=token`.
pub fn tagged(token: &str) -> Vec<i32> {
    let needle = format!("{TAG}={token}\0");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| alive(pid))
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                env.windows(needle.len())
                    .any(|window| window == needle.as_bytes())
            })
        })
        .collect()
}

/// `pid (comm)` for each, for failure messages.
pub fn describe(pids: &[i32]) -> Vec<String> {
    pids.iter()
        .map(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .unwrap_or_default()
                .replace('\0', " ");
            format!("{pid} ({})", comm.trim())
        })
        .collect()
}

/// A grace long enough that a test never reaches it unless something is wrong.
pub const LONG: Duration = Duration::from_secs(60);
