//! `watchexec-supervisor` 6.0's own integration tests (`crates/supervisor/tests/programs.rs`),
//! ported onto `procmux::supervisor`: the same scenarios and assertions, written against our
//! API, where porting means changing the crate path. A differing expectation would be a
//! documented difference (see the crate docs); none was needed here.

use std::future::Future;
use std::pin::Pin;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use procmux::supervisor::Signal;
use procmux::supervisor::command::{Command, Program, Shell, SpawnOptions};
use procmux::supervisor::job::{Job, start_job};

/// A child made outside the command (an external launcher). It has no wrapped child: the job
/// must supervise it through the trait methods it overrides alone.
#[derive(Debug)]
struct ExternalChild(tokio::process::Child);

impl process_wrap::tokio::ChildWrapper for ExternalChild {
    fn inner(&self) -> &dyn process_wrap::tokio::ChildWrapper {
        panic!("an external child wraps no tokio child")
    }

    fn inner_mut(&mut self) -> &mut dyn process_wrap::tokio::ChildWrapper {
        panic!("an external child wraps no tokio child")
    }

    fn into_inner(self: Box<Self>) -> Box<dyn process_wrap::tokio::ChildWrapper> {
        panic!("an external child wraps no tokio child")
    }

    fn id(&self) -> Option<u32> {
        self.0.id()
    }

    fn start_kill(&mut self) -> std::io::Result<()> {
        self.0.start_kill()
    }

    fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.0.try_wait()
    }

    fn wait(&mut self) -> Pin<Box<dyn Future<Output = std::io::Result<ExitStatus>> + Send + '_>> {
        Box::pin(self.0.wait())
    }
}

