//! `ready`: the raw table (one check and optional timings) and its resolution, per instance,
//! into a [`ReadyCheck`].
//!
//! The key checks (unknown keys, no check, two checks) are made on the spanned document in
//! `toml.rs`, where the keys' positions are known; this file checks the values.
//!
//! Decisions the design leaves open:
//!
//! - Values expand `${VAR}` and `$VAR` from the instance's own environment (its `PORT` and
//!   `PS` included, so `web.2` probes its own port), then the inherited one; a variable
//!   defined nowhere is a warning and expands to nothing. `exec` as a string is not expanded
//!   by procmux: the shell does it when the check runs, with the same environment (so quoting
//!   works as in `command`); `exec` as an array is expanded item by item, since no shell
//!   sees it.
//! - `tcp` and `http` addresses are read by `address.rs`; the host defaults to `127.0.0.1`.
//! - `interval`, `attempt_timeout` and `timeout` must be more than 0 (an interval of 0 would
//!   spin); `initial_delay` may be 0. All are at most 24 h.
//! - A `log` check needs no setting on the process: procmux always captures its output.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, Unexpected, Visitor};
use toml::Spanned;

use super::address::{UrlProblem, parse_http_url, parse_port, request_path, split_host_port};
use super::env::expand_value;
use super::error::{ErrorKind, ManifestError, Warning};
use super::raw::CommandLine;
use super::resolve::Context;
use super::values::Grace;
use super::{ProcessCommand, ReadyCheck, ReadyKind};

/// The keys of a `ready` table that name a check; exactly one must be present.
pub(crate) const CHECK_KEYS: &[&str] = &["tcp", "http", "exec", "log"];

/// Every key of a `ready` table.
pub(crate) const READY_KEYS: &[&str] = &[
    "tcp",
    "http",
    "exec",
    "log",
    "initial_delay",
    "interval",
    "attempt_timeout",
    "timeout",
];

/// The host a `tcp` check or an `http` path connects to when it names none.
const DEFAULT_HOST: &str = "127.0.0.1";

/// `ready = { ... }`: when the process counts as ready.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a table such as { tcp = 5432 }")]
#[schemars(
    rename = "Ready",
    description = "When the process counts as ready: exactly one check (tcp, http, exec or log) and optional timings.",
    extend("oneOf" = [
        { "required": ["tcp"] },
        { "required": ["http"] },
        { "required": ["exec"] },
        { "required": ["log"] }
    ])
)]
pub(crate) struct RawReady {
    /// Ready once a TCP connect succeeds: a port (5432), "$PORT", or "host:port" (host
    /// default 127.0.0.1).
    #[schemars(with = "Option<TcpTarget>")]
    pub tcp: Option<Spanned<TcpTarget>>,
    /// Ready once a GET answers 2xx or 3xx: an http:// URL, or a path alone ("/up") for
    /// http://127.0.0.1:$PORT/up.
    #[schemars(with = "Option<String>")]
    pub http: Option<Spanned<String>>,
    /// Ready once the command exits 0 (a string runs through the shell, an array directly),
    /// with the process's environment and cwd.
    #[schemars(with = "Option<CommandLine>")]
    pub exec: Option<Spanned<CommandLine>>,
    /// Ready once a line of the process's output (stdout or stderr) contains this text.
    #[schemars(with = "Option<String>")]
    pub log: Option<Spanned<String>>,
    /// Wait before the first attempt (default 0s).
    #[schemars(with = "Option<Grace>")]
    pub initial_delay: Option<Spanned<Grace>>,
    /// Between attempts (default 250ms).
    #[schemars(with = "Option<Grace>")]
    pub interval: Option<Spanned<Grace>>,
    /// One attempt at most this long (default 1s).
    #[schemars(with = "Option<Grace>")]
    pub attempt_timeout: Option<Spanned<Grace>>,
    /// Not ready by then: the process failed to start (default 60s).
    #[schemars(with = "Option<Grace>")]
    pub timeout: Option<Spanned<Grace>>,
}

/// `tcp = 5432` or `tcp = "$PORT"` / `"host:port"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TcpTarget {
    /// A port number, checked at parse time.
    Port(u16),
    /// Text to expand, then read as a port or `host:port`.
    Text(String),
}

