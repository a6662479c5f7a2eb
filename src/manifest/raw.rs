//! The manifest as written: the serde and JSON Schema types of `procmux.toml`, before defaults,
//! env files and formation are applied. A Procfile is turned into the same types.
//!
//! Values that later checks must point at keep their span (`toml::Spanned`). Fields that accept
//! two shapes ("string or array", "string or number") use small hand-written visitors rather
//! than `#[serde(untagged)]`, so that a wrong value is reported at its own line and column.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use super::depends::DependsOn;
use super::ready::RawReady;
use super::values::{Count, Grace, PortNumber, StopSignal};
use super::watch::Globs;
use super::{ProcessColor, RestartPolicy};

/// `procmux.toml`: settings, an environment for every process, and the processes.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "procmux.toml",
    description = "The manifest of procmux, a process manager for local development stacks."
)]
pub(crate) struct RawManifest {
    /// Settings for the whole stack; every key is optional.
    #[serde(default)]
    pub settings: RawSettings,
    /// Environment variables for every process (after the settings' env files).
    #[serde(default)]
    pub env: EnvTable,
    /// The processes, started in file order.
    #[serde(default)]
    pub processes: ProcessTable,
}

/// `[settings]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Settings")]
pub(crate) struct RawSettings {
    /// The shell that runs string commands, as `shell -c "command"` (default `sh`).
    pub shell: Option<String>,
    /// Default stop signal: `TERM`, `SIGTERM`, `term` or `15` (default `TERM`).
    pub stop_signal: Option<StopSignal>,
    /// Default grace before SIGKILL: "500ms", "5s", "1m" or a number of seconds (default 5 s).
    pub stop_timeout: Option<Grace>,
    /// Env files loaded before `[env]`, relative to the root; a missing one is an error.
    /// Without this key, `.env` is loaded when it exists.
    #[schemars(with = "Option<EnvFiles>")]
    pub env_file: Option<Spanned<EnvFiles>>,
    /// Base for `PORT`: process n (0-based, file order) instance i gets base + 100*n + i - 1.
    pub port: Option<PortNumber>,
    /// Whether output lines start with the time.
    pub timestamps: Option<bool>,
    /// Quiet time after a change before `watch` restarts act (default 100ms).
    pub watch_debounce: Option<Grace>,
}

/// `[processes.NAME]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Process")]
pub(crate) struct RawProcess {
    /// A string runs through the shell; an array runs the program directly.
    #[schemars(with = "CommandLine")]
    pub command: Option<Spanned<CommandLine>>,
    /// Working directory, relative to the root (default: the root).
    #[schemars(with = "Option<String>")]
    pub cwd: Option<Spanned<String>>,
    /// Environment variables for this process.
    #[serde(default)]
    pub env: EnvTable,
    /// Env files for this process, relative to the root; a missing one is an error.
    #[schemars(with = "Option<EnvFiles>")]
    pub env_file: Option<Spanned<EnvFiles>>,
    /// Stop signal: `TERM`, `SIGTERM`, `term` or `15`.
    pub stop_signal: Option<StopSignal>,
    /// Grace before SIGKILL: "500ms", "5s", "1m" or a number of seconds.
    pub stop_timeout: Option<Grace>,
    /// How many copies to run (default 1); 0 disables the process.
    pub instances: Option<Count>,
    /// When to restart the process after it ends (default "no").
    pub restart: Option<RestartPolicy>,
    /// Restarts allowed before giving up (absent: no limit).
    pub max_restarts: Option<Count>,
    /// true: its ending (after restarts) does not stop the others.
    pub can_die: Option<bool>,
    /// false: defined but started only on request.
    pub autostart: Option<bool>,
    /// Fixed PORT for this process (instance i gets port + i - 1).
    pub port: Option<PortNumber>,
    /// Colour of the output prefix (default: picked from a stable hash of the name).
    pub color: Option<ProcessColor>,
    /// Processes to wait for before this one starts: a list of names (each must be ready), or
    /// a table of name = "started" | "ready" | "completed".
    #[serde(default)]
    pub depends_on: DependsOn,
    /// When this process counts as ready: exactly one of tcp, http, exec or log, and optional
    /// timings.
    #[schemars(with = "Option<RawReady>")]
    pub ready: Option<Spanned<RawReady>>,
    /// Globs, relative to the process's cwd, whose changes restart the process.
    #[serde(default)]
    pub watch: Globs,
    /// Globs excluded from `watch` (on top of .git/, .gitignore and .ignore).
    #[serde(default)]
    pub watch_ignore: Globs,
    /// A Procfile's `release` entry (Heroku's release phase): not started by default and
    /// given no PORT slot. Never set from TOML.
    #[serde(skip)]
    #[schemars(skip)]
    pub release_phase: bool,
}

