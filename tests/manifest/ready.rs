//! `ready`: every check and timing resolved per instance, and every error at its line and
//! column.

use std::time::Duration;

use procmux::manifest::{ErrorKind, Note, ProcessCommand, ReadyCheck, ReadyKind};

use crate::support::{Project, position};

/// The check of `web.index` for a `[processes.web]` table holding `lines`.
fn check(lines: &str, index: u32) -> Option<ReadyCheck> {
    Project::toml(&format!(
        "[processes.web]\ncommand = \"x\"\ninstances = 2\n{lines}\n"
    ))
    .with(|o| {
        o.inherited_env.insert("DB_HOST".into(), "db.local".into());
    })
    .instance("web", index)
    .ready
}

fn kind(lines: &str, index: u32) -> ReadyKind {
    check(lines, index).expect("a check").kind
}

fn tcp(host: &str, port: u16) -> ReadyKind {
    ReadyKind::Tcp {
        host: host.into(),
        port,
    }
}

fn http(host: &str, port: u16, path: &str) -> ReadyKind {
    ReadyKind::Http {
        host: host.into(),
        port,
        path: path.into(),
    }
}

#[test]
fn tcp_checks() {
    let cases = [
        ("ready = { tcp = 5432 }", 1, tcp("127.0.0.1", 5432)),
        ("ready = { tcp = \"5432\" }", 1, tcp("127.0.0.1", 5432)),
        ("ready = { tcp = \"$PORT\" }", 1, tcp("127.0.0.1", 5000)),
        ("ready = { tcp = \"$PORT\" }", 2, tcp("127.0.0.1", 5001)),
        (
            "ready = { tcp = \"localhost:6379\" }",
            1,
            tcp("localhost", 6379),
        ),
        (
            "ready = { tcp = \"${DB_HOST}:$PORT\" }",
            2,
            tcp("db.local", 5001),
        ),
        ("ready = { tcp = \"[::1]:80\" }", 1, tcp("::1", 80)),
        ("ready = { tcp = \":81\" }", 1, tcp("127.0.0.1", 81)),
        ("ready.tcp = 1", 1, tcp("127.0.0.1", 1)),
    ];
    for (lines, index, expected) in cases {
        assert_eq!(kind(lines, index), expected, "{lines}");
    }
}

#[test]
fn http_checks() {
    let cases = [
        (
            "ready = { http = \"/up\" }",
            1,
            http("127.0.0.1", 5000, "/up"),
        ),
        (
            "ready = { http = \"/up\" }",
            2,
            http("127.0.0.1", 5001, "/up"),
        ),
        (
            "ready = { http = \"http://127.0.0.1:$PORT/health?full=1\" }",
            2,
            http("127.0.0.1", 5001, "/health?full=1"),
        ),
        (
            "ready = { http = \"http://example.test\" }",
            1,
            http("example.test", 80, "/"),
        ),
        (
            "ready = { http = \"HTTP://a:8080?x\" }",
            1,
            http("a", 8080, "/?x"),
        ),
        (
            "ready = { http = \"http://[::1]:3000/up#top\" }",
            1,
            http("::1", 3000, "/up"),
        ),
    ];
    for (lines, index, expected) in cases {
        assert_eq!(kind(lines, index), expected, "{lines}");
    }
}

#[test]
fn exec_and_log_checks() {
    assert_eq!(
        kind("ready = { exec = \"pg_isready -p $PORT\" }", 2),
        ReadyKind::Exec {
            command: ProcessCommand::Shell {
                shell: "sh".into(),
                command: "pg_isready -p $PORT".into()
            }
        }
    );
    assert_eq!(
        kind("ready = { exec = [\"pg_isready\", \"-p\", \"$PORT\"] }", 2),
        ReadyKind::Exec {
            command: ProcessCommand::Exec {
                program: "pg_isready".into(),
                args: vec!["-p".into(), "5001".into()]
            }
        }
    );
    assert_eq!(
        kind("ready = { log = \"Listening on $PORT\" }", 2),
        ReadyKind::Log {
            text: "Listening on 5001".into()
        }
    );
}

#[test]
fn timings_and_their_defaults() {
    assert_eq!(
        check("ready = { tcp = 1 }", 1),
        Some(ReadyCheck {
            kind: tcp("127.0.0.1", 1),
            initial_delay: Duration::ZERO,
            interval: Duration::from_millis(250),
            attempt_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(60),
        })
    );
    assert_eq!(
        check(
            "[processes.web.ready]\nlog = \"up\"\ninitial_delay = \"1s\"\ninterval = 0.5\nattempt_timeout = \"2s\"\ntimeout = \"2m\"",
            1
        ),
        Some(ReadyCheck {
            kind: ReadyKind::Log { text: "up".into() },
            initial_delay: Duration::from_secs(1),
            interval: Duration::from_millis(500),
            attempt_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(120),
        })
    );
    assert_eq!(check("", 1), None);
}

const WEB: &str = "[processes.web]\ncommand = \"x\"\n";

