//! One client connection: check the peer, read requests (bounded), ask the coordinator, write
//! the replies, forward a follower's lines.
//!
//! Everything a client can make the server do is bounded per connection: one request line of
//! at most 64 KiB is buffered, one request is with the coordinator at a time, and a follower
//! holds at most its queue's bound. The connection task does all the writing, so a client that
//! does not read blocks only this task (and, for a follower, makes it lose lines), never the
//! coordinator.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot, watch};

use super::error::DecodeError;
use super::exchange::{ControlReply, ControlRequest};
use super::follow::{FollowItem, FollowReceiver};
use super::framing::{Frame, read_line};
use super::protocol::{
    ErrorKind, MAX_REQUEST, Reply, Request, Verb, decode_request, encode, encode_into,
};
use super::trust::admits;

/// How long a connection closed for an error waits for the client's unread bytes.
const DRAIN_TIME: Duration = Duration::from_secs(1);

/// The read half of a connection, buffered.
type Reader = BufReader<OwnedReadHalf>;

/// Follower lines are written in batches of about this many bytes: one write per batch, not
/// per line, when the client keeps up with a flood.
const FOLLOW_BATCH: usize = 64 * 1024;

/// What every connection of one server knows.
#[derive(Debug)]
pub(crate) struct Context {
    /// The server's uid, the only one it answers.
    pub uid: u32,
    /// For `hello`.
    pub pid: u32,
    /// For `hello`.
    pub manifest: String,
}

/// Serves one connection until the client leaves, sends something wrong, the follower ends,
/// or `closing` turns true (the server is going away). Never panics on anything the client
/// sends.
pub(crate) async fn serve_connection<E>(
    stream: UnixStream,
    context: Arc<Context>,
    events: mpsc::Sender<E>,
    mut closing: watch::Receiver<bool>,
) where
    E: From<ControlRequest> + Send + 'static,
{
    let peer = stream.peer_cred().ok().map(|cred| cred.uid());
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::with_capacity(4096, read);
    if !admits(peer, context.uid) {
        let message = "this procmux belongs to another user";
        let refused = Reply::error(ErrorKind::PermissionDenied, message);
        close_after_error(&refused, reader, write).await;
        return;
    }
    let mut line = Vec::new();
    loop {
        let frame = tokio::select! {
            frame = read_line(&mut reader, &mut line, MAX_REQUEST) => frame,
            () = closed(&mut closing) => return,
        };
        match frame {
            Ok(Frame::Line) => {}
            Ok(Frame::Eof) | Err(_) => return,
            Ok(Frame::TooLong) => {
                let message = format!("the request is over {} KiB", MAX_REQUEST / 1024);
                let refused = Reply::error(ErrorKind::TooLarge, message);
                close_after_error(&refused, reader, write).await;
                return;
            }
        }
        // Blank lines are harmless (`nc` users press Enter twice).
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let verb = match decode_request(&line).map_err(refusal).and_then(check) {
            Ok(Request::Hello) => {
                let hello = Reply::Hello {
                    pid: context.pid,
                    manifest: context.manifest.clone(),
                };
                if write_reply(&mut write, &hello).await.is_err() {
                    return;
                }
                continue;
            }
            Ok(request) => match request.into_verb() {
                Some(verb) => verb,
                None => continue,
            },
            Err(refused) => {
                close_after_error(&refused, reader, write).await;
                return;
            }
        };
        let wants_follow = matches!(&verb, Verb::Logs(logs) if logs.follow);
        let (reply_tx, reply_rx) = oneshot::channel();
        let request = ControlRequest {
            verb,
            reply: reply_tx,
        };
        // Not cut short by `closing`: the answer may be the very "stopping" that closes us,
        // and the server gives connections a grace to write it.
        let answer = match events.send(E::from(request)).await {
            Ok(()) => reply_rx.await.ok(),
            Err(_) => None,
        };
        let Some(ControlReply { reply, follow }) = answer else {
            let message = "procmux is shutting down";
            let refused = Reply::error(ErrorKind::Unavailable, message);
            close_after_error(&refused, reader, write).await;
            return;
        };
        let follow = follow.filter(|_| wants_follow && matches!(reply, Reply::Logs { .. }));
        if write_reply(&mut write, &reply).await.is_err() {
            return;
        }
        if let Some(follow) = follow {
            forward(follow, reader, write, closing).await;
            return;
        }
    }
}

/// Writes the error reply, then closes so that the client reads it: our side is shut down
/// first (the client sees the reply, then EOF), and what the client sent that was not read is
/// drained for a moment, because closing a Unix socket with unread bytes resets it, and a
/// client may then lose the reply it had not read yet.
async fn close_after_error(reply: &Reply, mut reader: Reader, mut write: OwnedWriteHalf) {
    if write_reply(&mut write, reply).await.is_err() {
        return;
    }
    let _ = write.shutdown().await;
    let drain = async {
        let mut scratch = [0_u8; 4096];
        let mut drained = 0;
        while drained <= MAX_REQUEST {
            match reader.read(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(n) => drained += n,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
}

/// The error reply for a line that is not a request.
fn refusal(error: DecodeError) -> Reply {
    let kind = match error {
        DecodeError::UnsupportedVersion(_) => ErrorKind::UnsupportedVersion,
        DecodeError::Malformed(_) | DecodeError::MissingVersion => ErrorKind::BadRequest,
    };
    Reply::error(kind, error.to_string())
}

/// The rules serde cannot say.
fn check(request: Request) -> Result<Request, Reply> {
    match &request {
        Request::Restart { names } if names.is_empty() => Err(Reply::error(
            ErrorKind::BadRequest,
            "restart needs at least one name",
        )),
        _ => Ok(request),
    }
}

async fn write_reply(write: &mut OwnedWriteHalf, reply: &Reply) -> std::io::Result<()> {
    write.write_all(&encode(reply)).await
}

/// Writes the follower's items until the client leaves (EOF or an error on either
/// direction) or the producer drops its sender. Bytes the client sends meanwhile are read
/// into a small scratch buffer and dropped: only so that its leaving is noticed.
async fn forward(
    mut follow: FollowReceiver,
    mut reader: Reader,
    mut write: OwnedWriteHalf,
    mut closing: watch::Receiver<bool>,
) {
    let mut scratch = [0_u8; 512];
    let mut batch = Vec::with_capacity(FOLLOW_BATCH + 1024);
    loop {
        tokio::select! {
            item = follow.recv() => {
                let Some(item) = item else { return };
                push(&mut batch, item);
                while batch.len() < FOLLOW_BATCH {
                    match follow.try_recv() {
                        Some(item) => push(&mut batch, item),
                        None => break,
                    }
                }
                if write.write_all(&batch).await.is_err() {
                    return;
                }
                batch.clear();
            }
            read = reader.read(&mut scratch) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
            () = closed(&mut closing) => return,
        }
    }
}

/// Resolves once the server is closing (or gone: its sender dropped).
async fn closed(closing: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here, not across an await.
    let _ = closing.wait_for(|&closing| closing).await;
}

fn push(batch: &mut Vec<u8>, item: FollowItem) {
    let reply = match item {
        FollowItem::Line(line) => Reply::Line(line),
        FollowItem::Skipped(count) => Reply::Skipped { count },
    };
    encode_into(batch, &reply);
}
