//! The control socket: how `procmux status|restart|stop|logs` in another terminal talk to the
//! running `procmux run` of the same manifest.
//!
//! The protocol (JSON lines with a version, every message with an example) is documented in
//! [`protocol`]. The server side is [`Server`]: [`Server::bind`] claims the socket (or fails
//! with [`BindError::AlreadyRunning`]), [`Server::serve`] accepts connections and turns each
//! request into a [`ControlRequest`] for the coordinator's event channel, which answers through
//! the request's oneshot with a [`ControlReply`] (and for `logs -f` a [`FollowReceiver`] whose
//! [`FollowSender`] it feeds). The client side is [`Client`].
//!
//! - `protocol.rs`: requests, replies, encoding; `status.rs`: a `status` row;
//!   `log_line.rs`: a line of output with bytes that round-trip;
//! - `place.rs`: where the socket of a manifest lives; `trust.rs`: folder and peer rules;
//!   `claim.rs`: taking and giving back the socket (lock, stale socket, modes);
//! - `server.rs`: the accept loop; `connection.rs`: one client; `exchange.rs`: what the
//!   coordinator gets and returns; `follow.rs`: the lossy queue of a follower;
//! - `framing.rs`: the bounded line reader; `client.rs`: the client; `error.rs`: the errors.
//!
//! This module decides nothing about processes: which names exist, what a restart means and
//! the did-you-mean for an unknown name are the coordinator's.

mod claim;
mod client;
mod connection;
mod error;
mod exchange;
mod follow;
mod framing;
mod log_line;
mod place;
pub mod protocol;
mod server;
mod status;
mod trust;

pub use client::{Client, MAX_REPLY};
pub use error::{BindError, ClientError, DecodeError, FolderProblem, PlaceError};
pub use exchange::{ControlReply, ControlRequest};
pub use follow::{
    FOLLOW_BYTES, FOLLOW_LINES, FollowItem, FollowReceiver, FollowSender, FollowerGone,
    follow_channel, follow_channel_with,
};
pub use framing::{Frame, read_line};
pub use log_line::{LogLine, Stream};
pub use place::{MAX_SOCKET_PATH, Place, SocketEnv, canonical_manifest, place};
pub use protocol::{
    DEFAULT_LOG_LINES, ErrorKind, LogsRequest, MAX_REQUEST, Reply, Request, VERSION, Verb,
    decode_reply, decode_request, encode,
};
pub use server::{CLOSE_GRACE, MAX_CONNECTIONS, ServeError, Server};
pub use status::{InstanceStatus, LastExit, State};
pub use trust::{FolderFacts, admits, check_folder};
