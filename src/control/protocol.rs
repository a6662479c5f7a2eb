//! The wire protocol of the control socket: every request and reply, and how they become
//! lines of JSON.
//!
//! # Framing
//!
//! One message per line: a JSON object, UTF-8, ended by `\n` (JSON escapes every newline
//! inside a string, so a message is always exactly one line). Every message carries the
//! protocol version, `"v": 1`, and its kind, `"type"`. Fields a reader does not know are
//! ignored, so a later version can add fields without breaking version 1 readers; a change
//! that old readers would misread gets a new version number.
//!
//! A request line may be at most [`MAX_REQUEST`] bytes (64 KiB) including its newline. A client
//! may send several requests on one connection, one after the other, each after the reply to
//! the one before. A request that is too long, is not JSON, lacks `v` or `type`, or has
//! another version gets one `error` reply and the connection is closed.
//!
//! # Requests (client to server)
//!
//! ```text
//! {"v":1,"type":"hello"}
//! {"v":1,"type":"status"}
//! {"v":1,"type":"restart","names":["web","worker.2"]}
//! {"v":1,"type":"stop","names":["worker"]}
//! {"v":1,"type":"stop","names":[]}
//! {"v":1,"type":"logs","names":["web"],"lines":100,"follow":true}
//! ```
//!
//! - `hello`: who is serving: answered by the server itself with a `hello` reply.
//! - `status`: one `status` reply.
//! - `restart`: `names` (at least one) are processes (`web`: all its instances) or instances
//!   (`web.2`). One `done` or `error` reply, sent once the restart has happened.
//! - `stop`: the same names; an empty or missing `names` stops the whole stack (the server's
//!   process then exits as on SIGTERM). One `done` or `error` reply: for the whole stack it is
//!   sent once the stop has begun, and the connection stays open until the server goes away.
//! - `logs`: the last `lines` lines (default 100) of each named instance (`names` empty or
//!   missing: every instance), as one `logs` reply; with `follow` (default false) the live
//!   lines follow as `line` and `skipped` messages until the client closes the connection.
//!
//! # Replies (server to client)
//!
//! ```text
//! {"v":1,"type":"hello","pid":1234,"manifest":"/home/me/app/procmux.toml"}
//! {"v":1,"type":"status","instances":[{"name":"web.1","state":"running","pid":4242,"uptime_ms":61000,"restarts":0,"last_exit":null,"port":5000}]}
//! {"v":1,"type":"done","message":"restarted web.1 (pid 4243)"}
//! {"v":1,"type":"error","kind":"unknown_name","message":"no process or instance named \"wbe\"; did you mean \"web\"?"}
//! {"v":1,"type":"logs","lines":[{"name":"web.1","stream":"stdout","at_ms":1700000000123,"text":"Listening on :5000"}],"colors":{"web.1":"red"}}
//! {"v":1,"type":"line","name":"web.1","stream":"stderr","at_ms":1700000000456,"hex":"6f6bff"}
//! {"v":1,"type":"skipped","count":1234}
//! ```
//!
//! - `status.instances`: see [`InstanceStatus`] for each field; `state` is one of `waiting`,
//!   `starting`, `running`, `ready`, `stopping`, `backoff`, `exited`, `stopped`, `idle`;
//!   `last_exit` is `null`, `{"code":3}` or `{"signal":"SIGKILL"}`; `pid`, `uptime_ms` and
//!   `port` may be `null`.
//! - `done.message`: the one-line result, in the user's words.
//! - `error.kind`: one of [`ErrorKind`]'s names (`unknown_name`, `bad_request`, `too_large`,
//!   `unsupported_version`, `permission_denied`, `busy`, `unavailable`, `failed`); a kind
//!   this version does not know reads as `other`. `message` is for the user (for
//!   `unknown_name` it carries the did-you-mean).
//! - `logs.lines`: oldest first; each line as in [`LogLine`]: the instance's display `name`,
//!   the `stream` (`stdout`, `stderr` or `system`), `at_ms` (when it was read, unix time in
//!   milliseconds), and its bytes without the newline: `"text"` when they are valid UTF-8,
//!   else `"hex"` (two lowercase hex digits per byte), so any byte string round-trips.
//!   `logs.colors` (optional) maps display names to the colour the manifest gives them
//!   (`red` ... `bright_white`); names it does not list take their colour from a hash of the
//!   name, as in `procmux run`.
//! - `line`: one live line, with the fields of a log line; `skipped`: `count` live lines were
//!   dropped here because the client read too slowly (the stack never waits for a client).
//!
//! Nothing on the socket runs a command: the requests above are all there is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::DecodeError;
use super::log_line::LogLine;
use super::status::InstanceStatus;

/// The protocol version this build speaks, sent as `"v"` in every message.
pub const VERSION: u64 = 1;

/// The longest request line the server reads, newline included: 64 KiB.
pub const MAX_REQUEST: usize = 64 * 1024;

/// The number of lines `logs` returns when the request names none.
pub const DEFAULT_LOG_LINES: u32 = 100;

/// A message from a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Who is serving (answered by the server, never sent to the coordinator).
    Hello,
    /// What runs.
    Status,
    /// Restart these processes or instances (at least one).
    Restart {
        /// Process names (`web`) or instance names (`web.2`).
        names: Vec<String>,
    },
    /// Stop these processes or instances; none: the whole stack.
    Stop {
        /// Process or instance names; empty stops the whole stack.
        #[serde(default)]
        names: Vec<String>,
    },
    /// Recent output, and optionally the live output after it.
    Logs(LogsRequest),
}

