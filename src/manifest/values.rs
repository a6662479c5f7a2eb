//! Scalar values of the manifest with hand-written deserializers, so that a wrong value gets a
//! message in the user's words ("a whole number", "a port number", "did you mean") at its own
//! line and column: counts, ports, signals, durations (at most 24 h), restart policies, colours
//! and `depends_on` conditions.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, Unexpected, Visitor};

use super::bounds::MAX_DURATION;
use super::error::{nearest, quoted_list};
use super::{Condition, ProcessColor, RestartPolicy};
use crate::supervisor::Signal;

/// Deserializes a whole number in `min..=max`, described as `expected` in errors.
fn whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
    min: u64,
    max: u64,
    expected: &'static str,
) -> Result<u64, D::Error> {
    struct WholeVisitor {
        min: u64,
        max: u64,
        expected: &'static str,
    }
    impl Visitor<'_> for WholeVisitor {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expected)
        }
        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
            match u64::try_from(value) {
                Ok(value) => self.visit_u64(value),
                Err(_) => Err(E::invalid_value(Unexpected::Signed(value), &self)),
            }
        }
        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
            if (self.min..=self.max).contains(&value) {
                Ok(value)
            } else {
                Err(E::invalid_value(Unexpected::Unsigned(value), &self))
            }
        }
    }
    deserializer.deserialize_any(WholeVisitor { min, max, expected })
}

/// A count (`instances`, `max_restarts`): a whole number from 0 to 4294967295.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Count(pub u32);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let expected = "a whole number from 0 to 4294967295";
        let value = whole_number(deserializer, 0, u32::MAX.into(), expected)?;
        Ok(Count(
            u32::try_from(value).map_err(|_| de::Error::custom(expected))?,
        ))
    }
}

impl JsonSchema for Count {
    fn schema_name() -> Cow<'static, str> {
        "Count".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": 0, "maximum": u32::MAX })
    }
}

/// A TCP port: a whole number from 1 to 65535.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PortNumber(pub u16);

impl<'de> Deserialize<'de> for PortNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let expected = "a port number from 1 to 65535";
        let value = whole_number(deserializer, 1, u16::MAX.into(), expected)?;
        Ok(PortNumber(
            u16::try_from(value).map_err(|_| de::Error::custom(expected))?,
        ))
    }
}

impl JsonSchema for PortNumber {
    fn schema_name() -> Cow<'static, str> {
        "Port".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": 1, "maximum": 65535 })
    }
}

/// Deserializes one of `variants` by name, with "did you mean" for a near miss.
fn named<'de, D: Deserializer<'de>, T: Copy + 'static>(
    deserializer: D,
    what: &'static str,
    all: &'static [T],
    name: fn(T) -> &'static str,
) -> Result<T, D::Error> {
    struct NameVisitor<T> {
        what: &'static str,
        variants: Vec<(&'static str, T)>,
    }
    impl<T: Copy> Visitor<'_> for NameVisitor<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a {} name", self.what)
        }
        fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
            if let Some(&(_, variant)) = self.variants.iter().find(|(name, _)| *name == value) {
                return Ok(variant);
            }
            let names: Vec<&str> = self.variants.iter().map(|&(name, _)| name).collect();
            let mut message = format!(
                "unknown {} {value:?}, expected {}",
                self.what,
                quoted_list(&names).replacen(" and ", " or ", 1)
            );
            let normalized = value.trim().to_ascii_lowercase().replace(['_', ' '], "-");
            let close = names
                .iter()
                .find(|name| name.replace('_', "-") == normalized)
                .copied()
                .or_else(|| nearest(value, names.iter().copied()));
            if let Some(suggestion) = close {
                message.push_str(&format!("; did you mean {suggestion:?}?"));
            }
            Err(E::custom(message))
        }
    }
    let variants = all
        .iter()
        .map(|&variant| (name(variant), variant))
        .collect();
    deserializer.deserialize_str(NameVisitor { what, variants })
}

impl<'de> Deserialize<'de> for RestartPolicy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        named(deserializer, "restart policy", &Self::ALL, |p| p.as_str())
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        named(deserializer, "condition", &Self::ALL, |c| c.as_str())
    }
}

