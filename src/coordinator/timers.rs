//! [`Timers`]: the fleet's keyed, cancellable timers. Each armed timer is one sleeping task
//! that sends [`Event::Timer`] when it runs out; arming a key again or cancelling it aborts
//! that task, so a timer exists only while the fleet wants it and costs nothing otherwise.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;

use super::event::{Event, TimerKey};

/// The armed timers.
pub struct Timers {
    armed: HashMap<TimerKey, AbortHandle>,
    events: UnboundedSender<Event>,
}

impl Timers {
    /// No timer armed; fired timers send to `events`.
    pub fn new(events: UnboundedSender<Event>) -> Self {
        Self {
            armed: HashMap::new(),
            events,
        }
    }

    /// Arms `key` to fire after `delay`, replacing a timer already armed with that key.
    pub fn start(&mut self, key: TimerKey, delay: Duration) {
        let events = self.events.clone();
        let fired = key.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = events.send(Event::Timer(fired));
        });
        if let Some(old) = self.armed.insert(key, task.abort_handle()) {
            old.abort();
        }
    }

    /// Disarms `key`, if armed.
    pub fn cancel(&mut self, key: &TimerKey) {
        if let Some(task) = self.armed.remove(key) {
            task.abort();
        }
    }

    /// Forgets a timer that fired (its task is done).
    pub fn fired(&mut self, key: &TimerKey) {
        self.armed.remove(key);
    }
}

impl Drop for Timers {
    fn drop(&mut self) {
        for task in self.armed.values() {
            task.abort();
        }
    }
}
