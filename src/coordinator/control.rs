//! The coordinator's side of the control socket: requests from [`crate::control`] turned into
//! fleet events (`restart`, `stop`), answered from the fleet (`status`) or from the output
//! rings (`logs`), and followers of live output for `logs -f`.
//!
//! Restarts and stops are answered when the fleet says they are done (an [`Action::Reply`]),
//! so their oneshot waits here, by request id. A follower is a task that copies lines from a
//! mux follower into the socket's lossy queue; it ends when the client leaves or at exit.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use tokio::task::JoinHandle;

use crate::control::{
    self, ControlReply, ControlRequest, ErrorKind, FollowSender, LastExit, LogLine, LogsRequest,
    Reply, Verb, follow_channel,
};
use crate::mux::{self, FollowItem, Mux, RecentLine, Source};

use super::event::{ControlOutcome, ControlVerb, Event, InstanceKey};
use super::fleet::{Fleet, InstanceState, InstanceStatus};
use super::jobs::Jobs;

/// How many chunks a follower's mux queue holds before it counts lines as skipped; the
/// socket's own queue (lines and bytes) is the tighter bound.
const FOLLOW_CHUNKS: usize = 256;

/// Requests waiting for the fleet, and the followers being fed.
#[derive(Default)]
pub struct Control {
    waiting: HashMap<u64, ControlRequest>,
    next_id: u64,
    followers: Vec<JoinHandle<()>>,
}

impl Control {
    /// Handles a request: answers `status` and `logs` at once; returns the fleet event of a
    /// `restart` or `stop`, keeping the request until [`answer`](Self::answer).
    pub fn request(
        &mut self,
        request: ControlRequest,
        fleet: &Fleet,
        jobs: &Jobs,
        mux: &Mux,
    ) -> Option<Event> {
        let verb = match &request.verb {
            Verb::Status => {
                let instances = fleet.status(Instant::now()).iter().map(row).collect();
                request.answer(Reply::Status { instances });
                return None;
            }
            Verb::Logs(logs) => {
                let logs = logs.clone();
                let reply = self.logs(&logs, fleet, jobs, mux);
                request.answer(reply);
                return None;
            }
            Verb::Restart(names) => ControlVerb::Restart(names.clone()),
            Verb::Stop(names) if names.is_empty() => ControlVerb::StopAll,
            Verb::Stop(names) => ControlVerb::Stop(names.clone()),
        };
        self.next_id += 1;
        let id = self.next_id;
        self.waiting.insert(id, request);
        Some(Event::Control { id, verb })
    }

    /// Answers the request `id` with the fleet's outcome.
    pub fn answer(&mut self, id: u64, outcome: ControlOutcome) {
        let Some(request) = self.waiting.remove(&id) else {
            return;
        };
        request.answer(match outcome {
            ControlOutcome::Done(message) => Reply::done(message),
            ControlOutcome::UnknownName(message) => Reply::error(ErrorKind::UnknownName, message),
            ControlOutcome::Failed(message) => Reply::error(ErrorKind::Failed, message),
        });
    }

    /// Ends every follower (their clients see procmux stop) and drops unanswered requests.
    pub fn close(&mut self) {
        for follower in self.followers.drain(..) {
            follower.abort();
        }
        self.waiting.clear();
    }

    fn logs(
        &mut self,
        request: &LogsRequest,
        fleet: &Fleet,
        jobs: &Jobs,
        mux: &Mux,
    ) -> ControlReply {
        let indices = if request.names.is_empty() {
            Ok((0..fleet.len()).collect())
        } else {
            fleet.resolve(&request.names)
        };
        let keys: Vec<InstanceKey> = match indices {
            Ok(indices) => indices
                .into_iter()
                .filter_map(|i| fleet.key_at(i))
                .collect(),
            Err(message) => return ControlReply::error(ErrorKind::UnknownName, message),
        };
        let sources: Vec<&Source> = keys
            .iter()
            .filter_map(|k| jobs.existing_source(k))
            .collect();
        let per_instance = usize::try_from(request.lines).unwrap_or(usize::MAX);
        let mut lines: Vec<LogLine> = Vec::new();
        for source in &sources {
            let name: Arc<str> = source.name().into();
            lines.extend(
                source
                    .recent(per_instance)
                    .into_iter()
                    .map(|line| log_line(&name, line)),
            );
        }
        // Merged by time; a stable sort keeps each instance's own order.
        lines.sort_by_key(|line| line.at_ms);
        let colors: BTreeMap<String, String> = keys
            .iter()
            .filter_map(|key| {
                let spec = fleet.spec(key)?;
                Some((spec.display_name.clone(), spec.color?.as_str().to_owned()))
            })
            .collect();
        let reply = Reply::Logs { lines, colors };
        if !request.follow {
            return reply.into();
        }
        let ids: Vec<u64> = sources.iter().map(|source| source.id()).collect();
        let follower = mux.follow(Some(ids), FOLLOW_CHUNKS);
        let (sender, receiver) = follow_channel();
        self.followers.retain(|task| !task.is_finished());
        self.followers.push(tokio::spawn(feed(follower, sender)));
        ControlReply::following(reply, receiver)
    }
}

/// Copies live lines into the socket's queue until the client leaves.
async fn feed(mut follower: mux::Follower, sender: FollowSender) {
    while let Some(item) = follower.recv().await {
        let sent = match item {
            FollowItem::Skipped(count) => sender.skipped(count),
            FollowItem::Chunk(chunk) => {
                let name: Arc<str> = chunk.name().into();
                let at_ms = millis(chunk.at());
                let stream = stream(chunk.stream());
                chunk.lines().try_for_each(|bytes| {
                    sender.send(LogLine {
                        name: Arc::clone(&name),
                        stream,
                        at_ms,
                        bytes: bytes.to_vec(),
                    })
                })
            }
        };
        if sent.is_err() {
            return;
        }
    }
}

fn log_line(name: &Arc<str>, line: RecentLine) -> LogLine {
    LogLine {
        name: Arc::clone(name),
        stream: stream(line.stream),
        at_ms: millis(line.at),
        bytes: line.bytes,
    }
}

fn stream(stream: mux::Stream) -> control::Stream {
    match stream {
        mux::Stream::Stdout => control::Stream::Stdout,
        mux::Stream::Stderr => control::Stream::Stderr,
    }
}

fn millis(at: std::time::SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

fn row(status: &InstanceStatus) -> control::InstanceStatus {
    control::InstanceStatus {
        name: status.name.clone(),
        state: match status.state {
            InstanceState::Waiting => control::State::Waiting,
            InstanceState::Starting => control::State::Starting,
            InstanceState::Running => control::State::Running,
            InstanceState::Ready => control::State::Ready,
            InstanceState::Stopping => control::State::Stopping,
            InstanceState::Backoff => control::State::Backoff,
            InstanceState::Exited => control::State::Exited,
            InstanceState::Stopped => control::State::Stopped,
            InstanceState::Idle => control::State::Idle,
        },
        pid: status.pid,
        uptime_ms: status
            .uptime
            .map(|uptime| u64::try_from(uptime.as_millis()).unwrap_or(u64::MAX)),
        restarts: status.restarts,
        last_exit: status.last_exit.as_ref().map(LastExit::from),
        port: status.port,
    }
}