/// A command: a string for the shell, or a program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CommandLine {
    /// `command = "bundle exec puma"`
    Shell(String),
    /// `command = ["bin/web", "--port", "3000"]`
    Exec(Vec<String>),
}

impl<'de> Deserialize<'de> for CommandLine {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CommandVisitor;
        impl<'de> Visitor<'de> for CommandVisitor {
            type Value = CommandLine;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a command string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(CommandLine::Shell(value.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(CommandLine::Exec(items))
            }
        }
        deserializer.deserialize_any(CommandVisitor)
    }
}

impl JsonSchema for CommandLine {
    fn schema_name() -> Cow<'static, str> {
        "Command".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A string runs through the shell (`shell -c \"command\"`); an array runs the program directly.",
            "anyOf": [
                { "type": "string", "minLength": 1 },
                { "type": "array", "items": { "type": "string" }, "minItems": 1 }
            ]
        })
    }
}

/// `env_file`: one path or a list of paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnvFiles {
    /// `env_file = ".env"`
    One(String),
    /// `env_file = [".env", ".env.local"]`
    Many(Vec<Spanned<String>>),
}

impl EnvFiles {
    /// Each path with its span; a single string has the span of the whole value.
    pub fn items(spanned: &Spanned<EnvFiles>) -> Vec<Spanned<String>> {
        match spanned.get_ref() {
            EnvFiles::One(path) => vec![Spanned::new(spanned.span(), path.clone())],
            EnvFiles::Many(paths) => paths.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for EnvFiles {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnvFilesVisitor;
        impl<'de> Visitor<'de> for EnvFilesVisitor {
            type Value = EnvFiles;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a path or an array of paths")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(EnvFiles::One(value.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    items.push(item);
                }
                Ok(EnvFiles::Many(items))
            }
        }
        deserializer.deserialize_any(EnvFilesVisitor)
    }
}

impl JsonSchema for EnvFiles {
    fn schema_name() -> Cow<'static, str> {
        "EnvFiles".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A path or an array of paths to dotenv files, relative to the root.",
            "anyOf": [
                { "type": "string" },
                { "type": "array", "items": { "type": "string" } }
            ]
        })
    }
}

/// An `[env]` or `env = {...}` table, in file order. Values may be strings, numbers or
/// booleans (`PORT = 3000` reads as "3000").
#[derive(Debug, Default, Clone)]
pub(crate) struct EnvTable(pub Vec<(Spanned<String>, Spanned<String>)>);

impl<'de> Deserialize<'de> for EnvTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnvVisitor;
        impl<'de> Visitor<'de> for EnvVisitor {
            type Value = EnvTable;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of environment variables")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<Spanned<EnvValue>>()?;
                    let span = value.span();
                    entries.push((key, Spanned::new(span, value.into_inner().0)));
                }
                // Maps may come sorted by key; the file order is the order of the key spans.
                entries.sort_by_key(|(key, _)| key.span().start);
                Ok(EnvTable(entries))
            }
        }
        deserializer.deserialize_map(EnvVisitor)
    }
}

impl JsonSchema for EnvTable {
    fn schema_name() -> Cow<'static, str> {
        "Env".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Environment variables; values may use ${VAR} and $VAR.",
            "type": "object",
            "additionalProperties": { "type": ["string", "integer", "number", "boolean"] }
        })
    }
}

struct EnvValue(String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl Visitor<'_> for ValueVisitor {
            type Value = EnvValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number or a boolean")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(EnvValue(value.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
                Ok(EnvValue(value.to_string()))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
                Ok(EnvValue(value.to_string()))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
                Ok(EnvValue(value.to_string()))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
                Ok(EnvValue(value.to_string()))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// `[processes]`: process names and their tables, in file order.
#[derive(Debug, Default)]
pub(crate) struct ProcessTable(pub Vec<(Spanned<String>, RawProcess)>);

impl<'de> Deserialize<'de> for ProcessTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ProcessesVisitor;
        impl<'de> Visitor<'de> for ProcessesVisitor {
            type Value = ProcessTable;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of processes")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value::<RawProcess>()?));
                }
                entries.sort_by_key(|(key, _)| key.span().start);
                Ok(ProcessTable(entries))
            }
        }
        deserializer.deserialize_map(ProcessesVisitor)
    }
}

impl JsonSchema for ProcessTable {
    fn schema_name() -> Cow<'static, str> {
        "Processes".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let process = generator.subschema_for::<RawProcess>();
        json_schema!({
            "description": "The processes, by name, started in file order.",
            "type": "object",
            "propertyNames": { "pattern": "^[A-Za-z0-9_-]+$" },
            "additionalProperties": process
        })
    }
}
