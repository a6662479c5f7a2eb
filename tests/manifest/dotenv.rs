//! dotenv rules through `load`: each rule of manifest.md, and errors with line numbers.

use procmux::manifest::ErrorKind;

use crate::support::{Project, position};

fn value(dotenv: &str, key: &str) -> String {
    Project::procfile("web: x\n")
        .file(".env", dotenv)
        .instance("web", 1)
        .env
        .get(key)
        .cloned()
        .unwrap_or_else(|| panic!("{key} not set by {dotenv:?}"))
}

#[test]
fn rules_one_by_one() {
    let cases = [
        ("A=plain", "plain"),
        ("export A=exported", "exported"),
        ("A = spaced  ", "spaced"),
        ("A=x # comment", "x"),
        ("A=x#not-a-comment", "x#not-a-comment"),
        ("A='single $HOME \\n'", "single $HOME \\n"),
        (
            "A=\"double \\\"q\\\" \\\\ \\t|\\n|\"",
            "double \"q\" \\ \t|\n|",
        ),
        ("A=\"multi\nline\"", "multi\nline"),
        ("A='multi\nline'", "multi\nline"),
        ("A=${HOME}/x", "/home/test/x"),
        ("A=$HOME/x", "/home/test/x"),
        ("A=\"$HOME\"", "/home/test"),
        ("B=b\nA=${B}${B}", "bb"),
        ("A=\\$HOME", "$HOME"),
        ("A=$UNSET", ""),
        ("A=", ""),
        ("A=1\nA=2", "2"),
        ("# c\n\nA=1\r\n", "1"),
    ];
    for (dotenv, expected) in cases {
        assert_eq!(value(dotenv, "A"), expected, "{dotenv:?}");
    }
}

#[test]
fn errors_have_line_and_column() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        (
            "A=1\njunk\n",
            (2, 5),
            "expected \"=\" after the key \"junk\"",
        ),
        (
            "A=1\n\n=x\n",
            (3, 1),
            "expected KEY=value (a key is letters, digits, _ and ., not starting with a digit)",
        ),
        (
            "A=\"open\nB=2\n",
            (1, 3),
            "unterminated double-quoted value: no closing \" before the end of the file",
        ),
        (
            "A='x' y\n",
            (1, 7),
            "unexpected characters after the value (quote it, or start a comment with \" #\")",
        ),
        (
            "A=ok\nB=${C\n",
            (2, 3),
            "unterminated \"${\": expected a closing \"}\"",
        ),
    ];
    for &(dotenv, at, message) in cases {
        let error = Project::procfile("web: x\n").file(".env", dotenv).error();
        assert_eq!(error.kind, ErrorKind::Syntax);
        assert_eq!(
            (position(&error), error.message.as_str()),
            (at, message),
            "{dotenv:?}"
        );
    }
}
