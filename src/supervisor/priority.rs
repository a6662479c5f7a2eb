//! The control queue between job handles and the job task: three priorities (Urgent > High >
//! Normal, first in first out within each), and the stop timer that holds Normal controls back
//! while a graceful stop or restart is pending.
//!
//! One mutex-protected set of queues rather than three channels: the "is the task gone?" flag
//! and the queues change under the same lock, so a control is either queued for a live task or
//! dropped at once (resolving its ticket); it can never be stranded in a queue nobody reads.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

/// How urgently a control runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Priority {
    /// Held back while a graceful stop is pending.
    Normal = 0,
    /// Runs even while a graceful stop is pending.
    High = 1,
    /// Runs before anything else.
    Urgent = 2,
}

#[derive(Debug)]
struct Queues<M> {
    /// Indexed by `Priority as usize`.
    levels: [VecDeque<M>; 3],
    /// Set when the receiving task has gone: later messages are dropped on arrival.
    closed: bool,
    /// Set when every sender has gone: the task should wind down once the queue is empty.
    abandoned: bool,
}

#[derive(Debug)]
struct Shared<M> {
    queues: Mutex<Queues<M>>,
    /// Wakes the receiver on a new message or when the last sender goes.
    wake: Notify,
}

impl<M> Shared<M> {
    fn lock(&self) -> MutexGuard<'_, Queues<M>> {
        // A panic while holding this lock can only come from VecDeque allocation failure; the
        // queues are still consistent then, so carry on with them.
        self.queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The sending side. Not `Clone`: share it in an `Arc`, and the receiver learns that every
/// handle is gone when this is dropped.
#[derive(Debug)]
pub(crate) struct Sender<M>(Arc<Shared<M>>);

/// A pending timer and what it carries to the task when it fires.
#[derive(Debug)]
pub(crate) struct Timer<T> {
    /// `None`: never fires (a grace too long to represent), but still holds Normal back.
    pub(crate) deadline: Option<Instant>,
    pub(crate) payload: T,
}

/// The receiving side, owned by the job task. Dropping it closes the queue and drops every
/// queued message.
#[derive(Debug)]
pub(crate) struct Receiver<M, T> {
    shared: Arc<Shared<M>>,
    timer: Option<Timer<T>>,
}

/// What the receiver hands the task next.
#[derive(Debug)]
pub(crate) enum Next<M, T> {
    Message(M),
    TimerFired(T),
    /// Every sender is gone and nothing the task may take is left.
    Abandoned,
}

pub(crate) fn queue<M, T>() -> (Sender<M>, Receiver<M, T>) {
    let shared = Arc::new(Shared {
        queues: Mutex::new(Queues {
            levels: Default::default(),
            closed: false,
            abandoned: false,
        }),
        wake: Notify::new(),
    });
    (
        Sender(Arc::clone(&shared)),
        Receiver {
            shared,
            timer: None,
        },
    )
}

impl<M> Sender<M> {
    /// Queues a message; if the receiver is gone, drops it at once and returns false.
    pub(crate) fn send(&self, message: M, priority: Priority) -> bool {
        let mut queues = self.0.lock();
        if queues.closed {
            drop(queues);
            drop(message);
            return false;
        }
        queues.levels[priority as usize].push_back(message);
        drop(queues);
        self.0.wake.notify_one();
        true
    }

    /// Queues several messages at one priority, atomically: nothing another handle sends can
    /// land between them. Returns false (having dropped them) if the receiver is gone.
    pub(crate) fn send_all(
        &self,
        messages: impl IntoIterator<Item = M>,
        priority: Priority,
    ) -> bool {
        let mut queues = self.0.lock();
        if queues.closed {
            return false;
        }
        queues.levels[priority as usize].extend(messages);
        drop(queues);
        self.0.wake.notify_one();
        true
    }

    /// Whether the receiver is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.0.lock().closed
    }
}

impl<M> Drop for Sender<M> {
    fn drop(&mut self) {
        self.0.lock().abandoned = true;
        self.0.wake.notify_one();
    }
}

impl<M, T> Receiver<M, T> {
    /// Arms the timer, replacing any armed one (whose payload is returned). A `None` deadline
    /// never fires.
    pub(crate) fn arm(&mut self, deadline: Option<Instant>, payload: T) -> Option<T> {
        self.timer
            .replace(Timer { deadline, payload })
            .map(|timer| timer.payload)
    }

    /// Disarms the timer, returning its payload.
    pub(crate) fn disarm(&mut self) -> Option<T> {
        self.timer.take().map(|timer| timer.payload)
    }

    /// Whether the timer is armed.
    pub(crate) fn is_armed(&self) -> bool {
        self.timer.is_some()
    }

    /// Closes the queue: later sends are dropped, and so is everything still queued.
    pub(crate) fn close(&mut self) {
        let drained = {
            let mut queues = self.shared.lock();
            queues.closed = true;
            std::mem::take(&mut queues.levels)
        };
        // Dropped outside the lock: dropping a message resolves its ticket, which wakes tasks.
        drop(drained);
    }

