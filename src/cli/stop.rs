//! `procmux stop [NAME...]`: a graceful stop of processes or instances of the running procmux
//! (they stay stopped until `restart`), or with no name of the whole stack.
//!
//! For the whole stack the server answers once the stop has begun; the command prints that
//! answer, then waits until the server closes the connection, which it does when it goes away
//! at the end of the shutdown. So `procmux stop && procmux run` works: when `stop` returns, the
//! old procmux no longer holds the socket. (Its own exit code is 143, as for SIGTERM.)

use std::process::ExitCode;

use clap::Args;

use super::control::{Failure, Target, TargetArgs, ask, connect, emit, run_client, unexpected};
use crate::control::{Reply, Request};

/// Arguments of `procmux stop`.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Processes or instances (web.2) to stop [default: the whole stack, as SIGTERM would]
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Which running procmux.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Runs `procmux stop`.
pub fn run(args: &StopArgs) -> ExitCode {
    run_client(async {
        let target = args.target.target()?;
        stop(&target, &args.names, &mut std::io::stdout()).await
    })
}

/// Asks the target to stop `names` (none: everything) and writes the one-line result to
/// `out`; for the whole stack, returns once the server has gone away.
pub async fn stop(
    target: &Target,
    names: &[String],
    out: &mut (dyn std::io::Write + Send),
) -> Result<(), Failure> {
    let mut client = connect(target).await?;
    let request = Request::Stop {
        names: names.to_vec(),
    };
    match ask(target, &mut client, &request).await? {
        Reply::Done { message } => emit(out, format!("{message}\n").as_bytes())?,
        other => return Err(unexpected(&other)),
    }
    if names.is_empty() {
        // Whatever comes before the close is not for us; an error means it is gone too.
        while let Ok(Some(_)) = client.next().await {}
    }
    Ok(())
}
