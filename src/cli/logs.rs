//! `procmux logs [NAME...] [-n N] [-f]`: recent output of the running procmux's instances, from
//! its memory, in the usual `HH:MM:SS name | text` form; with `-f` the live output after it.
//!
//! Rendering is this command's own (the socket carries line records, not rendered text): the
//! prefix is padded to the longest name seen (at least 6, the width of `system`) and coloured
//! like `procmux run` colours it, the manifest's colour when the reply names one, else the
//! stable hash of the name. Child bytes are written untouched. `-f` here is `--follow`, as in
//! `tail -f`; the manifest is then named with `--file`.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use chrono::{DateTime, Local};
use clap::Args;
use tokio::signal::unix::{SignalKind, signal};

use super::control::{
    Failure, Target, TargetArgs, ask, client_failure, connect, emit, reply_failure, run_client,
    unexpected,
};
use super::run::ColorWhen;
use crate::control::{ClientError, LogLine, LogsRequest, Reply, Request};
use crate::mux::{self, Color};

/// The narrowest prefix, as in `procmux run`: the width of `system`.
const MIN_WIDTH: usize = 6;

/// The style of the `system` name and the reset after a prefix: the escapes the mux uses.
const SYSTEM_STYLE: &[u8] = b"\x1b[1m";
const RESET: &[u8] = b"\x1b[0m";

/// Arguments of `procmux logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Processes or instances (web.2) to show [default: every instance]
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// How many recent lines per instance
    #[arg(short = 'n', long, value_name = "N", default_value_t = crate::control::DEFAULT_LOG_LINES)]
    pub lines: u32,
    /// Keep printing the live output until Ctrl-C
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// The manifest the running procmux was started with [default: procmux.toml, else Procfile]
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// The project root the manifest is looked for in [default: the current folder]
    #[arg(short = 'd', long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// When to colour the prefixes (NO_COLOR and CLICOLOR_FORCE are honoured in auto)
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto, overrides_with = "color")]
    pub color: ColorWhen,
}

/// What `logs` asks for and how it prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsOptions {
    /// Processes or instances; empty: every instance.
    pub names: Vec<String>,
    /// Recent lines per instance.
    pub lines: u32,
    /// Follow the live output.
    pub follow: bool,
    /// Colour the prefixes.
    pub color: bool,
}

