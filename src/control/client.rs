//! The client side of the socket: find the server of a manifest, check it is ours, send
//! requests and read replies.

use std::io;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use super::error::ClientError;
use super::framing::{Frame, read_line};
use super::place::{Place, SocketEnv, canonical_manifest, place};
use super::protocol::{Reply, Request, decode_reply, encode};
use super::trust::{FolderFacts, check_folder};

/// The longest reply line a client reads: far above any real reply (a `logs` reply holds at
/// most what the server's rings hold), low enough that a confused server cannot make a
/// client eat all memory.
pub const MAX_REPLY: usize = 256 * 1024 * 1024;

/// A connection to the server of one manifest.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    socket: PathBuf,
    line: Vec<u8>,
}

impl Client {
    /// Connects to the server of `manifest` (any path to it: it is made canonical as the
    /// server does). [`ClientError::NotRunning`] when there is none.
    pub async fn connect(manifest: &Path, env: &SocketEnv) -> Result<Client, ClientError> {
        let place = place(&canonical_manifest(manifest), env)?;
        Self::connect_to(&place, env.uid).await
    }

    /// Connects to the socket of `place`, which must be in a safe folder and served by `uid`.
    pub async fn connect_to(place: &Place, uid: u32) -> Result<Client, ClientError> {
        let not_running = || ClientError::NotRunning {
            socket: place.socket.clone(),
        };
        let io_error = |source| ClientError::Io {
            socket: place.socket.clone(),
            source,
        };
        match FolderFacts::of(&place.dir) {
            Ok(facts) => check_folder(facts, uid).map_err(|problem| ClientError::UnsafeFolder {
                dir: place.dir.clone(),
                problem,
            })?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(not_running()),
            Err(error) => return Err(io_error(error)),
        }
        let stream = match UnixStream::connect(&place.socket).await {
            Ok(stream) => stream,
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Err(not_running());
            }
            Err(error) => return Err(io_error(error)),
        };
        let server_uid = stream.peer_cred().ok().map(|cred| cred.uid());
        if server_uid != Some(uid) {
            return Err(ClientError::ForeignServer {
                socket: place.socket.clone(),
                uid: server_uid,
            });
        }
        let (read, writer) = stream.into_split();
        Ok(Client {
            reader: BufReader::new(read),
            writer,
            socket: place.socket.clone(),
            line: Vec::new(),
        })
    }

    /// The socket this client is connected to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sends `request` and reads the reply to it.
    pub async fn request(&mut self, request: &Request) -> Result<Reply, ClientError> {
        self.send(request).await?;
        self.next().await?.ok_or(ClientError::Closed)
    }

    /// Sends `request` without waiting for the reply.
    pub async fn send(&mut self, request: &Request) -> Result<(), ClientError> {
        let line = encode(request);
        self.writer
            .write_all(&line)
            .await
            .map_err(|source| self.io_error(source))
    }

    /// The next message from the server; `None` once it closed the connection (for a follower:
    /// procmux went away). A connection reset counts as closed: it is how a server that exits
    /// with unread bytes from us ends.
    pub async fn next(&mut self) -> Result<Option<Reply>, ClientError> {
        match read_line(&mut self.reader, &mut self.line, MAX_REPLY).await {
            Ok(Frame::Line) => Ok(Some(decode_reply(&self.line)?)),
            Ok(Frame::Eof) => Ok(None),
            Ok(Frame::TooLong) => Err(ClientError::TooLarge { limit: MAX_REPLY }),
            Err(error) if error.kind() == io::ErrorKind::ConnectionReset => Ok(None),
            Err(source) => Err(self.io_error(source)),
        }
    }

    fn io_error(&self, source: io::Error) -> ClientError {
        ClientError::Io {
            socket: self.socket.clone(),
            source,
        }
    }
}
