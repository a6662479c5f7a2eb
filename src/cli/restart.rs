//! `procmux restart NAME...`: a graceful restart of processes or instances of the running
//! procmux; answers once the new processes run.

use std::process::ExitCode;

use clap::Args;

use super::control::{Failure, Target, TargetArgs, ask, connect, emit, run_client, unexpected};
use crate::control::{Reply, Request};

/// Arguments of `procmux restart`.
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Processes (all their instances) or instances (web.2) to restart; stopped ones start
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
    /// Which running procmux.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Runs `procmux restart`.
pub fn run(args: &RestartArgs) -> ExitCode {
    run_client(async {
        let target = args.target.target()?;
        restart(&target, &args.names, &mut std::io::stdout()).await
    })
}

/// Asks the target to restart `names` and writes the one-line result to `out`.
pub async fn restart(
    target: &Target,
    names: &[String],
    out: &mut (dyn std::io::Write + Send),
) -> Result<(), Failure> {
    let mut client = connect(target).await?;
    let request = Request::Restart {
        names: names.to_vec(),
    };
    match ask(target, &mut client, &request).await? {
        Reply::Done { message } => emit(out, format!("{message}\n").as_bytes()),
        other => Err(unexpected(&other)),
    }
}
