//! One line of a process's output as the socket carries it, with bytes that round-trip
//! whether or not they are UTF-8.
//!
//! Child output is bytes, and a line may be invalid UTF-8 (a binary dump, a Latin-1 file).
//! JSON strings cannot hold such bytes, so a line is written as `"text"` when its bytes are
//! valid UTF-8 (nearly always: readable and cheap) and as `"hex"` otherwise (two lowercase hex
//! digits per byte: twice the size, but simple, exact, and rare).

use std::sync::Arc;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};

/// Which output of an instance a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// The child's stdout.
    Stdout,
    /// The child's stderr.
    Stderr,
    /// procmux's own message about the instance (started, exited, restarting...).
    System,
}

/// One line: `{"name":"web.1","stream":"stdout","at_ms":1700000000123,"text":"Listening"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The instance's display name (shared: every line of an instance points at one name).
    pub name: Arc<str>,
    /// Where it came from.
    pub stream: Stream,
    /// When it was read, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The line's bytes, without its newline.
    pub bytes: Vec<u8>,
}

impl Serialize for LogLine {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut line = serializer.serialize_struct("LogLine", 4)?;
        line.serialize_field("name", &*self.name)?;
        line.serialize_field("stream", &self.stream)?;
        line.serialize_field("at_ms", &self.at_ms)?;
        match std::str::from_utf8(&self.bytes) {
            Ok(text) => line.serialize_field("text", text)?,
            Err(_) => line.serialize_field("hex", &to_hex(&self.bytes))?,
        }
        line.end()
    }
}

/// The fields as they are read, before the bytes are decoded.
#[derive(Deserialize)]
struct WireLine {
    name: String,
    stream: Stream,
    at_ms: u64,
    text: Option<String>,
    hex: Option<String>,
}

impl<'de> Deserialize<'de> for LogLine {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let wire = WireLine::deserialize(deserializer)?;
        let bytes = match (wire.text, wire.hex) {
            (Some(text), None) => text.into_bytes(),
            (None, Some(hex)) => from_hex(&hex).ok_or_else(|| D::Error::custom("invalid hex"))?,
            _ => return Err(D::Error::custom("a line needs exactly one of text and hex")),
        };
        Ok(LogLine {
            name: wire.name.into(),
            stream: wire.stream,
            at_ms: wire.at_ms,
            bytes,
        })
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let text = text.as_bytes();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(bytes: &[u8]) -> LogLine {
        LogLine {
            name: "web.1".into(),
            stream: Stream::Stderr,
            at_ms: 1_700_000_000_123,
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn utf8_is_text_and_the_rest_is_hex() {
        let json = serde_json::to_string(&line("héllo \u{1b}[31m".as_bytes())).expect("json");
        assert_eq!(
            json,
            r#"{"name":"web.1","stream":"stderr","at_ms":1700000000123,"text":"héllo \u001b[31m"}"#
        );
        let json = serde_json::to_string(&line(b"ok\xff\x00")).expect("json");
        assert!(json.ends_with(r#""hex":"6f6bff00"}"#), "{json}");
    }

    #[test]
    fn every_byte_string_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        for bytes in [&b""[..], b"plain", b"\xc3\x28", &all, b"\xe2\x82"] {
            let json = serde_json::to_string(&line(bytes)).expect("json");
            let back: LogLine = serde_json::from_str(&json).expect("reads back");
            assert_eq!(back, line(bytes), "{json}");
        }
    }

    #[test]
    fn bad_byte_fields_are_refused() {
        let base = r#"{"name":"a","stream":"stdout","at_ms":1"#;
        for tail in [
            r#"}"#,
            r#","text":"a","hex":"61"}"#,
            r#","hex":"6"}"#,
            r#","hex":"zz"}"#,
            r#","hex":"+1"}"#,
        ] {
            let json = format!("{base}{tail}");
            assert!(serde_json::from_str::<LogLine>(&json).is_err(), "{json}");
        }
    }
}
