//! `watch` and `watch_ignore`: the globs whose changes restart a process, validated at load,
//! and [`glob_set`], the one way to compile them, so that what `check` counts and what the
//! watcher matches agree with what the loader accepted.
//!
//! Decisions the design leaves open:
//!
//! - A glob is matched against a file's path relative to the process's `cwd`, with `/`
//!   between folders. `*`, `?` and `[...]` do not cross a `/`; `**` does (`src/**/*.rs`
//!   matches `src/main.rs` and `src/a/b.rs`; `*.rs` only files directly in the cwd). `\`
//!   escapes the next character. These are gitignore's rules.
//! - A single string is one glob. An empty glob is an error (it would match nothing, which
//!   is surely a mistake); a glob that matches no file now is fine (the files may appear).
//! - Globs are not `${VAR}`-expanded: `$` has no meaning in a glob and is matched literally.

use std::borrow::Cow;
use std::fmt;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

use super::error::{ErrorKind, ManifestError};
use super::resolve::Context;

/// `watch` or `watch_ignore` as written: one glob or a list, each with its span.
#[derive(Debug, Default, Clone)]
pub(crate) struct Globs(pub Vec<Spanned<String>>);

/// The shapes a `watch` value may take, before the single string gets its span.
enum Shape {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShapeVisitor;
        impl<'de> Visitor<'de> for ShapeVisitor {
            type Value = Shape;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a glob or an array of globs")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(Shape::One(value.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    items.push(item);
                }
                Ok(Shape::Many(items))
            }
        }
        deserializer.deserialize_any(ShapeVisitor)
    }
}

impl<'de> Deserialize<'de> for Globs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Shape>::deserialize(deserializer)?;
        let span = spanned.span();
        Ok(Globs(match spanned.into_inner() {
            Shape::One(glob) => vec![Spanned::new(span, glob)],
            Shape::Many(globs) => globs,
        }))
    }
}

impl JsonSchema for Globs {
    fn schema_name() -> Cow<'static, str> {
        "Globs".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A glob or an array of globs, relative to the process's cwd: `*` stays within a folder, `**` crosses folders (\"src/**/*.rs\").",
            "anyOf": [
                { "type": "string", "minLength": 1 },
                { "type": "array", "items": { "type": "string", "minLength": 1 } }
            ]
        })
    }
}

/// Checks each glob and returns them as written.
pub(crate) fn resolve(cx: &Context<'_>, globs: &Globs) -> Result<Vec<String>, ManifestError> {
    globs
        .0
        .iter()
        .map(|glob| {
            let text = glob.get_ref();
            if text.is_empty() {
                return Err(ManifestError::new(ErrorKind::InvalidValue, "empty glob")
                    .at(cx.at(glob.span())));
            }
            compile(text).map_err(|error| {
                ManifestError::new(
                    ErrorKind::InvalidValue,
                    format!("invalid glob {text:?}: {}", error.kind()),
                )
                .at(cx.at(glob.span()))
            })?;
            Ok(text.clone())
        })
        .collect()
}

fn compile(glob: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
}

/// Compiles `watch` or `watch_ignore` globs (as in [`InstanceSpec::watch`]) into one set,
/// with the rules the loader validated them by: match it against paths relative to the
/// instance's `cwd`. Globs from a loaded manifest always compile.
///
/// [`InstanceSpec::watch`]: super::InstanceSpec::watch
pub fn glob_set(globs: &[String]) -> Result<GlobSet, globset::Error> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        builder.add(compile(glob)?);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_stays_in_a_folder() {
        let set = glob_set(&["src/**/*.rs".into(), "*.toml".into()]).expect("valid globs");
        assert!(set.is_match("src/main.rs"));
        assert!(set.is_match("src/a/b.rs"));
        assert!(set.is_match("Cargo.toml"));
        assert!(!set.is_match("crates/x/Cargo.toml"));
        assert!(!set.is_match("main.rs"));
        assert!(glob_set(&["src/[a".into()]).is_err());
        assert!(glob_set(&[]).expect("empty set").is_empty());
    }
}