impl<'de> Deserialize<'de> for TcpTarget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TcpVisitor;
        impl Visitor<'_> for TcpVisitor {
            type Value = TcpTarget;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number from 1 to 65535, \"$PORT\" or \"host:port\"")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
                u16::try_from(value)
                    .ok()
                    .filter(|&port| port > 0)
                    .map(TcpTarget::Port)
                    .ok_or_else(|| E::invalid_value(Unexpected::Signed(value), &self))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
                u16::try_from(value)
                    .ok()
                    .filter(|&port| port > 0)
                    .map(TcpTarget::Port)
                    .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(value), &self))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(TcpTarget::Text(value.to_owned()))
            }
        }
        deserializer.deserialize_any(TcpVisitor)
    }
}

impl JsonSchema for TcpTarget {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TcpTarget".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A port (5432), \"$PORT\", or \"host:port\" (host default 127.0.0.1).",
            "anyOf": [
                { "type": "integer", "minimum": 1, "maximum": 65535 },
                { "type": "string", "minLength": 1 }
            ]
        })
    }
}

/// The instance a check is resolved for.
pub(crate) struct Instance<'a> {
    /// `web.2`, for messages.
    pub name: &'a str,
    /// The variables procmux sets for it (`PORT` and `PS` included).
    pub env: &'a BTreeMap<String, String>,
    /// The shell for an `exec` string.
    pub shell: &'a str,
}