async fn wait_for_running(job: &Job, expected: bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while job.is_running() != expected {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the job's running state did not change in time");
}

#[tokio::test]
async fn custom_child_spawn_preserves_job_api() -> Result<(), std::io::Error> {
    let command = Arc::new(Command {
        program: Program::Exec {
            prog: "/this/command/is/not/spawned".into(),
            args: Vec::new(),
        },
        options: Default::default(),
    });
    let (job, task) = start_job(command);
    let calls = Arc::new(AtomicUsize::new(0));
    let replaced_spawn_called = Arc::new(AtomicBool::new(false));

    job.set_spawn_fn({
        let replaced_spawn_called = Arc::clone(&replaced_spawn_called);
        move |command| {
            replaced_spawn_called.store(true, Ordering::Relaxed);
            command.spawn()
        }
    })
    .await;
    job.set_spawn_child_fn({
        let calls = Arc::clone(&calls);
        move |_command| {
            calls.fetch_add(1, Ordering::Relaxed);
            let mut external = tokio::process::Command::new("sleep");
            Ok(Box::new(ExternalChild(external.arg("30").spawn()?))
                as Box<dyn process_wrap::tokio::ChildWrapper>)
        }
    })
    .await;
    job.start().await;

    wait_for_running(&job, true).await;
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert!(!replaced_spawn_called.load(Ordering::Relaxed));

    job.restart().await;
    wait_for_running(&job, true).await;
    assert_eq!(calls.load(Ordering::Relaxed), 2);

    job.stop().await;
    wait_for_running(&job, false).await;
    task.abort();
    Ok(())
}

#[tokio::test]
async fn existing_spawn_fn_remains_compatible() -> Result<(), std::io::Error> {
    let command = Arc::new(Command {
        program: Program::Exec {
            prog: "sleep".into(),
            args: vec!["30".into()],
        },
        options: Default::default(),
    });
    let (job, task) = start_job(command);
    let called = Arc::new(AtomicBool::new(false));
    let replaced_spawn_called = Arc::new(AtomicBool::new(false));

    job.set_spawn_child_fn({
        let replaced_spawn_called = Arc::clone(&replaced_spawn_called);
        move |_command| {
            replaced_spawn_called.store(true, Ordering::Relaxed);
            panic!("the replaced child spawn function ran")
        }
    })
    .await;
    job.set_spawn_fn({
        let called = Arc::clone(&called);
        move |command| {
            called.store(true, Ordering::Relaxed);
            command.spawn()
        }
    })
    .await;
    job.start().await;

    assert!(called.load(Ordering::Relaxed));
    assert!(!replaced_spawn_called.load(Ordering::Relaxed));
    job.stop().await;
    task.abort();
    Ok(())
}

/// Unsetting either function spawns normally again.
#[tokio::test]
async fn unsetting_the_spawn_function_spawns_normally() {
    let (job, task) = start_job(Arc::new(Command {
        program: Program::Exec {
            prog: "sleep".into(),
            args: vec!["30".into()],
        },
        options: Default::default(),
    }));
    job.set_spawn_child_fn(|_| panic!("unset, so never called"))
        .await;
    job.unset_spawn_child_fn().await;
    job.set_spawn_fn(|_| panic!("unset, so never called")).await;
    job.unset_spawn_fn().await;
    job.start().await;
    assert!(job.is_running());
    job.stop().await;
    task.abort();
}

#[tokio::test]
async fn unix_shell_none() -> Result<(), std::io::Error> {
    assert!(
        Command {
            program: Program::Exec {
                prog: "echo".into(),
                args: vec!["hi".into()],
            },
            options: Default::default()
        }
        .to_spawnable()
        .spawn()?
        .wait()
        .await?
        .success()
    );
    Ok(())
}

#[tokio::test]
async fn unix_shell_sh() -> Result<(), std::io::Error> {
    assert!(
        Command {
            program: Program::Shell {
                shell: Shell::new("sh"),
                command: "echo hi".into(),
                args: Vec::new(),
            },
            options: Default::default()
        }
        .to_spawnable()
        .spawn()?
        .wait()
        .await?
        .success()
    );
    Ok(())
}

#[tokio::test]
async fn unix_shell_alternate() -> Result<(), std::io::Error> {
    assert!(
        Command {
            program: Program::Shell {
                shell: Shell::new("bash"),
                command: "echo".into(),
                args: vec!["--".into(), "hi".into()],
            },
            options: Default::default()
        }
        .to_spawnable()
        .spawn()?
        .wait()
        .await?
        .success()
    );
    Ok(())
}

#[tokio::test]
async fn unix_shell_alternate_shopts() -> Result<(), std::io::Error> {
    assert!(
        Command {
            program: Program::Shell {
                shell: Shell {
                    options: vec!["-o".into(), "errexit".into()],
                    ..Shell::new("bash")
                },
                command: "echo hi".into(),
                args: Vec::new(),
            },
            options: Default::default()
        }
        .to_spawnable()
        .spawn()?
        .wait()
        .await?
        .success()
    );
    Ok(())
}

/// A child spawned straight from `to_spawnable` dies when dropped (here: its whole group).
#[tokio::test]
async fn a_dropped_spawnable_child_dies() -> Result<(), std::io::Error> {
    for grouped in [false, true] {
        let child = Command {
            program: Program::Exec {
                prog: "sleep".into(),
                args: vec!["1000".into()],
            },
            options: SpawnOptions {
                grouped,
                ..Default::default()
            },
        }
        .to_spawnable()
        .spawn()?;
        let pid = i32::try_from(child.id().expect("a pid")).expect("pids fit");
        drop(child);
        assert!(
            crate::support::eventually(|| !crate::support::alive(pid)).await,
            "grouped: {grouped}: the dropped child lives"
        );
    }
    Ok(())
}

/// The graceful restart waits for the real command's own shutdown behind `sh -c`: its trap
/// sleeps for a second before exiting.
#[tokio::test]
async fn restart_with_signal_waits_for_the_actual_command_to_exit() {
    let unique = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("system time")
        .as_nanos();
    let script = std::env::temp_dir().join(format!(
        "procmux-test-trap-{}-{unique}.sh",
        std::process::id()
    ));
    let ready = script.with_extension("ready");
    std::fs::write(
        &script,
        "#!/bin/sh\ntrap 'sleep 1; exit 0' TERM\n: > \"$1\"\nsleep 30\n",
    )
    .expect("write test script");

    let (job, task) = start_job(Arc::new(Command {
        program: Program::Shell {
            shell: Shell::new("sh"),
            command: r#"sh "$0" "$1""#.into(),
            args: vec![
                script.to_string_lossy().into_owned(),
                ready.to_string_lossy().into_owned(),
            ],
        },
        options: SpawnOptions {
            grouped: true,
            ..Default::default()
        },
    }));

    job.start().await;
    tokio::time::timeout(Duration::from_secs(10), async {
        while !ready.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the script did not become ready");

    let began = std::time::Instant::now();
    job.restart_with_signal(Signal::Terminate, Duration::from_secs(5))
        .await;
    let elapsed = began.elapsed();

    job.stop().await;
    task.abort();
    let _ = std::fs::remove_file(&script);
    let _ = std::fs::remove_file(&ready);

    assert!(
        elapsed >= Duration::from_millis(800),
        "restart resolved after {elapsed:?}, expected it to wait for the trapped shutdown (~1s)"
    );
}
