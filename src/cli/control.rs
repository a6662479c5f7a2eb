//! What the client commands (`status`, `restart`, `stop`, `logs`) share: finding the running
//! procmux of a manifest the way `run` finds the manifest, connecting to it, and turning the
//! control layer's errors and error replies into messages and exit codes.
//!
//! Exit codes: 0 done; 1 procmux is not running here, or talking to it failed, or it refused
//! (busy, shutting down, a failed action); 2 an unknown name (nothing was changed) or a usage
//! error.

use std::future::Future;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::control::{BindError, Client, ClientError, ErrorKind, Reply, SocketEnv};
use crate::manifest::{self, LoadOptions};

/// Which running procmux: the one serving this manifest (`-f`, `-d`, else the current
/// folder's `procmux.toml` or `Procfile`, as for `run`).
#[derive(Debug, Clone, Default, Args)]
pub struct TargetArgs {
    /// The manifest the running procmux was started with [default: procmux.toml, else Procfile]
    #[arg(short = 'f', long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// The project root the manifest is looked for in [default: the current folder]
    #[arg(short = 'd', long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

/// The running procmux a client command talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The manifest's absolute path (the socket is named after its canonical form).
    pub manifest: PathBuf,
    /// The manifest as the user sees it in messages: `./procmux.toml`, or absolute when it is
    /// outside the current folder.
    pub shown: String,
    /// Where sockets live.
    pub env: SocketEnv,
}

impl TargetArgs {
    /// The target in the current folder, with this process's socket environment.
    pub fn target(&self) -> Result<Target, Failure> {
        let cwd = std::env::current_dir()
            .map_err(|error| Failure::error(format!("cannot read the current folder: {error}")))?;
        self.target_in(&cwd, SocketEnv::from_env())
    }

    /// The target for these flags in `cwd` (absolute), with sockets found through `env`.
    ///
    /// Only the manifest's path is looked up, never its content, so a manifest with a syntax
    /// error (being edited) still finds its server.
    pub fn target_in(&self, cwd: &Path, env: SocketEnv) -> Result<Target, Failure> {
        let options = LoadOptions {
            file: self.file.clone(),
            root: self.root.clone(),
            cwd: cwd.to_path_buf(),
            ..LoadOptions::default()
        };
        let manifest =
            manifest::locate(&options).map_err(|error| Failure::not_running(&error.message))?;
        let shown = match manifest.strip_prefix(cwd) {
            Ok(rest) => format!("./{}", rest.display()),
            Err(_) => manifest.display().to_string(),
        };
        Ok(Target {
            manifest,
            shown,
            env,
        })
    }
}

/// A client command that did not succeed: the line for stderr and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The exit code (never 0, except for [`Failure::quiet`]).
    pub code: u8,
    /// What to print on stderr (empty: nothing).
    pub message: String,
}

impl Failure {
    /// An `error: ...` line with exit code 1.
    pub fn error(message: impl std::fmt::Display) -> Self {
        Failure {
            code: 1,
            message: format!("error: {message}"),
        }
    }

    /// `procmux is not running here (...)`, exit code 1.
    fn not_running(why: &str) -> Self {
        Failure {
            code: 1,
            message: format!("procmux is not running here ({why})"),
        }
    }

    /// Stop now, print nothing, exit 0: stdout was closed (`procmux logs | head`).
    pub fn quiet() -> Self {
        Failure {
            code: 0,
            message: String::new(),
        }
    }

    /// Prints the message (with a coloured `error:` on a terminal) and gives the exit code.
    pub fn report(&self) -> ExitCode {
        if !self.message.is_empty() {
            super::print_diagnostic(&format!("{}\n", self.message));
        }
        ExitCode::from(self.code)
    }
}

/// Connects to the target's server.
pub async fn connect(target: &Target) -> Result<Client, Failure> {
    Client::connect(&target.manifest, &target.env)
        .await
        .map_err(|error| client_failure(target, error))
}

/// Sends one request and returns the reply, with an error reply already turned into a
/// failure.
pub(super) async fn ask(
    target: &Target,
    client: &mut Client,
    request: &crate::control::Request,
) -> Result<Reply, Failure> {
    match client.request(request).await {
        Ok(Reply::Error { kind, message }) => Err(reply_failure(kind, &message)),
        Ok(reply) => Ok(reply),
        Err(error) => Err(client_failure(target, error)),
    }
}

/// The failure for a control error.
pub(super) fn client_failure(target: &Target, error: ClientError) -> Failure {
    match error {
        ClientError::NotRunning { .. } => {
            Failure::not_running(&format!("no server for {}", target.shown))
        }
        ClientError::Closed => Failure::error("procmux closed the connection without answering"),
        other => Failure::error(other),
    }
}