    /// The next thing for the task: the highest-priority message it may take, else the timer
    /// when it fires, else `Abandoned` when every sender is gone.
    ///
    /// Cancel-safe: a message is only taken from the queue in the same poll that returns it,
    /// and the timer is only disarmed when it is returned.
    pub(crate) async fn recv(&mut self) -> Next<M, T> {
        loop {
            {
                let mut queues = self.shared.lock();
                let allowed: &[Priority] = if self.timer.is_some() {
                    &[Priority::Urgent, Priority::High]
                } else {
                    &[Priority::Urgent, Priority::High, Priority::Normal]
                };
                for &priority in allowed {
                    if let Some(message) = queues.levels[priority as usize].pop_front() {
                        return Next::Message(message);
                    }
                }
                // An armed timer keeps an abandoned task going until it fires; one that never
                // fires would keep it forever, with nobody left to stop it.
                let waiting = self.timer.as_ref().is_some_and(|t| t.deadline.is_some());
                if queues.abandoned && !waiting {
                    return Next::Abandoned;
                }
            }
            // `notify_one` stores a permit when nobody waits, so a send between the unlock
            // above and this await is not lost; at worst it causes one extra turn of the loop.
            match self.timer.as_ref().and_then(|timer| timer.deadline) {
                None => self.shared.wake.notified().await,
                Some(deadline) => {
                    tokio::select! {
                        () = self.shared.wake.notified() => {}
                        () = sleep_until(deadline) => {
                            if let Some(timer) = self.timer.take() {
                                return Next::TimerFired(timer.payload);
                            }
                        }
                    }
                }
            }
        }
    }
}

impl<M, T> Drop for Receiver<M, T> {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;

    fn message<T: std::fmt::Debug>(next: Next<u32, T>) -> u32 {
        match next {
            Next::Message(message) => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn higher_priorities_first_fifo_within() {
        let (sender, mut receiver) = queue::<u32, ()>();
        sender.send(1, Priority::Normal);
        sender.send(2, Priority::High);
        sender.send(3, Priority::Normal);
        sender.send(4, Priority::Urgent);
        sender.send(5, Priority::High);
        let mut order = Vec::new();
        for _ in 0..5 {
            order.push(message(receiver.recv().await));
        }
        assert_eq!(order, [4, 2, 5, 1, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn armed_timer_holds_normal_back_until_it_fires() {
        let (sender, mut receiver) = queue::<u32, &str>();
        let start = Instant::now();
        receiver.arm(Some(start + Duration::from_secs(5)), "grace over");
        sender.send(1, Priority::Normal);
        sender.send(2, Priority::High);
        assert_eq!(message(receiver.recv().await), 2);
        match receiver.recv().await {
            Next::TimerFired(payload) => assert_eq!(payload, "grace over"),
            other => panic!("expected the timer, got {other:?}"),
        }
        assert_eq!(Instant::now() - start, Duration::from_secs(5));
        assert!(!receiver.is_armed());
        assert_eq!(message(receiver.recv().await), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn disarming_releases_normal_at_once() {
        let (sender, mut receiver) = queue::<u32, ()>();
        receiver.arm(Some(Instant::now() + Duration::from_secs(60)), ());
        sender.send(7, Priority::Normal);
        assert_eq!(receiver.disarm(), Some(()));
        let start = Instant::now();
        assert_eq!(message(receiver.recv().await), 7);
        assert_eq!(Instant::now(), start);
    }

    #[tokio::test(start_paused = true)]
    async fn wakes_on_a_later_send() {
        let (sender, mut receiver) = queue::<u32, ()>();
        let sender = Arc::new(sender);
        let later = Arc::clone(&sender);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            later.send(9, Priority::Normal);
        });
        assert_eq!(message(receiver.recv().await), 9);
    }

    #[tokio::test(start_paused = true)]
    async fn abandoned_after_the_queue_drains() {
        let (sender, mut receiver) = queue::<u32, ()>();
        sender.send(1, Priority::Normal);
        drop(sender);
        assert_eq!(message(receiver.recv().await), 1);
        assert!(matches!(receiver.recv().await, Next::Abandoned));
    }

    #[tokio::test(start_paused = true)]
    async fn abandonment_waits_for_an_armed_timer() {
        let (sender, mut receiver) = queue::<u32, ()>();
        receiver.arm(Some(Instant::now() + Duration::from_secs(3)), ());
        drop(sender);
        assert!(matches!(receiver.recv().await, Next::TimerFired(())));
        assert!(matches!(receiver.recv().await, Next::Abandoned));
    }

    #[tokio::test(start_paused = true)]
    async fn a_timer_that_never_fires_holds_normal_back_but_not_abandonment() {
        let (sender, mut receiver) = queue::<u32, ()>();
        receiver.arm(None, ());
        sender.send(1, Priority::Normal);
        sender.send(2, Priority::High);
        assert_eq!(message(receiver.recv().await), 2);
        let start = Instant::now();
        let held = tokio::time::timeout(Duration::from_secs(3600), receiver.recv()).await;
        assert!(
            held.is_err(),
            "a Normal control ran past a never-firing timer"
        );
        assert_eq!(Instant::now() - start, Duration::from_secs(3600));
        drop(sender);
        assert!(matches!(receiver.recv().await, Next::Abandoned));
    }

    #[tokio::test(start_paused = true)]
    async fn closing_drops_queued_and_later_messages() {
        let (sender, receiver) = queue::<Arc<()>, ()>();
        let token = Arc::new(());
        sender.send(Arc::clone(&token), Priority::Normal);
        drop(receiver);
        assert_eq!(Arc::strong_count(&token), 1, "queued message dropped");
        assert!(sender.is_closed());
        assert!(!sender.send(Arc::clone(&token), Priority::Urgent));
        assert_eq!(Arc::strong_count(&token), 1, "late message dropped");
    }
}