/// The `logs` request's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogsRequest {
    /// Process or instance names; empty: every instance.
    #[serde(default)]
    pub names: Vec<String>,
    /// How many recent lines per instance at most.
    #[serde(default = "default_log_lines")]
    pub lines: u32,
    /// Whether live lines follow the recent ones.
    #[serde(default)]
    pub follow: bool,
}

fn default_log_lines() -> u32 {
    DEFAULT_LOG_LINES
}

/// What the coordinator is asked to do: a [`Request`] other than `hello`, which the server
/// answers itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// Report every instance ([`Reply::Status`]).
    Status,
    /// Restart these (never empty); reply [`Reply::Done`] once the new processes run.
    Restart(Vec<String>),
    /// Stop these; empty: the whole stack. Reply [`Reply::Done`] once stopped, or for the
    /// whole stack once the stop has begun.
    Stop(Vec<String>),
    /// Reply [`Reply::Logs`], with a follower when `follow` is set.
    Logs(LogsRequest),
}

impl Request {
    /// The verb for the coordinator; `None` for `hello`.
    pub fn into_verb(self) -> Option<Verb> {
        match self {
            Request::Hello => None,
            Request::Status => Some(Verb::Status),
            Request::Restart { names } => Some(Verb::Restart(names)),
            Request::Stop { names } => Some(Verb::Stop(names)),
            Request::Logs(logs) => Some(Verb::Logs(logs)),
        }
    }
}

/// A message from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// The answer to `hello`.
    Hello {
        /// The pid of the `procmux run` that serves.
        pid: u32,
        /// Its manifest, as an absolute path (lossy when the path is not UTF-8: it is shown,
        /// never opened).
        manifest: String,
    },
    /// The answer to `status`.
    Status {
        /// Every instance, in manifest order.
        instances: Vec<InstanceStatus>,
    },
    /// The one-line result of `restart` or `stop`.
    Done {
        /// What happened, in the user's words.
        message: String,
    },
    /// The request failed; nothing was changed.
    Error {
        /// What kind of failure, for the client's exit code.
        kind: ErrorKind,
        /// What went wrong, in the user's words.
        message: String,
    },
    /// The answer to `logs`: recent lines, oldest first.
    Logs {
        /// The lines.
        lines: Vec<LogLine>,
        /// Display names whose colour the manifest sets, with the colour's name (`red`).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        colors: BTreeMap<String, String>,
    },
    /// One live line after a `logs` reply with `follow`.
    Line(LogLine),
    /// `count` live lines were dropped because the client read too slowly.
    Skipped {
        /// How many.
        count: u64,
    },
}

impl Reply {
    /// An `error` reply.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Reply {
        Reply::Error {
            kind,
            message: message.into(),
        }
    }

    /// A `done` reply.
    pub fn done(message: impl Into<String>) -> Reply {
        Reply::Done {
            message: message.into(),
        }
    }
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A name is neither a process nor an instance (the message says which, with a
    /// did-you-mean); nothing was changed.
    UnknownName,
    /// The request is not valid JSON, or not a request this version knows.
    BadRequest,
    /// The request line is over [`MAX_REQUEST`] bytes.
    TooLarge,
    /// The request has another protocol version.
    UnsupportedVersion,
    /// The client runs as another user.
    PermissionDenied,
    /// Too many clients are connected at once; try again.
    Busy,
    /// procmux is shutting down and no longer takes requests.
    Unavailable,
    /// The action was tried and did not work (the message says why).
    Failed,
    /// A kind a later version added.
    #[serde(other)]
    Other,
}

/// The envelope every message is written in: the version beside the message's own fields.
#[derive(Serialize)]
struct Envelope<'a, T> {
    v: u64,
    #[serde(flatten)]
    body: &'a T,
}

/// What is read first from any line: its version, whatever else it holds.
#[derive(Deserialize)]
struct VersionOnly {
    v: Option<serde_json::Value>,
}

/// The line for a message: its JSON with `"v":1` and a final `\n`.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let mut line = Vec::new();
    encode_into(&mut line, message);
    line
}

/// Appends the line for a message to `out` (no buffer per message when writing many).
pub fn encode_into<T: Serialize>(out: &mut Vec<u8>, message: &T) {
    serde_json::to_writer(
        &mut *out,
        &Envelope {
            v: VERSION,
            body: message,
        },
    )
    .expect("messages are plain structs with string keys, written to memory: they serialize");
    out.push(b'\n');
}

/// Reads one request line (with or without its newline).
pub fn decode_request(line: &[u8]) -> Result<Request, DecodeError> {
    decode(line)
}

/// Reads one reply line (with or without its newline).
pub fn decode_reply(line: &[u8]) -> Result<Reply, DecodeError> {
    decode(line)
}

/// The version first (so that a v2 request of a kind v1 never heard of is reported as a
/// version mismatch, not as garbage), then the message.
fn decode<T: serde::de::DeserializeOwned>(line: &[u8]) -> Result<T, DecodeError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let version: VersionOnly =
        serde_json::from_slice(line).map_err(|error| DecodeError::Malformed(error.to_string()))?;
    match version.v {
        None => return Err(DecodeError::MissingVersion),
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(VERSION) => {}
        Some(other) => return Err(DecodeError::UnsupportedVersion(other.to_string())),
    }
    serde_json::from_slice(line).map_err(|error| DecodeError::Malformed(error.to_string()))
}

#[cfg(test)]
mod tests;