/// Runs `procmux logs`; with `-f`, Ctrl-C ends it with exit code 0.
pub fn run(args: &LogsArgs) -> ExitCode {
    let options = LogsOptions {
        names: args.names.clone(),
        lines: args.lines,
        follow: args.follow,
        color: mux::resolve_from_env(args.color.into(), std::io::stdout().is_terminal()),
    };
    let target = TargetArgs {
        file: args.file.clone(),
        root: args.root.clone(),
    };
    run_client(async {
        let target = target.target()?;
        // Registered now, before anything is printed: `ctrl_c()` would only register when
        // first polled, and a Ctrl-C before that would kill us with the default action.
        // Without a handler (it cannot fail in practice) Ctrl-C keeps that action.
        let mut sigint = signal(SignalKind::interrupt()).ok();
        let interrupted = async move {
            match &mut sigint {
                Some(sigint) => {
                    sigint.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
        logs(&target, &options, &mut out, &mut err, interrupted).await
    })
}

/// Asks the target for recent lines and writes them to `out`; with `options.follow`, then
/// writes live lines until `stop` resolves, or until the server goes away (then says so on
/// `err`).
pub async fn logs(
    target: &Target,
    options: &LogsOptions,
    out: &mut (dyn std::io::Write + Send),
    err: &mut (dyn std::io::Write + Send),
    stop: impl Future<Output = ()>,
) -> Result<(), Failure> {
    let mut client = connect(target).await?;
    let request = Request::Logs(LogsRequest {
        names: options.names.clone(),
        lines: options.lines,
        follow: options.follow,
    });
    let (lines, colors) = match ask(target, &mut client, &request).await? {
        Reply::Logs { lines, colors } => (lines, colors),
        other => return Err(unexpected(&other)),
    };
    let mut renderer = Renderer::new(&lines, &colors, options.color);
    let mut text = Vec::new();
    for line in &lines {
        renderer.line(&mut text, line);
    }
    emit(out, &text)?;
    if !options.follow {
        return Ok(());
    }
    tokio::pin!(stop);
    loop {
        let next = tokio::select! {
            () = &mut stop => return Ok(()),
            next = client.next() => next,
        };
        text.clear();
        match next {
            Ok(Some(Reply::Line(line))) => renderer.line(&mut text, &line),
            Ok(Some(Reply::Skipped { count })) => {
                text.extend(format!("... {count} lines skipped\n").bytes())
            }
            Ok(Some(Reply::Error { kind, message })) => return Err(reply_failure(kind, &message)),
            Ok(Some(other)) => return Err(unexpected(&other)),
            Ok(None) | Err(ClientError::Io { .. }) => {
                // Our own output may be gone too: nothing more to say then.
                let _ = emit(err, b"procmux stopped\n");
                return Ok(());
            }
            Err(error) => return Err(client_failure(target, error)),
        }
        emit(out, &text)?;
    }
}

/// Renders log lines as `HH:MM:SS name | bytes`.
#[derive(Debug, Clone)]
pub struct Renderer {
    /// The prefix width: the longest name seen, at least [`MIN_WIDTH`].
    width: usize,
    /// Whether to colour the prefix.
    color: bool,
    /// The manifest's colours, by display name.
    colors: BTreeMap<String, Color>,
}

impl Renderer {
    /// A renderer padded for `lines`, with the reply's `colors` (colour names the mux does not
    /// know are ignored).
    pub fn new(lines: &[LogLine], colors: &BTreeMap<String, String>, color: bool) -> Self {
        let width = lines
            .iter()
            .map(|line| line.name.chars().count())
            .fold(MIN_WIDTH, usize::max);
        let colors = colors
            .iter()
            .filter_map(|(name, color)| Some((name.clone(), Color::from_name(color)?)))
            .collect();
        Renderer {
            width,
            color,
            colors,
        }
    }

    /// Appends `line` with its stamp, prefix and newline; a longer name than any before widens
    /// the prefix from here on.
    pub fn line(&mut self, out: &mut Vec<u8>, line: &LogLine) {
        let name: &str = &line.name;
        self.width = self.width.max(name.chars().count());
        out.extend_from_slice(stamp(line.at_ms).as_bytes());
        let style = self.color.then(|| self.style(name));
        if let Some(style) = style {
            out.extend_from_slice(style);
        }
        out.extend_from_slice(name.as_bytes());
        out.extend(std::iter::repeat_n(b' ', self.width - name.chars().count()));
        out.extend_from_slice(b" |");
        if style.is_some() {
            out.extend_from_slice(RESET);
        }
        out.push(b' ');
        out.extend_from_slice(&line.bytes);
        out.push(b'\n');
    }

    fn style(&self, name: &str) -> &'static [u8] {
        if name == "system" {
            return SYSTEM_STYLE;
        }
        self.colors
            .get(name)
            .copied()
            .unwrap_or_else(|| Color::for_name(name))
            .escape()
    }
}

/// `HH:MM:SS ` in local time.
pub fn stamp(at_ms: u64) -> String {
    let at = DateTime::<Local>::from(UNIX_EPOCH + Duration::from_millis(at_ms));
    at.format("%H:%M:%S ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Stream;

    fn line(name: &str, bytes: &[u8]) -> LogLine {
        LogLine {
            name: name.into(),
            stream: Stream::Stdout,
            at_ms: 1_700_000_000_000,
            bytes: bytes.to_vec(),
        }
    }

    fn render(renderer: &mut Renderer, lines: &[LogLine]) -> Vec<u8> {
        let mut out = Vec::new();
        for l in lines {
            renderer.line(&mut out, l);
        }
        out
    }

    #[test]
    fn plain_lines_are_padded_to_the_longest_name() {
        let lines = [line("web.1", b"hi"), line("scheduler", b"\xffraw")];
        let mut renderer = Renderer::new(&lines, &BTreeMap::new(), false);
        let t = stamp(lines[0].at_ms);
        let mut want = format!("{t}web.1     | hi\n{t}scheduler | ").into_bytes();
        want.extend_from_slice(b"\xffraw\n");
        assert_eq!(render(&mut renderer, &lines), want);
    }

    #[test]
    fn the_width_is_at_least_six_and_grows() {
        let mut renderer = Renderer::new(&[line("db", b"")], &BTreeMap::new(), false);
        let t = stamp(1_700_000_000_000);
        let out = render(
            &mut renderer,
            &[
                line("db", b"a"),
                line("much-longer", b"b"),
                line("db", b"c"),
            ],
        );
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            format!("{t}db     | a\n{t}much-longer | b\n{t}db          | c\n")
        );
    }

    #[test]
    fn colours_follow_the_manifest_then_the_hash() {
        let colors = BTreeMap::from([
            ("web.1".to_owned(), "red".to_owned()),
            ("odd".to_owned(), "no-such-colour".to_owned()),
        ]);
        let lines = [line("web.1", b"a"), line("odd", b"b"), line("system", b"c")];
        let mut renderer = Renderer::new(&lines, &colors, true);
        let out = String::from_utf8(render(&mut renderer, &lines)).expect("utf8");
        let t = stamp(1_700_000_000_000);
        let hashed = String::from_utf8_lossy(Color::for_name("odd").escape()).into_owned();
        assert_eq!(
            out,
            format!(
                "{t}\x1b[31mweb.1  |\x1b[0m a\n{t}{hashed}odd    |\x1b[0m b\n{t}\x1b[1msystem |\x1b[0m c\n"
            )
        );
    }

    #[test]
    fn stamps_are_hh_mm_ss() {
        let text = stamp(1_700_000_000_000);
        assert_eq!(text.len(), 9);
        assert_eq!(&text[2..3], ":");
        assert!(text.ends_with(' '));
    }
}