/// (line 3 of a manifest after WEB, kind, column, message)
const CASES: &[(&str, ErrorKind, usize, &str)] = &[
    (
        "ready = { tpc = 5432 }",
        ErrorKind::UnknownKey,
        11,
        "unknown key \"tpc\"",
    ),
    (
        "ready = { tcp = 5432, http = \"/up\" }",
        ErrorKind::InvalidValue,
        23,
        "two checks in one ready table: \"tcp\" and \"http\"",
    ),
    (
        "ready = { timeout = \"5s\" }",
        ErrorKind::InvalidValue,
        1,
        "ready has no check",
    ),
    (
        "ready = { tcp = 70000 }",
        ErrorKind::InvalidValue,
        17,
        "invalid value: integer `70000`, expected a port number from 1 to 65535, \"$PORT\" or \"host:port\"",
    ),
    (
        "ready = { tcp = \"db:70000\" }",
        ErrorKind::InvalidValue,
        17,
        "port 70000 is out of range (1 to 65535) in tcp check \"db:70000\"",
    ),
    (
        "ready = { tcp = \"localhost\" }",
        ErrorKind::InvalidValue,
        17,
        "invalid tcp check \"localhost\": expected a port such as 5432, \"$PORT\" or \"host:port\"",
    ),
    (
        "ready = { tcp = \"$NOPE\" }",
        ErrorKind::InvalidValue,
        17,
        "invalid tcp check \"$NOPE\": expected a port such as 5432, \"$PORT\" or \"host:port\"",
    ),
    (
        "ready = { http = \"https://127.0.0.1/up\" }",
        ErrorKind::InvalidValue,
        18,
        "https is not supported in http checks: \"https://127.0.0.1/up\"",
    ),
    (
        "ready = { http = \"localhost:3000/up\" }",
        ErrorKind::InvalidValue,
        18,
        "invalid URL \"localhost:3000/up\": expected http://host[:port]/path, or a path such as \"/up\"",
    ),
    (
        "ready = { http = \"http://:80/\" }",
        ErrorKind::InvalidValue,
        18,
        "invalid URL \"http://:80/\": no valid host",
    ),
    (
        "ready = { http = \"http://a:0/\" }",
        ErrorKind::InvalidValue,
        18,
        "port 0 is out of range (1 to 65535) in URL \"http://a:0/\"",
    ),
    (
        "ready = { http = \"http://u@a/\" }",
        ErrorKind::InvalidValue,
        18,
        "invalid URL \"http://u@a/\": user names are not supported in http checks",
    ),
    (
        "ready = { http = \"/a b\" }",
        ErrorKind::InvalidValue,
        18,
        "invalid URL \"/a b\": it contains ' '",
    ),
    (
        "ready = { exec = \" \" }",
        ErrorKind::InvalidValue,
        18,
        "empty command in exec check",
    ),
    (
        "ready = { exec = [] }",
        ErrorKind::InvalidValue,
        18,
        "empty command in exec check",
    ),
    (
        "ready = { log = \"\" }",
        ErrorKind::InvalidValue,
        17,
        "a log check needs text to look for",
    ),
    (
        "ready = { log = \"x\", interval = 0 }",
        ErrorKind::InvalidValue,
        33,
        "interval must be more than 0",
    ),
    (
        "ready = { log = \"x\", timeout = \"25h\" }",
        ErrorKind::InvalidValue,
        32,
        "duration \"25h\" is longer than 24h, the longest procmux accepts",
    ),
    (
        "ready = \"/up\"",
        ErrorKind::InvalidValue,
        9,
        "invalid type: string \"/up\", expected a table such as { tcp = 5432 }",
    ),
];

#[test]
fn errors_have_kind_position_and_message() {
    let mut failures = Vec::new();
    for &(line, kind, column, message) in CASES {
        let error = Project::toml(&format!("{WEB}{line}\n")).error();
        let got = (error.kind, position(&error), error.message.as_str());
        if got != (kind, (3, column), message) {
            failures.push(format!(
                "{line:?}\n  expected {:?}\n  got      {got:?}",
                (kind, (3, column), message)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn error_notes() {
    let error = Project::toml(&format!("{WEB}ready = {{ tpc = 5432 }}\n")).error();
    assert_eq!(error.notes[0], Note::Help("did you mean \"tcp\"?".into()));
    let error = Project::toml(&format!("{WEB}ready = {{ tcp = \"$NOPE\" }}\n")).error();
    assert_eq!(
        error.notes,
        [Note::Note("for web it expands to \"\"".into())]
    );
    let error = Project::toml(&format!("{WEB}ready = {{ http = \"https://a/\" }}\n")).error();
    assert_eq!(
        error.notes,
        [Note::Help(
            "use http:// (procmux sends one plain HTTP GET; it has no TLS client)".into()
        )]
    );
}

#[test]
fn a_path_needs_a_port() {
    let error = Project::toml(&format!(
        "{WEB}env = {{ PORT = \"\" }}\nready = {{ http = \"/up\" }}\n"
    ))
    .error();
    assert_eq!(
        (position(&error), error.message.as_str()),
        (
            (4, 18),
            "http check \"/up\" is a path, and web has no PORT to go with it"
        )
    );
}

#[test]
fn undefined_variables_in_checks_are_warnings_once() {
    let loaded = Project::toml(&format!(
        "{WEB}instances = 3\nready = {{ log = \"up ${{NOPE}}\" }}\n"
    ))
    .load();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        ["undefined variable NOPE: it expands to nothing at procmux.toml:4:21"]
    );
}
