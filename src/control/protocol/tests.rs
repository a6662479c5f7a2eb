//! Round trips of every message as the module docs show it, and the version rules.

use super::*;
use crate::control::log_line::Stream;
use crate::control::status::{LastExit, State};

fn line(bytes: &[u8]) -> LogLine {
    LogLine {
        name: "web.1".into(),
        stream: Stream::Stdout,
        at_ms: 1_700_000_000_123,
        bytes: bytes.to_vec(),
    }
}

fn text(message: &impl Serialize) -> String {
    let line = encode(message);
    assert_eq!(line.last(), Some(&b'\n'));
    assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
    String::from_utf8(line).expect("JSON is UTF-8")
}

#[test]
fn every_request_round_trips_as_documented() {
    let cases = [
        (Request::Hello, r#"{"v":1,"type":"hello"}"#),
        (Request::Status, r#"{"v":1,"type":"status"}"#),
        (
            Request::Restart {
                names: vec!["web".into(), "worker.2".into()],
            },
            r#"{"v":1,"type":"restart","names":["web","worker.2"]}"#,
        ),
        (
            Request::Stop {
                names: vec!["worker".into()],
            },
            r#"{"v":1,"type":"stop","names":["worker"]}"#,
        ),
        (
            Request::Stop { names: vec![] },
            r#"{"v":1,"type":"stop","names":[]}"#,
        ),
        (
            Request::Logs(LogsRequest {
                names: vec!["web".into()],
                lines: 100,
                follow: true,
            }),
            r#"{"v":1,"type":"logs","names":["web"],"lines":100,"follow":true}"#,
        ),
    ];
    for (request, json) in cases {
        assert_eq!(text(&request), format!("{json}\n"));
        assert_eq!(decode_request(json.as_bytes()), Ok(request.clone()));
        assert_eq!(decode_request(&encode(&request)), Ok(request));
    }
}

#[test]
fn request_fields_have_defaults() {
    assert_eq!(
        decode_request(br#"{"v":1,"type":"logs"}"#),
        Ok(Request::Logs(LogsRequest {
            names: vec![],
            lines: DEFAULT_LOG_LINES,
            follow: false
        }))
    );
    assert_eq!(
        decode_request(br#"{"type":"stop","v":1}"#),
        Ok(Request::Stop { names: vec![] })
    );
    // Unknown fields are ignored, for later versions' additions.
    assert_eq!(
        decode_request(br#"{"v":1,"type":"status","verbose":true}"#),
        Ok(Request::Status)
    );
}

#[test]
fn every_reply_round_trips_as_documented() {
    let status = InstanceStatus {
        name: "web.1".into(),
        state: State::Running,
        pid: Some(4242),
        uptime_ms: Some(61_000),
        restarts: 0,
        last_exit: None,
        port: Some(5000),
    };
    let exited = InstanceStatus {
        name: "worker".into(),
        state: State::Exited,
        pid: None,
        uptime_ms: None,
        restarts: 2,
        last_exit: Some(LastExit::Signal("SIGKILL".into())),
        port: None,
    };
    let cases = [
        (
            Reply::Hello {
                pid: 1234,
                manifest: "/home/me/app/procmux.toml".into(),
            },
            r#"{"v":1,"type":"hello","pid":1234,"manifest":"/home/me/app/procmux.toml"}"#,
        ),
        (
            Reply::Status {
                instances: vec![status],
            },
            r#"{"v":1,"type":"status","instances":[{"name":"web.1","state":"running","pid":4242,"uptime_ms":61000,"restarts":0,"last_exit":null,"port":5000}]}"#,
        ),
        (
            Reply::Status {
                instances: vec![exited],
            },
            r#"{"v":1,"type":"status","instances":[{"name":"worker","state":"exited","pid":null,"uptime_ms":null,"restarts":2,"last_exit":{"signal":"SIGKILL"},"port":null}]}"#,
        ),
        (
            Reply::done("restarted web.1 (pid 4243)"),
            r#"{"v":1,"type":"done","message":"restarted web.1 (pid 4243)"}"#,
        ),
        (
            Reply::error(
                ErrorKind::UnknownName,
                r#"no process or instance named "wbe"; did you mean "web"?"#,
            ),
            r#"{"v":1,"type":"error","kind":"unknown_name","message":"no process or instance named \"wbe\"; did you mean \"web\"?"}"#,
        ),
        (
            Reply::Logs {
                lines: vec![line(b"Listening on :5000")],
                colors: BTreeMap::from([("web.1".into(), "red".into())]),
            },
            r#"{"v":1,"type":"logs","lines":[{"name":"web.1","stream":"stdout","at_ms":1700000000123,"text":"Listening on :5000"}],"colors":{"web.1":"red"}}"#,
        ),
        (
            Reply::Logs {
                lines: vec![],
                colors: BTreeMap::new(),
            },
            r#"{"v":1,"type":"logs","lines":[]}"#,
        ),
        (
            Reply::Line(LogLine {
                stream: Stream::Stderr,
                ..line(b"ok\xff")
            }),
            r#"{"v":1,"type":"line","name":"web.1","stream":"stderr","at_ms":1700000000123,"hex":"6f6bff"}"#,
        ),
        (
            Reply::Skipped { count: 1234 },
            r#"{"v":1,"type":"skipped","count":1234}"#,
        ),
    ];
    for (reply, json) in cases {
        assert_eq!(text(&reply), format!("{json}\n"));
        assert_eq!(decode_reply(json.as_bytes()), Ok(reply.clone()));
    }
}

#[test]
fn every_error_kind_has_its_name() {
    let kinds = [
        (ErrorKind::UnknownName, "unknown_name"),
        (ErrorKind::BadRequest, "bad_request"),
        (ErrorKind::TooLarge, "too_large"),
        (ErrorKind::UnsupportedVersion, "unsupported_version"),
        (ErrorKind::PermissionDenied, "permission_denied"),
        (ErrorKind::Busy, "busy"),
        (ErrorKind::Unavailable, "unavailable"),
        (ErrorKind::Failed, "failed"),
    ];
    for (kind, name) in kinds {
        let reply = Reply::error(kind, "m");
        let json = format!(r#"{{"v":1,"type":"error","kind":"{name}","message":"m"}}"#);
        assert_eq!(text(&reply), format!("{json}\n"));
        assert_eq!(decode_reply(json.as_bytes()), Ok(reply));
    }
    // A kind from a later version is still an error the client can report.
    assert_eq!(
        decode_reply(br#"{"v":1,"type":"error","kind":"on_fire","message":"m"}"#),
        Ok(Reply::error(ErrorKind::Other, "m"))
    );
}

#[test]
fn other_versions_are_told_apart_from_garbage() {
    assert_eq!(
        decode_request(br#"{"v":2,"type":"status"}"#),
        Err(DecodeError::UnsupportedVersion("2".into()))
    );
    // A verb v1 never heard of, in v2: still a version mismatch.
    assert_eq!(
        decode_request(br#"{"v":2,"type":"scale","web":3}"#),
        Err(DecodeError::UnsupportedVersion("2".into()))
    );
    assert_eq!(
        decode_reply(br#"{"v":"1","type":"done","message":"m"}"#),
        Err(DecodeError::UnsupportedVersion("\"1\"".into()))
    );
    assert_eq!(
        decode_request(br#"{"type":"status"}"#),
        Err(DecodeError::MissingVersion)
    );
    for garbage in [
        &b"status"[..],
        b"",
        b"[1,2]",
        b"{\"v\":1}",
        b"{\"v\":1,\"type\":\"exec\",\"command\":\"rm -rf /\"}",
        b"{\"v\":1,\"type\":\"restart\"}",
        b"{\"v\":1,\"type\":\"logs\",\"lines\":-1}",
        b"\xff\xfe",
    ] {
        assert!(
            matches!(decode_request(garbage), Err(DecodeError::Malformed(_))),
            "{:?}",
            String::from_utf8_lossy(garbage)
        );
    }
}

#[test]
fn hello_is_not_a_verb() {
    assert_eq!(Request::Hello.into_verb(), None);
    assert_eq!(Request::Status.into_verb(), Some(Verb::Status));
    assert_eq!(
        Request::Stop { names: vec![] }.into_verb(),
        Some(Verb::Stop(vec![]))
    );
}
