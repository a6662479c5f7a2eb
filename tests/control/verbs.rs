//! Every verb through the client functions the commands run.

use procmux::cli::client::{self, Failure, LogsOptions};
use procmux::control::{Client, InstanceStatus, Reply, Request, Verb};

use crate::support::{Fixture, status_rows};

#[test]
fn hello_names_the_server() {
    let fixture = Fixture::start("");
    let reply = fixture.block_on(async {
        let mut client = Client::connect(&fixture.manifest(), &fixture.env())
            .await
            .unwrap();
        client.request(&Request::Hello).await.unwrap()
    });
    let canonical = std::fs::canonicalize(fixture.manifest()).unwrap();
    assert_eq!(
        reply,
        Reply::Hello {
            pid: std::process::id(),
            manifest: canonical.to_string_lossy().into_owned()
        }
    );
    // hello is the server's own: the coordinator never sees it.
    assert_eq!(fixture.verbs(), []);
}

#[test]
fn status_prints_the_table_or_json() {
    let fixture = Fixture::start("");
    let target = fixture.target();
    let mut out = Vec::new();
    fixture
        .block_on(client::status(&target, false, &mut out))
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "NAME    STATE    PID   UPTIME  RESTARTS  LAST EXIT  PORT\n\
         web.1   running  4242  5m 3s   0         -          5000\n\
         web.2   backoff  -     -       3         SIGKILL    5001\n\
         worker  exited   -     -       0         code 3     -\n"
    );
    let mut out = Vec::new();
    fixture
        .block_on(client::status(&target, true, &mut out))
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let rows: Vec<InstanceStatus> = serde_json::from_value(json["instances"].clone()).unwrap();
    assert_eq!(rows, status_rows());
    assert_eq!(fixture.verbs(), [Verb::Status, Verb::Status]);
}

#[test]
fn restart_answers_in_one_line_or_fails_with_did_you_mean() {
    let fixture = Fixture::start("");
    let target = fixture.target();
    let mut out = Vec::new();
    let names = ["web".to_owned(), "worker".to_owned()];
    fixture
        .block_on(client::restart(&target, &names, &mut out))
        .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "restarted web, worker\n");
    let mut out = Vec::new();
    let failure = fixture
        .block_on(client::restart(&target, &["wbe".to_owned()], &mut out))
        .unwrap_err();
    assert_eq!(
        failure,
        Failure {
            code: 2,
            message: "error: no process or instance named \"wbe\"; did you mean \"web\"?".into()
        }
    );
    assert!(out.is_empty());
}

#[test]
fn stop_of_names_answers_and_stop_of_all_waits_for_the_server_to_go() {
    let mut fixture = Fixture::start("");
    let target = fixture.target();
    let mut out = Vec::new();
    fixture
        .block_on(client::stop(&target, &["worker".to_owned()], &mut out))
        .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "stopped worker\n");
    let failure = fixture
        .block_on(client::stop(&target, &["nope".to_owned()], &mut Vec::new()))
        .unwrap_err();
    assert_eq!(failure.code, 2);

    let mut out = Vec::new();
    fixture
        .block_on(client::stop(&target, &[], &mut out))
        .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "stopping procmux\n");
    // It returned because the server went away: the socket is gone with it.
    fixture.wait_served();
    assert!(!fixture.socket.exists());
    let failure = fixture
        .block_on(client::status(&target, false, &mut Vec::new()))
        .unwrap_err();
    assert_eq!(failure.code, 1);
    assert_eq!(
        failure.message,
        "procmux is not running here (no server for ./procmux.toml)"
    );
}

#[test]
fn logs_prints_recent_lines_prefixed_and_bytes_untouched() {
    let fixture = Fixture::start("");
    let target = fixture.target();
    let options = LogsOptions {
        names: vec![],
        lines: 1,
        follow: false,
        color: false,
    };
    let mut out = Vec::new();
    let never = std::future::pending::<()>();
    fixture
        .block_on(client::logs(
            &target,
            &options,
            &mut out,
            &mut Vec::new(),
            never,
        ))
        .unwrap();
    let stamp = |ms| client::stamp(ms);
    let mut want = format!(
        "{}web.1  | GET /\n{}web.2  | GET /health\n{}worker | idle\n",
        stamp(1_700_000_003_000),
        stamp(1_700_000_004_000),
        stamp(1_700_000_005_000)
    )
    .into_bytes();
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&want)
    );

    let options = LogsOptions {
        names: vec!["worker".into()],
        lines: 100,
        follow: false,
        color: true,
    };
    let mut out = Vec::new();
    let never = std::future::pending::<()>();
    fixture
        .block_on(client::logs(
            &target,
            &options,
            &mut out,
            &mut Vec::new(),
            never,
        ))
        .unwrap();
    // The manifest's colour (red) from the reply, and the invalid UTF-8 byte as it was.
    want = format!("{}\x1b[31mworker |\x1b[0m job ", stamp(1_700_000_002_000)).into_bytes();
    want.extend_from_slice(b"\xff done\n");
    want.extend_from_slice(
        format!("{}\x1b[31mworker |\x1b[0m idle\n", stamp(1_700_000_005_000)).as_bytes(),
    );
    assert_eq!(out, want);

    let options = LogsOptions {
        names: vec!["db".into()],
        ..options
    };
    let never = std::future::pending::<()>();
    let failure = fixture
        .block_on(client::logs(
            &target,
            &options,
            &mut Vec::new(),
            &mut Vec::new(),
            never,
        ))
        .unwrap_err();
    assert_eq!(failure.code, 2);
}

#[test]
fn a_manifest_with_a_syntax_error_still_finds_its_server() {
    let fixture = Fixture::start("[[[ this is not TOML");
    let mut out = Vec::new();
    fixture
        .block_on(client::status(&fixture.target(), false, &mut out))
        .unwrap();
    assert!(String::from_utf8(out).unwrap().starts_with("NAME"));
}
