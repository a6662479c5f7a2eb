//! [`ChildSetup`]: a spawn hook's whole setup of the child (argv\[0\], cwd, added environment,
//! stdin, piped stdout and stderr) as a command wrapper, so that a job can spawn the command
//! by its own means (see `supervisor::vfork`) as well as through the `Command`.

use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use process_wrap::tokio::{CommandWrap, CommandWrapper};
use tokio::process::Command;

/// The child's setup, declared rather than applied by hand.
///
/// A spawn hook that adds this wrapper (and changes nothing else on the command) lets the job
/// choose how to spawn: through `tokio::process::Command`, where the wrapper applies the setup
/// before the spawn, or, on Linux, by a vfork-style clone that puts the child in the run's
/// cgroup before `exec`, several times cheaper than the fork a `pre_exec` forces under cgroup
/// tracking and cheaper than `posix_spawn` in a large fleet (figures in the `vfork` module).
/// Changes a hook makes to the command directly beside this wrapper are not seen by the second
/// way: declare everything here.
#[derive(Debug, Clone, Default)]
pub struct ChildSetup {
    /// The child's `argv[0]`, when not the program as given.
    pub arg0: Option<OsString>,
    /// The child's working directory; the parent's when `None`.
    pub cwd: Option<PathBuf>,
    /// Variables added to (or replacing in) the parent's environment.
    pub env: Arc<Vec<(OsString, OsString)>>,
    /// The child's stdin, shared between children (each gets its own descriptor of it);
    /// `/dev/null` when `None`. Stdout and stderr are always pipes.
    pub stdin: Option<Arc<OwnedFd>>,
}

impl CommandWrapper for ChildSetup {
    fn pre_spawn(&mut self, command: &mut Command, _core: &CommandWrap) -> io::Result<()> {
        let stdin = match &self.stdin {
            Some(fd) => fd.try_clone().map_or_else(|_| Stdio::null(), Stdio::from),
            None => Stdio::null(),
        };
        let command = command.as_std_mut();
        #[cfg(unix)]
        if let Some(arg0) = &self.arg0 {
            use std::os::unix::process::CommandExt;
            command.arg0(arg0);
        }
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        command
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Ok(())
    }
}
