//! The environment layers procmux builds for each process: env files and `[env]` / `env`
//! tables, `${VAR}` expansion of manifest strings, the bounds on their sizes, and the warnings
//! for variables referenced but defined nowhere.
//!
//! - A variable that no layer below, no earlier key and no inherited variable defines expands
//!   to nothing (like a shell), with one [`Warning`] per reference at its file, line and column
//!   (a reference inside a TOML string with escapes is shown at the string). The help says how
//!   to write a literal `$`: `\$`, and in TOML `"\\$"` or `'\$'` (TOML has no `\$` escape), or
//!   single quotes in a `.env` file.
//! - Each value may be at most [`MAX_ENV_VALUE`] long after expansion, and the variables
//!   procmux sets for an instance at most [`MAX_ENV_TOTAL`] together: the value that crosses
//!   either is an error at its position, found before anything past the bound is allocated.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;

use super::bounds::{self, MAX_ENV_TOTAL, MAX_ENV_VALUE, entry_size};
use super::dotenv;
use super::error::{ErrorKind, Location, ManifestError, Warning};
use super::expand::expand;
use super::load::{display_path, normalize, read_text};
use super::raw::{EnvFiles, EnvTable};
use super::resolve::Context;

/// Variables procmux sets, over the inherited environment used for lookups only.
#[derive(Clone)]
pub(crate) struct Env<'a> {
    /// The environment procmux was started with.
    pub inherited: &'a BTreeMap<String, String>,
    /// What procmux sets so far.
    pub set: BTreeMap<String, String>,
    /// The size of `set` as [`entry_size`] counts it.
    pub size: usize,
}

impl<'a> Env<'a> {
    /// Nothing set yet.
    pub fn new(inherited: &'a BTreeMap<String, String>) -> Self {
        Self {
            inherited,
            set: BTreeMap::new(),
            size: 0,
        }
    }

    /// The value of `name`: what procmux sets, else the inherited one.
    pub fn lookup(&self, name: &str) -> Option<String> {
        self.set
            .get(name)
            .or_else(|| self.inherited.get(name))
            .cloned()
    }

    /// What [`Env::size`] would be with `key` set to a value of `value_len` bytes.
    fn size_with(&self, key: &str, value_len: usize) -> usize {
        let old = self.set.get(key).map_or(0, |old| entry_size(key, old));
        self.size
            .saturating_sub(old)
            .saturating_add(key.len())
            .saturating_add(value_len)
    }

    /// Sets `key`, keeping the size up to date.
    fn insert(&mut self, key: String, value: String) {
        self.size = self.size_with(&key, value.len());
        self.set.insert(key, value);
    }
}

/// An env file to read, and where it was named (a span in the manifest, or `None` for `-e`
/// flags and the default `.env`).
pub(crate) struct EnvFileRef {
    /// The file (absolute, or relative to the process's current directory).
    pub path: PathBuf,
    /// Whether a missing file is an error.
    pub required: bool,
    /// Where the manifest names it.
    pub named_at: Option<Range<usize>>,
}

/// The files of an `env_file` key, relative to the root.
pub(crate) fn manifest_files(cx: &Context<'_>, list: &Spanned<EnvFiles>) -> Vec<EnvFileRef> {
    EnvFiles::items(list)
        .into_iter()
        .map(|item| EnvFileRef {
            path: cx.root.join(item.get_ref()),
            required: true,
            named_at: Some(item.span()),
        })
        .collect()
}

/// Reads one env file into `env`; returns whether it set `PORT`.
pub(crate) fn load_env_file(
    cx: &Context<'_>,
    file: &EnvFileRef,
    env: &mut Env<'_>,
    sources: &mut Vec<PathBuf>,
    warnings: &mut Vec<Warning>,
) -> Result<bool, ManifestError> {
    let path = normalize(&file.path);
    let shown = display_path(cx.cwd, &path);
    if !sources.contains(&path) {
        sources.push(path.clone());
    }
    let Some(text) = read_text(&path, &shown)? else {
        if !file.required {
            return Ok(false);
        }
        let error = ManifestError::new(
            ErrorKind::MissingEnvFile,
            format!("env file not found: {}", shown.display()),
        );
        return Err(match &file.named_at {
            Some(span) => error.at(cx.at(span.clone())),
            None => error.note("named with -e/--env-file"),
        });
    };
    let budget = MAX_ENV_TOTAL.saturating_sub(env.size);
    let parsed = dotenv::parse(&text, &|name| env.lookup(name), budget).map_err(|error| {
        ManifestError::new(ErrorKind::Syntax, error.message)
            .at(Location::from_span(&shown, &text, error.span))
    })?;
    for span in parsed.undefined {
        let name = reference_name(text.get(span.clone()).unwrap_or_default());
        let location = Location::from_span(&shown, &text, span);
        warnings.push(undefined(name, location, Syntax::Dotenv));
    }
    let sets_port = parsed.entries.iter().any(|(key, _)| key == "PORT");
    for (key, value) in parsed.entries {
        env.insert(key, value);
    }
    Ok(sets_port)
}