impl<'de> Deserialize<'de> for ProcessColor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        named(deserializer, "colour", &Self::ALL, |c| c.as_str())
    }
}

/// A stop signal written as a name (`TERM`, `SIGTERM`, `term`) or a number (`15`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StopSignal(pub Signal);

impl<'de> Deserialize<'de> for StopSignal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SignalVisitor;
        impl Visitor<'_> for SignalVisitor {
            type Value = StopSignal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a signal name such as \"TERM\" or a signal number")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                value.parse().map(StopSignal).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
                self.visit_str(&value.to_string())
            }
        }
        deserializer.deserialize_any(SignalVisitor)
    }
}

impl JsonSchema for StopSignal {
    fn schema_name() -> Cow<'static, str> {
        "Signal".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A signal name (TERM, SIGTERM, term, INT, HUP, QUIT, KILL, USR1, ...) or number (15).",
            "anyOf": [
                { "type": "string", "pattern": "^\\s*([Ss][Ii][Gg])?[A-Za-z0-9]+\\s*$" },
                { "type": "integer", "minimum": 1 }
            ]
        })
    }
}

/// A grace period: a humantime string ("500ms", "5s", "1m 30s") or a number of seconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grace(pub Duration);

impl<'de> Deserialize<'de> for Grace {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(GraceVisitor)
    }
}

struct GraceVisitor;

impl Visitor<'_> for GraceVisitor {
    type Value = Grace;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"500ms\", \"5s\", \"1m\" or a number of seconds")
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        parse_duration(value).map(Grace).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        let secs =
            u64::try_from(value).map_err(|_| E::custom(format!("negative duration {value}")))?;
        bounded(Duration::from_secs(secs), &value.to_string())
            .map(Grace)
            .map_err(E::custom)
    }
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        if value < 0.0 {
            return Err(E::custom(format!("negative duration {value}")));
        }
        let duration = Duration::try_from_secs_f64(value)
            .map_err(|_| E::custom(format!("invalid duration {value}")))?;
        bounded(duration, &value.to_string())
            .map(Grace)
            .map_err(E::custom)
    }
}

/// Parses a duration as the manifest and `-t` write it: "500ms", "5s", "1m 30s" (humantime) or
/// a plain number of seconds ("5", "0.5"). Negative, infinite and NaN values are errors, and
/// so is anything longer than [`MAX_DURATION`] (24 h): no timer procmux keeps needs more, and
/// the bound keeps every `Instant + duration` far from overflowing.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let duration = if let Ok(secs) = trimmed.parse::<f64>() {
        if secs.is_sign_negative() {
            return Err(format!("negative duration {text:?}"));
        }
        Duration::try_from_secs_f64(secs).map_err(|_| format!("invalid duration {text:?}"))?
    } else {
        humantime::parse_duration(trimmed).map_err(|_| {
            format!("invalid duration {text:?} (expected e.g. \"500ms\", \"5s\", \"1m\" or a number of seconds)")
        })?
    };
    bounded(duration, &format!("{text:?}"))
}

/// `duration` when it is at most [`MAX_DURATION`]; `shown` is how the user wrote it.
fn bounded(duration: Duration, shown: &str) -> Result<Duration, String> {
    if duration > MAX_DURATION {
        return Err(format!(
            "duration {shown} is longer than 24h, the longest procmux accepts"
        ));
    }
    Ok(duration)
}

impl JsonSchema for Grace {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: \"500ms\", \"5s\", \"1m\", \"1m 30s\", or a number of seconds; at most 24h.",
            "anyOf": [
                { "type": "string" },
                { "type": "number", "minimum": 0, "maximum": 86400 }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2500)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("1e400").is_err());
        assert!(parse_duration("NaN").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(parse_duration("24h"), Ok(MAX_DURATION));
        assert_eq!(parse_duration("86400"), Ok(MAX_DURATION));
        assert_eq!(
            parse_duration("25h"),
            Err("duration \"25h\" is longer than 24h, the longest procmux accepts".into())
        );
        assert!(parse_duration("86400.001").is_err());
        assert!(parse_duration("1000000000000d").is_err());
    }
}