/// The failure for an error reply: exit 2 for an unknown name, like a usage error.
pub(super) fn reply_failure(kind: ErrorKind, message: &str) -> Failure {
    Failure {
        code: if kind == ErrorKind::UnknownName { 2 } else { 1 },
        message: format!("error: {message}"),
    }
}

/// The failure for a reply of the wrong kind (a server of another build, or a bug).
pub(super) fn unexpected(reply: &Reply) -> Failure {
    Failure::error(format!("unexpected reply from procmux: {reply:?}"))
}

/// The failure `procmux run` reports when it cannot take the control socket: exit 2 with
/// `procmux is already running procmux.toml (pid 1234); use procmux status, restart or stop`
/// for a live server (the manifest shown relative to `cwd`), exit 1 otherwise.
pub fn bind_failure(error: &BindError, cwd: &Path) -> Failure {
    match error {
        BindError::AlreadyRunning { pid, manifest } => {
            let shown = manifest.strip_prefix(cwd).unwrap_or(manifest).display();
            let pid = pid.map_or_else(String::new, |pid| format!(" (pid {pid})"));
            Failure {
                code: 2,
                message: format!(
                    "procmux is already running {shown}{pid}; use procmux status, restart or stop"
                ),
            }
        }
        other => Failure::error(format!("cannot open the control socket: {other}")),
    }
}

/// Writes `bytes` to `out` and flushes: a closed stdout ends the command quietly.
pub(super) fn emit(out: &mut (dyn Write + Send), bytes: &[u8]) -> Result<(), Failure> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Err(Failure::quiet()),
        Err(error) => Err(Failure::error(format!("cannot write to stdout: {error}"))),
    }
}

/// Runs a client command on a small runtime of its own and gives its exit code.
pub(super) fn run_client(command: impl Future<Output = Result<(), Failure>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return Failure::error(format!("cannot start the async runtime: {error}")).report();
        }
    };
    match runtime.block_on(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> SocketEnv {
        SocketEnv::in_runtime_dir("/nonexistent")
    }

    #[test]
    fn the_target_is_found_like_runs_manifest_even_when_broken() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cwd = dir.path();
        std::fs::write(cwd.join("procmux.toml"), "[[[ not toml").expect("write");
        std::fs::write(cwd.join("Procfile"), "web: x").expect("write");
        let target = TargetArgs::default().target_in(cwd, env()).expect("found");
        assert_eq!(target.manifest, cwd.join("procmux.toml"));
        assert_eq!(target.shown, "./procmux.toml");
        let args = TargetArgs {
            file: Some("Procfile".into()),
            root: None,
        };
        assert_eq!(
            args.target_in(cwd, env()).expect("found").shown,
            "./Procfile"
        );
        let args = TargetArgs {
            file: Some("/elsewhere/procmux.toml".into()),
            root: None,
        };
        assert_eq!(
            args.target_in(cwd, env()).expect("found").shown,
            "/elsewhere/procmux.toml"
        );
    }

    #[test]
    fn no_manifest_is_not_running_here() {
        let dir = tempfile::tempdir().expect("tempdir");
        let failure = TargetArgs::default()
            .target_in(dir.path(), env())
            .expect_err("nothing there");
        assert_eq!(failure.code, 1);
        assert_eq!(
            failure.message,
            "procmux is not running here (no procmux.toml, Procfile or Procfile.dev in .)"
        );
    }

    #[test]
    fn already_running_names_the_manifest_and_pid() {
        let error = BindError::AlreadyRunning {
            pid: Some(1234),
            manifest: "/app/procmux.toml".into(),
        };
        assert_eq!(
            bind_failure(&error, Path::new("/app")),
            Failure {
                code: 2,
                message: "procmux is already running procmux.toml (pid 1234); use procmux \
                          status, restart or stop"
                    .into()
            }
        );
        let error = BindError::AlreadyRunning {
            pid: None,
            manifest: "/app/procmux.toml".into(),
        };
        assert_eq!(
            bind_failure(&error, Path::new("/elsewhere")).message,
            "procmux is already running /app/procmux.toml; use procmux status, restart or stop"
        );
    }

    #[test]
    fn unknown_names_exit_2_and_other_errors_1() {
        assert_eq!(reply_failure(ErrorKind::UnknownName, "no wbe").code, 2);
        assert_eq!(reply_failure(ErrorKind::Failed, "no").code, 1);
        assert_eq!(
            reply_failure(ErrorKind::Busy, "busy").message,
            "error: busy"
        );
    }
}
