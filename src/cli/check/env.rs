//! `procmux check --env`: each instance's environment, only the variables procmux sets
//! ([`InstanceSpec::env`](crate::manifest::InstanceSpec::env)), as a valid `.env` file.

use crate::manifest::Manifest;

/// `procmux check --env`: under a `# web.1` line per instance, each variable procmux sets as
/// `KEY=value`, quoted the way procmux's own `.env` parser reads back (so the output is a
/// valid env file).
pub fn env_report(manifest: &Manifest) -> String {
    let mut out = String::new();
    for (n, instance) in manifest.instances().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        out.push_str(&format!("# {}\n", instance.display_name));
        for (key, value) in &instance.env {
            out.push_str(&format!("{key}={}\n", dotenv_quote(value)));
        }
    }
    out
}

/// `value` as a `.env` value: bare when that reads back the same, else in single quotes
/// (literal), else in double quotes with `\n \t \r \" \\ \$` escaped.
fn dotenv_quote(value: &str) -> String {
    let plain = |c: char| !(c.is_whitespace() || c.is_control() || "#'\"$\\".contains(c));
    if value.chars().all(plain) {
        return value.to_owned();
    }
    if !value.contains('\'') && !value.chars().any(char::is_control) {
        return format!("'{value}'");
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_quoted_only_when_needed() {
        let cases = [
            ("plain-value_1.2:/x", "plain-value_1.2:/x"),
            ("", ""),
            ("two words", "'two words'"),
            ("a#b", "'a#b'"),
            ("$HOME", "'$HOME'"),
            (r"C:\dir", r"'C:\dir'"),
            ("it's", "\"it's\""),
            ("line\nnext\t$x \"q\" \\", r#""line\nnext\t\$x \"q\" \\""#),
        ];
        for (value, quoted) in cases {
            assert_eq!(dotenv_quote(value), quoted, "{value:?}");
        }
    }
}
