//! Helpers: commands, waiting on conditions with deadlines, and finding out whether a pid is
//! still a live process (zombies count as gone: they are dead, just not yet reaped by init).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal as NixSignal, kill};
use nix::unistd::Pid;
use procmux::supervisor::command::{Command, Program, Shell, SpawnOptions};
use procmux::supervisor::job::{CommandState, Job};
use procmux::supervisor::{ProcessEnd, Signal};
use tempfile::TempDir;

/// Generous: CI is a loaded 2-core box.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub fn grouped() -> SpawnOptions {
    SpawnOptions {
        grouped: true,
        ..Default::default()
    }
}

pub fn shell(line: &str, options: SpawnOptions) -> Arc<Command> {
    shell_at("sh", line, options)
}

/// `shell`, with the shell named as given (a path, say).
pub fn shell_at(prog: &str, line: &str, options: SpawnOptions) -> Arc<Command> {
    Arc::new(Command {
        program: Program::Shell {
            shell: Shell::new(prog),
            command: line.into(),
            args: Vec::new(),
        },
        options,
    })
}

pub fn exec(prog: &str, args: &[&str], options: SpawnOptions) -> Arc<Command> {
    Arc::new(Command {
        program: Program::Exec {
            prog: prog.into(),
            args: args.iter().map(|&a| a.to_owned()).collect(),
        },
        options,
    })
}

/// Waits until `condition` holds, checking every 10 ms; false if the deadline passed first.
pub async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if condition() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Awaits a future, failing the test if it takes longer than the deadline.
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {DEADLINE:?}"))
}

/// Whether `pid` is a live process: it exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state is the first field after the command name, which is in parentheses and may
    // itself contain spaces or parentheses.
    let state = stat
        .rfind(')')
        .and_then(|end| stat[end + 1..].split_whitespace().next());
    !matches!(state, Some("Z" | "X") | None)
}

/// Pids the test started, to check on and to kill if the test fails half-way: every test
/// leaves no process behind, passing or not. Kills only these pids, never by name.
#[derive(Default, Clone)]
pub struct Pids(Arc<Mutex<Vec<i32>>>);

impl Pids {
    pub fn add(&self, pid: i32) {
        self.0.lock().unwrap().push(pid);
    }

    pub fn all(&self) -> Vec<i32> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (with the deadline) until none of the pids is alive.
    pub async fn assert_all_gone(&self) {
        let pids = self.all();
        assert!(!pids.is_empty(), "no pids recorded");
        let gone = eventually(|| pids.iter().all(|&pid| !alive(pid))).await;
        let survivors: Vec<i32> = pids.into_iter().filter(|&pid| alive(pid)).collect();
        assert!(gone, "survivors: {survivors:?}");
    }
}

impl Drop for Pids {
    fn drop(&mut self) {
        if Arc::strong_count(&self.0) == 1 {
            for pid in self.all() {
                if alive(pid) {
                    let _ = kill(Pid::from_raw(pid), NixSignal::SIGKILL);
                }
            }
        }
    }
}

/// A scratch directory where shells write the pids of what they start.
pub struct Scratch {
    dir: TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Waits until the file holds `count` lines and returns them as pids, recorded in `pids`.
    pub async fn read_pids(&self, name: &str, count: usize, pids: &Pids) -> Vec<i32> {
        let path = self.path(name);
        let mut found = Vec::new();
        let complete = eventually(|| {
            found = read_numbers(&path);
            found.len() >= count
        })
        .await;
        for &pid in &found {
            pids.add(pid);
        }
        assert!(
            complete,
            "{} holds {found:?}, wanted {count} pids",
            path.display()
        );
        found
    }
}

fn read_numbers(path: &Path) -> Vec<i32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// A shell line for a group of three: the shell and two background sleeps, whose pids (shell
/// first) it writes to `file`, one a line, before waiting on them.
pub fn three_of_a_group(file: &Path) -> String {
    let file = file.display();
    format!(
        "echo $$ > {file}.tmp; sleep 1000 & echo $! >> {file}.tmp; sleep 1000 & echo $! >> {file}.tmp; mv {file}.tmp {file}; wait"
    )
}

/// The job's state, read in the task.
pub async fn state_of(job: &Job) -> Snapshot {
    let snapshot = Arc::new(Mutex::new(None));
    let out = Arc::clone(&snapshot);
    within(
        "run",
        job.run(move |ctx| {
            *out.lock().unwrap() = Some(Snapshot::of(ctx.current));
        }),
    )
    .await;
    let taken = snapshot.lock().unwrap().take();
    taken.expect("the job ran the function")
}

/// A comparable summary of a `CommandState`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Snapshot {
    Pending,
    Running(i32),
    Finished(ProcessEnd),
}

impl Snapshot {
    pub fn of(state: &CommandState) -> Self {
        match state {
            CommandState::Pending => Self::Pending,
            CommandState::Running { child, .. } => {
                Self::Running(child.id().map_or(-1, |id| i32::try_from(id).unwrap()))
            }
            CommandState::Finished { status, .. } => Self::Finished(*status),
        }
    }
}

/// Records the pid of every spawn of the job, in order.
pub async fn record_spawns(job: &Job, pids: &Pids) -> Arc<Mutex<Vec<i32>>> {
    let spawned = Arc::new(Mutex::new(Vec::new()));
    let (log, pids) = (Arc::clone(&spawned), pids.clone());
    job.set_spawned_hook(move |child, _ctx| {
        let pid = i32::try_from(child.id().unwrap()).unwrap();
        pids.add(pid);
        log.lock().unwrap().push(pid);
    })
    .await;
    spawned
}

pub fn killed_by(signal: Signal) -> Snapshot {
    Snapshot::Finished(ProcessEnd::ExitSignal(signal))
}

/// A grouped job (not started) whose shell ignores SIGTERM, as does the `sleep` it becomes;
/// [`start_ready`] starts it and waits until the trap is in place.
pub fn stubborn_job(scratch: &Scratch) -> (Job, tokio::task::JoinHandle<()>) {
    let ready = scratch.path("ready");
    let line = format!(
        "trap '' TERM; echo $$ > {}; exec sleep 1000",
        ready.display()
    );
    procmux::supervisor::job::start_job(shell(&line, grouped()))
}

/// Starts a [`stubborn_job`] and waits until it ignores SIGTERM.
pub async fn start_ready(job: &Job, scratch: &Scratch, pids: &Pids) {
    within("start", job.start()).await;
    scratch.read_pids("ready", 1, pids).await;
}

/// Appends the status of every end of the job to `ends`.
pub async fn record_ends(job: &Job, ends: &Arc<Mutex<Vec<ProcessEnd>>>) {
    let log = Arc::clone(ends);
    job.set_exit_hook(move |ctx| {
        let CommandState::Finished { status, .. } = ctx.current else {
            panic!("exit hook saw {:?}", ctx.current);
        };
        log.lock().unwrap().push(*status);
    })
    .await;
}
