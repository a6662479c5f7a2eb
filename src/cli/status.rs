//! `procmux status [--json]`: one row per instance of the running procmux.

use std::process::ExitCode;

use clap::Args;

use super::control::{Failure, Target, TargetArgs, ask, connect, emit, run_client, unexpected};
use crate::control::{InstanceStatus, Reply, Request};

/// Arguments of `procmux status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Which running procmux.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print JSON (`{"instances": [...]}`, the fields of the socket's status reply) instead of
    /// the table
    #[arg(long)]
    pub json: bool,
}

/// Runs `procmux status`.
pub fn run(args: &StatusArgs) -> ExitCode {
    run_client(async {
        let target = args.target.target()?;
        status(&target, args.json, &mut std::io::stdout()).await
    })
}

/// Asks the target for its status and writes the table (or JSON) to `out`.
pub async fn status(
    target: &Target,
    json: bool,
    out: &mut (dyn std::io::Write + Send),
) -> Result<(), Failure> {
    let mut client = connect(target).await?;
    let instances = match ask(target, &mut client, &Request::Status).await? {
        Reply::Status { instances } => instances,
        other => return Err(unexpected(&other)),
    };
    let text = if json {
        let mut text = serde_json::to_string_pretty(&serde_json::json!({ "instances": instances }))
            .expect("status rows are plain data: they serialize");
        text.push('\n');
        text
    } else {
        render_status(&instances)
    };
    emit(out, text.as_bytes())
}

/// The status table: a header and one aligned row per instance; `-` for what does not apply.
pub fn render_status(instances: &[InstanceStatus]) -> String {
    let header = [
        "NAME",
        "STATE",
        "PID",
        "UPTIME",
        "RESTARTS",
        "LAST EXIT",
        "PORT",
    ];
    let dash = || "-".to_owned();
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for instance in instances {
        rows.push(vec![
            instance.name.clone(),
            instance.state.to_string(),
            instance.pid.map_or_else(dash, |pid| pid.to_string()),
            instance.uptime_ms.map_or_else(dash, uptime),
            instance.restarts.to_string(),
            instance
                .last_exit
                .as_ref()
                .map_or_else(dash, ToString::to_string),
            instance.port.map_or_else(dash, |port| port.to_string()),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// An uptime in its two largest units, to the second: `42s`, `5m 3s`, `2h 7m`, `3d 4h`.
fn uptime(ms: u64) -> String {
    let s = ms / 1000;
    let (d, h, m) = (s / 86_400, s / 3600 % 24, s / 60 % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {}s", s % 60),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{LastExit, State};

    #[test]
    fn uptimes_are_short() {
        assert_eq!(uptime(0), "0s");
        assert_eq!(uptime(42_999), "42s");
        assert_eq!(uptime(303_000), "5m 3s");
        assert_eq!(uptime(2 * 3_600_000 + 7 * 60_000 + 5_000), "2h 7m");
        assert_eq!(uptime(3 * 86_400_000 + 4 * 3_600_000), "3d 4h");
    }

    #[test]
    fn the_table_is_aligned() {
        let rows = [
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
                name: "worker".into(),
                state: State::Exited,
                pid: None,
                uptime_ms: None,
                restarts: 12,
                last_exit: Some(LastExit::Code(3)),
                port: None,
            },
        ];
        assert_eq!(
            render_status(&rows),
            "NAME    STATE    PID   UPTIME  RESTARTS  LAST EXIT  PORT\n\
             web.1   running  4242  5m 3s   0         -          5000\n\
             worker  exited   -     -       12        code 3     -\n"
        );
        assert_eq!(
            render_status(&[]),
            "NAME  STATE  PID  UPTIME  RESTARTS  LAST EXIT  PORT\n"
        );
    }
}