/// Resolves `ready` for one instance.
pub(crate) fn resolve(
    cx: &Context<'_>,
    ready: &Spanned<RawReady>,
    instance: &Instance<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<ReadyCheck, ManifestError> {
    let raw = ready.get_ref();
    let lookup = |name: &str| {
        instance
            .env
            .get(name)
            .or_else(|| cx.options.inherited_env.get(name))
            .cloned()
    };
    let mut expand = |value: &Spanned<String>| expand_value(cx, value, &lookup, warnings);
    let kind = match (&raw.tcp, &raw.http, &raw.exec, &raw.log) {
        (Some(tcp), None, None, None) => tcp_check(cx, tcp, instance, &mut expand)?,
        (None, Some(url), None, None) => http_check(cx, url, instance, &mut expand)?,
        (None, None, Some(command), None) => exec_check(cx, command, instance, &mut expand)?,
        (None, None, None, Some(text)) => {
            let expanded = expand(text)?;
            if expanded.is_empty() {
                return Err(invalid("a log check needs text to look for").at(cx.at(text.span())));
            }
            ReadyKind::Log { text: expanded }
        }
        // `toml.rs` reports these at the keys; this is for a raw table built otherwise.
        _ => {
            return Err(
                invalid("a ready table takes exactly one check: tcp, http, exec or log")
                    .at(cx.at(ready.span())),
            );
        }
    };
    let timing = |value: &Option<Spanned<Grace>>, default: Duration, name: &str| match value {
        None => Ok(default),
        Some(value) if value.get_ref().0.is_zero() && name != "initial_delay" => {
            Err(invalid(format!("{name} must be more than 0")).at(cx.at(value.span())))
        }
        Some(value) => Ok(value.get_ref().0),
    };
    Ok(ReadyCheck {
        kind,
        initial_delay: timing(
            &raw.initial_delay,
            ReadyCheck::DEFAULT_INITIAL_DELAY,
            "initial_delay",
        )?,
        interval: timing(&raw.interval, ReadyCheck::DEFAULT_INTERVAL, "interval")?,
        attempt_timeout: timing(
            &raw.attempt_timeout,
            ReadyCheck::DEFAULT_ATTEMPT_TIMEOUT,
            "attempt_timeout",
        )?,
        timeout: timing(&raw.timeout, ReadyCheck::DEFAULT_TIMEOUT, "timeout")?,
    })
}

type Expand<'a> = dyn FnMut(&Spanned<String>) -> Result<String, ManifestError> + 'a;

fn invalid(message: impl Into<String>) -> ManifestError {
    ManifestError::new(ErrorKind::InvalidValue, message)
}

/// `for web.2 it expands to "..."`, when expansion changed the text.
fn expands_note(written: &str, expanded: &str, instance: &Instance<'_>) -> Option<String> {
    (written != expanded).then(|| format!("for {} it expands to {expanded:?}", instance.name))
}

fn tcp_check(
    cx: &Context<'_>,
    tcp: &Spanned<TcpTarget>,
    instance: &Instance<'_>,
    expand: &mut Expand<'_>,
) -> Result<ReadyKind, ManifestError> {
    let text = match tcp.get_ref() {
        TcpTarget::Port(port) => {
            return Ok(ReadyKind::Tcp {
                host: DEFAULT_HOST.into(),
                port: *port,
            });
        }
        TcpTarget::Text(text) => text,
    };
    let expanded = expand(&Spanned::new(tcp.span(), text.clone()))?;
    let (host, port) = match split_host_port(&expanded) {
        Ok((host, Some(port))) => (host.unwrap_or(DEFAULT_HOST), port),
        Ok((Some(host), None)) if host.bytes().all(|b| b.is_ascii_digit()) => (DEFAULT_HOST, host),
        Ok(_) | Err(_) => {
            let mut error = invalid(format!(
                "invalid tcp check {text:?}: expected a port such as 5432, \"$PORT\" or \"host:port\""
            ))
            .at(cx.at(tcp.span()));
            if let Some(note) = expands_note(text, &expanded, instance) {
                error = error.note(note);
            }
            return Err(error);
        }
    };
    let port = parse_port(port).map_err(|message| {
        let mut error = invalid(format!("{message} in tcp check {text:?}")).at(cx.at(tcp.span()));
        if let Some(note) = expands_note(text, &expanded, instance) {
            error = error.note(note);
        }
        error
    })?;
    Ok(ReadyKind::Tcp {
        host: host.to_owned(),
        port,
    })
}

fn http_check(
    cx: &Context<'_>,
    url: &Spanned<String>,
    instance: &Instance<'_>,
    expand: &mut Expand<'_>,
) -> Result<ReadyKind, ManifestError> {
    let written = url.get_ref();
    let expanded = expand(url)?;
    let fail = |message: String| {
        let mut error = invalid(message).at(cx.at(url.span()));
        if let Some(note) = expands_note(written, &expanded, instance) {
            error = error.note(note);
        }
        error
    };
    if let Some(bad) = expanded
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        return Err(fail(format!(
            "invalid URL {written:?}: it contains {bad:?}"
        )));
    }
    if expanded.starts_with('/') {
        let port = instance.env.get("PORT").and_then(|p| parse_port(p).ok());
        let Some(port) = port else {
            return Err(fail(format!(
                "http check {written:?} is a path, and {} has no PORT to go with it",
                instance.name
            ))
            .help("write the whole URL, e.g. http = \"http://127.0.0.1:3000/up\""));
        };
        return Ok(ReadyKind::Http {
            host: DEFAULT_HOST.into(),
            port,
            path: request_path(&expanded),
        });
    }
    match parse_http_url(&expanded) {
        Ok((host, port, path)) => Ok(ReadyKind::Http { host, port, path }),
        Err(UrlProblem::Https) => Err(fail(format!(
            "https is not supported in http checks: {written:?}"
        ))
        .help("use http:// (procmux sends one plain HTTP GET; it has no TLS client)")),
        Err(UrlProblem::NotHttp) => Err(fail(format!(
            "invalid URL {written:?}: expected http://host[:port]/path, or a path such as \"/up\""
        ))),
        Err(UrlProblem::UserInfo) => Err(fail(format!(
            "invalid URL {written:?}: user names are not supported in http checks"
        ))),
        Err(UrlProblem::NoHost) => Err(fail(format!("invalid URL {written:?}: no valid host"))),
        Err(UrlProblem::Port(message)) => Err(fail(format!("{message} in URL {written:?}"))),
    }
}

fn exec_check(
    cx: &Context<'_>,
    command: &Spanned<CommandLine>,
    instance: &Instance<'_>,
    expand: &mut Expand<'_>,
) -> Result<ReadyKind, ManifestError> {
    let empty = || invalid("empty command in exec check").at(cx.at(command.span()));
    let command = match command.get_ref() {
        CommandLine::Shell(line) if line.trim().is_empty() => return Err(empty()),
        CommandLine::Shell(line) => ProcessCommand::Shell {
            shell: instance.shell.to_owned(),
            command: line.clone(),
        },
        CommandLine::Exec(argv) => {
            let mut expanded = Vec::with_capacity(argv.len());
            for item in argv {
                expanded.push(expand(&Spanned::new(command.span(), item.clone()))?);
            }
            match expanded.split_first() {
                Some((program, args)) if !program.trim().is_empty() => ProcessCommand::Exec {
                    program: program.clone(),
                    args: args.to_vec(),
                },
                _ => return Err(empty()),
            }
        }
    };
    Ok(ReadyKind::Exec { command })
}
