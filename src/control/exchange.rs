//! What the server hands the coordinator, and what the coordinator hands back: one
//! [`ControlRequest`] per verb, answered through its oneshot with a [`ControlReply`].
//!
//! The coordinator owns no socket and never writes to a client: it decides, replies through
//! the oneshot (which never waits), and for `logs -f` keeps the [`FollowSender`] half of a
//! follower queue, feeding it without ever waiting. The connection task writes; a slow client
//! slows only its own connection.
//!
//! [`FollowSender`]: super::FollowSender

use tokio::sync::oneshot;

use super::follow::FollowReceiver;
use super::protocol::{ErrorKind, Reply, Verb};

/// A request for the coordinator, with the way to answer it.
#[derive(Debug)]
pub struct ControlRequest {
    /// What the client asks.
    pub verb: Verb,
    /// Where the answer goes. Dropping it unanswered gives the client an `unavailable` error.
    pub reply: oneshot::Sender<ControlReply>,
}

impl ControlRequest {
    /// Sends the answer; a client that has gone away in the meantime is not an error.
    pub fn answer(self, reply: impl Into<ControlReply>) {
        let _ = self.reply.send(reply.into());
    }
}

/// The coordinator's answer to one [`ControlRequest`].
#[derive(Debug)]
pub struct ControlReply {
    /// The reply line for the client: for a `status` verb [`Reply::Status`], for `restart` and
    /// `stop` [`Reply::Done`], for `logs` [`Reply::Logs`]; for any of them [`Reply::Error`].
    pub reply: Reply,
    /// For `logs` with `follow` and a [`Reply::Logs`]: the live lines after the reply. The
    /// connection forwards them until the client disconnects (then it drops the receiver, and
    /// the producer's next send fails) or until the producer drops its sender (then the
    /// connection closes). Ignored, and dropped at once, with any other reply.
    pub follow: Option<FollowReceiver>,
}

impl ControlReply {
    /// A `logs` reply followed by the live lines of `follow`.
    pub fn following(reply: Reply, follow: FollowReceiver) -> Self {
        ControlReply {
            reply,
            follow: Some(follow),
        }
    }

    /// An `error` reply.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Self {
        Reply::error(kind, message).into()
    }
}

impl From<Reply> for ControlReply {
    fn from(reply: Reply) -> Self {
        ControlReply {
            reply,
            follow: None,
        }
    }
}