/// Expands and sets the entries of an `[env]` or `env = {...}` table, in file order.
pub(crate) fn apply_table(
    cx: &Context<'_>,
    table: &EnvTable,
    env: &mut Env<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<(), ManifestError> {
    for (key, value) in &table.0 {
        let name = key.get_ref();
        if name.is_empty() || name.contains('=') {
            return Err(ManifestError::new(
                ErrorKind::InvalidValue,
                format!("invalid environment variable name {name:?}"),
            )
            .at(cx.at(key.span()))
            .help("names must be non-empty and cannot contain \"=\""));
        }
        let expanded = expand_value(cx, value, &|name| env.lookup(name), warnings)?;
        if env.size_with(name, expanded.len()) > MAX_ENV_TOTAL {
            return Err(ManifestError::new(
                ErrorKind::InvalidValue,
                bounds::environment_too_large(),
            )
            .at(cx.at(value.span())));
        }
        env.insert(name.clone(), expanded);
    }
    Ok(())
}

/// Expands `${VAR}` and `$VAR` in a string of the TOML manifest (at most [`MAX_ENV_VALUE`]
/// long after expansion), warning about each variable `lookup` does not know.
pub(crate) fn expand_value(
    cx: &Context<'_>,
    value: &Spanned<String>,
    lookup: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<Warning>,
) -> Result<String, ManifestError> {
    let text = value.get_ref();
    let expanded = expand(text, false, lookup, MAX_ENV_VALUE).map_err(|e| {
        ManifestError::new(ErrorKind::InvalidValue, e.message).at(cx.at(value.span()))
    })?;
    for reference in expanded.undefined {
        let name = reference_name(text.get(reference.clone()).unwrap_or_default());
        let span = inner_span(cx.manifest_text, value.span(), text, reference);
        warnings.push(undefined(name, cx.at(span), Syntax::Toml));
    }
    Ok(expanded.value)
}

/// Where `inner` (a range of the decoded string `value`) is in the file, when the string is
/// written as one quoted line with no escapes; else the whole string's `span`.
fn inner_span(file: &str, span: Range<usize>, value: &str, inner: Range<usize>) -> Range<usize> {
    let written = file.get(span.clone()).unwrap_or_default();
    let unquoted = written
        .strip_prefix(['"', '\''])
        .and_then(|rest| rest.strip_suffix(['"', '\'']));
    if unquoted == Some(value) {
        span.start + 1 + inner.start..span.start + 1 + inner.end
    } else {
        span
    }
}

/// `NAME` of a `$NAME` or `${NAME}` reference as written.
fn reference_name(reference: &str) -> &str {
    let name = reference.trim_start_matches('$');
    name.strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .unwrap_or(name)
}

/// Where a reference was written, for the help line.
#[derive(Clone, Copy)]
enum Syntax {
    Toml,
    Dotenv,
}

fn undefined(name: &str, location: Location, syntax: Syntax) -> Warning {
    let mut warning = Warning::new(format!("undefined variable {name}: it expands to nothing"))
        .at(location)
        .help(match syntax {
            Syntax::Toml => r#"for a literal $, write \$ (in a TOML string: "\\$" or '\$')"#,
            Syntax::Dotenv => r"for a literal $, write \$, or put the value in single quotes",
        });
    if name == "PORT" || name == "PS" {
        warning = warning.note(format!(
            "{name} is set per instance, after env values are expanded: write ${name} in the command, where the shell expands it"
        ));
    }
    warning
}

/// Drops repeated warnings (the same env file read for several processes), keeping the
/// first of each.
pub(crate) fn dedup(warnings: &mut Vec<Warning>) {
    let mut seen: Vec<Warning> = Vec::with_capacity(warnings.len());
    warnings.retain(|warning| {
        if seen.contains(warning) {
            false
        } else {
            seen.push(warning.clone());
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn inner_spans_only_for_plain_strings() {
        let file = r#"A = "Hello ${X}!"
B = "tab\t${X}""#;
        let a = 4..17;
        assert_eq!(&file[inner_span(file, a, "Hello ${X}!", 6..10)], "${X}");
        let b = 22..33;
        assert_eq!(inner_span(file, b.clone(), "tab\t${X}", 4..8), b);
        assert_eq!(reference_name("${X_1}"), "X_1");
        assert_eq!(reference_name("$word"), "word");
        let location = Location::from_span(Path::new("procmux.toml"), file, 10..14);
        let warning = undefined("PORT", location, Syntax::Toml);
        assert_eq!(warning.notes.len(), 2);
    }
}
