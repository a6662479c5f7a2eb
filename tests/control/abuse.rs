//! What a careless or hostile client can send: garbage, other versions, a line without end,
//! many connections at once. Each gets an error and a closed connection, and the server goes
//! on answering everyone else.

use procmux::control::{
    Client, ErrorKind, MAX_REQUEST, Reply, Request, Verb, decode_reply, encode,
};
use tokio::io::AsyncWriteExt;

use crate::support::{Fixture, raw, read_to_close};

/// Sends `bytes` on a fresh connection and returns every reply until the server closes it.
async fn exchange(fixture: &Fixture, bytes: Vec<u8>) -> Vec<Reply> {
    let (mut read, mut write) = raw(&fixture.socket).await.into_split();
    // Written beside the reading: the server may close before taking it all.
    let writer = tokio::spawn(async move {
        let _ = write.write_all(&bytes).await;
        // Keep the write half open: the server, not our EOF, must end the exchange.
        write
    });
    let text = read_to_close(&mut read).await;
    drop(writer.await);
    text.lines()
        .map(|line| decode_reply(line.as_bytes()).unwrap())
        .collect()
}

/// Asserts the server still answers a normal client.
async fn still_serves(fixture: &Fixture) {
    let mut client = Client::connect(&fixture.manifest(), &fixture.env())
        .await
        .unwrap();
    assert!(matches!(
        client.request(&Request::Status).await.unwrap(),
        Reply::Status { .. }
    ));
}

fn kind(replies: &[Reply]) -> ErrorKind {
    match replies {
        [Reply::Error { kind, .. }] => *kind,
        other => panic!("expected one error reply, got {other:?}"),
    }
}

#[test]
fn garbage_gets_bad_request_and_a_closed_connection() {
    let fixture = Fixture::start("");
    fixture.block_on(async {
        for garbage in [
            &b"hello?\n"[..],
            b"{\"v\":1,\"type\":\"exec\",\"command\":\"touch /tmp/pwned\"}\n",
            b"{\"v\":1,\"type\":\"restart\",\"names\":[]}\n",
            b"{\"type\":\"status\"}\n",
            b"\xff\xfe\x00\n",
            b"[]\n",
        ] {
            let replies = exchange(&fixture, garbage.to_vec()).await;
            assert_eq!(kind(&replies), ErrorKind::BadRequest, "{garbage:?}");
        }
        still_serves(&fixture).await;
    });
    // Nothing of it reached the coordinator.
    assert_eq!(fixture.verbs(), [Verb::Status]);
}

#[test]
fn another_version_is_refused_as_such() {
    let fixture = Fixture::start("");
    fixture.block_on(async {
        let replies = exchange(&fixture, b"{\"v\":2,\"type\":\"status\"}\n".to_vec()).await;
        assert_eq!(kind(&replies), ErrorKind::UnsupportedVersion);
        let Reply::Error { message, .. } = &replies[0] else {
            unreachable!()
        };
        assert!(message.contains("version 1"), "{message}");
        still_serves(&fixture).await;
    });
}

#[test]
fn a_megabyte_line_gets_too_large() {
    let fixture = Fixture::start("");
    fixture.block_on(async {
        let mut huge = vec![b'x'; 1024 * 1024];
        huge.push(b'\n');
        assert_eq!(kind(&exchange(&fixture, huge).await), ErrorKind::TooLarge);
        // Just at the bound is still read (and is garbage); one byte over is too large.
        let mut at_bound = vec![b' '; MAX_REQUEST - 1];
        at_bound[0] = b'{';
        at_bound.push(b'\n');
        assert_eq!(
            kind(&exchange(&fixture, at_bound.clone()).await),
            ErrorKind::BadRequest
        );
        let mut over = at_bound;
        over.insert(1, b' ');
        assert_eq!(kind(&exchange(&fixture, over).await), ErrorKind::TooLarge);
        still_serves(&fixture).await;
    });
}

#[test]
fn several_requests_on_one_connection_and_blank_lines() {
    let fixture = Fixture::start("");
    let mut bytes = b"\n  \n".to_vec();
    bytes.extend(encode(&Request::Hello));
    bytes.extend(encode(&Request::Status));
    bytes.extend(b"nonsense\n");
    bytes.extend(encode(&Request::Status));
    let replies = fixture.block_on(exchange(&fixture, bytes));
    assert!(matches!(
        replies.as_slice(),
        [
            Reply::Hello { .. },
            Reply::Status { .. },
            Reply::Error {
                kind: ErrorKind::BadRequest,
                ..
            }
        ]
    ));
}

#[test]
fn fifty_clients_at_once_and_the_server_still_works() {
    let fixture = Fixture::start("");
    fixture.block_on(async {
        let mut clients = Vec::new();
        for n in 0..50 {
            let manifest = fixture.manifest();
            let env = fixture.env();
            let socket = fixture.socket.clone();
            clients.push(tokio::spawn(async move {
                if n % 5 == 0 {
                    // Some of them misbehave meanwhile.
                    let mut stream = raw(&socket).await;
                    let _ = stream.write_all(b"{{{{\n").await;
                    return read_to_close(&mut stream).await.contains("bad_request");
                }
                let mut client = Client::connect(&manifest, &env).await.unwrap();
                matches!(
                    client.request(&Request::Status).await.unwrap(),
                    Reply::Status { .. }
                )
            }));
        }
        for client in clients {
            assert!(client.await.unwrap());
        }
        still_serves(&fixture).await;
    });
    assert_eq!(fixture.verbs().len(), 41);
}

#[test]
fn idle_and_silent_clients_do_not_hold_up_the_others() {
    let fixture = Fixture::start("");
    fixture.block_on(async {
        // Connected, saying nothing, or half a line, and never reading.
        let mut silent = Vec::new();
        for n in 0..20 {
            let mut stream = raw(&fixture.socket).await;
            if n % 2 == 0 {
                stream.write_all(b"{\"v\":1,\"type\":").await.unwrap();
            }
            silent.push(stream);
        }
        still_serves(&fixture).await;
        drop(silent);
    });
}
