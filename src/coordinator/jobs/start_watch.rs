//! [`StartWatch`]: what the task that waits for a start needs to report one that did not
//! spawn: cancelled, or failed with the job's last error in the shell's words.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;

use crate::manifest::InstanceSpec;

use super::super::event::{Event, InstanceKey};
use super::super::preflight;

/// What the task waiting for a start needs to report its outcome.
pub(super) struct StartWatch {
    pub(super) spawns: Arc<AtomicU64>,
    pub(super) cancelled: Arc<AtomicBool>,
    pub(super) last_error: Arc<Mutex<Option<std::io::Error>>>,
    pub(super) events: UnboundedSender<Event>,
    pub(super) root: std::path::PathBuf,
}

impl StartWatch {
    /// Reports a start that did not spawn: cancelled, or failed with the job's last error.
    pub(super) fn report(&self, spec: &InstanceSpec, generation: u64, spawns_before: u64) {
        if self.spawns.load(Ordering::SeqCst) != spawns_before {
            return;
        }
        let key = InstanceKey::of(spec);
        let event = if self.cancelled.load(Ordering::SeqCst) {
            Event::StartCancelled { key, generation }
        } else {
            let error = self.last_error.lock().ok().and_then(|mut slot| slot.take());
            let error = match error {
                Some(error) => preflight::spawn_error(spec, &self.root, &error),
                None => "unknown error".to_owned(),
            };
            Event::SpawnFailed {
                key,
                generation,
                error,
            }
        };
        let _ = self.events.send(event);
    }
}
