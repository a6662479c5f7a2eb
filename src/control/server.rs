//! The server: owns the socket of one `procmux run`, accepts connections and runs one task per
//! connection, each sending its requests into the coordinator's event channel.
//!
//! While no client is connected the server is one task parked in `accept`: no timer, no
//! polling. Connections beyond [`MAX_CONNECTIONS`] get a `busy` error and are closed at once,
//! so many clients cost bounded memory and never more than one pending request each.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use super::claim::{SocketGuard, claim};
use super::connection::{Context, serve_connection};
use super::error::BindError;
use super::exchange::ControlRequest;
use super::place::{SocketEnv, canonical_manifest};
use super::protocol::{ErrorKind, Reply, encode};

/// At most this many clients are served at once.
pub const MAX_CONNECTIONS: usize = 128;

/// How long, after `shutdown`, connections may take to write the replies they have (the
/// `stopping` of `procmux stop` among them) before they are cut.
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// A claimed control socket, ready to [`serve`](Server::serve).
///
/// Dropping it (or the future of `serve`) closes every connection and removes the socket.
#[derive(Debug)]
pub struct Server {
    listener: std::os::unix::net::UnixListener,
    guard: SocketGuard,
    /// The canonical manifest path, for `hello`.
    manifest: PathBuf,
    uid: u32,
}

/// The server stopped because accepting failed for good.
#[derive(Debug, thiserror::Error)]
#[error("the control socket {} failed: {source}", socket.display())]
pub struct ServeError {
    /// The socket.
    pub socket: PathBuf,
    /// The error.
    pub source: std::io::Error,
}

impl Server {
    /// Claims the socket for `manifest` (see the module docs of `claim.rs` for the steps).
    /// Blocking and quick; needs no runtime, so `procmux run` can call it before it starts
    /// anything and fail with "already running".
    pub fn bind(manifest: &Path, env: &SocketEnv) -> Result<Server, BindError> {
        let manifest = canonical_manifest(manifest);
        let claim = claim(&manifest, env)?;
        Ok(Server {
            listener: claim.listener,
            guard: claim.guard,
            manifest,
            uid: env.uid,
        })
    }

    /// The socket's path.
    pub fn socket(&self) -> &Path {
        self.guard.socket()
    }

    /// The canonical manifest path this server answers for.
    pub fn manifest(&self) -> &Path {
        &self.manifest
    }

    /// Serves until `shutdown` resolves, then removes the socket and closes every connection,
    /// giving them [`CLOSE_GRACE`] to write the replies they hold; returns after that. Dropping
    /// the future instead cuts every connection at once. Must run inside a tokio runtime.
    ///
    /// Each request becomes `E::from(ControlRequest)` sent into `events` (the coordinator's
    /// event channel; the send waits when it is full, holding up only that connection). The
    /// coordinator answers through the request's oneshot.
    pub async fn serve<E>(
        self,
        events: mpsc::Sender<E>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServeError>
    where
        E: From<ControlRequest> + Send + 'static,
    {
        let Server {
            listener,
            guard,
            manifest,
            uid,
        } = self;
        let failed = |source| ServeError {
            socket: guard.socket().to_path_buf(),
            source,
        };
        let listener = UnixListener::from_std(listener).map_err(failed)?;
        let context = Arc::new(Context {
            uid,
            pid: std::process::id(),
            manifest: manifest.to_string_lossy().into_owned(),
        });
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let (closing_tx, closing) = watch::channel(false);
        // Dropping the set (after the grace on shutdown, or with this future) aborts every
        // connection left, so no client waits on a server that is gone.
        let mut connections = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let Ok(slot) = slots.clone().try_acquire_owned() else {
                            // A fresh socket's buffer takes this short line without waiting.
                            let busy = Reply::error(
                                ErrorKind::Busy,
                                format!("over {MAX_CONNECTIONS} clients are connected; try again"),
                            );
                            let _ = stream.try_write(&encode(&busy));
                            continue;
                        };
                        let context = context.clone();
                        let events = events.clone();
                        let closing = closing.clone();
                        connections.spawn(async move {
                            serve_connection(stream, context, events, closing).await;
                            drop(slot);
                        });
                    }
                    Err(error) => match error.raw_os_error() {
                        // The client gave up before we accepted: nothing lost.
                        Some(nix::libc::ECONNABORTED | nix::libc::EINTR) => {}
                        // Out of descriptors or memory: accepting again at once would spin,
                        // so wait a little (a timer only while the process is starved).
                        Some(
                            nix::libc::EMFILE
                            | nix::libc::ENFILE
                            | nix::libc::ENOBUFS
                            | nix::libc::ENOMEM,
                        ) => tokio::time::sleep(Duration::from_millis(100)).await,
                        _ => return Err(failed(error)),
                    },
                },
            }
        }
        // The socket goes first, so that no client connects to a server that is closing.
        drop(listener);
        drop(guard);
        let _ = closing_tx.send(true);
        let drained = async { while connections.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(CLOSE_GRACE, drained).await;
        Ok(())
    }
}
