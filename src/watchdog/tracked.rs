//! [`Tracked`]: the process groups and cgroups a watchdog must kill if procmux dies.
//!
//! Both sides keep one: the watchdog process builds it from the messages it reads, and
//! procmux's handle keeps its own copy so that a replacement watchdog can be told everything
//! at once ([`Tracked::messages`]). Pure data: applying a message has no side effect.

use std::collections::BTreeSet;

use super::protocol::{CgroupPath, Message, Pgid};

/// What is tracked now: every `group` and `cgroup` not forgotten since.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tracked {
    groups: BTreeSet<Pgid>,
    cgroups: BTreeSet<CgroupPath>,
}

impl Tracked {
    /// Records one message ([`Message::Bye`] changes nothing: it is not about what to kill).
    pub fn apply(&mut self, message: &Message) {
        match message {
            Message::Group(pgid) => {
                self.groups.insert(*pgid);
            }
            Message::Forget(pgid) => {
                self.groups.remove(pgid);
            }
            Message::Cgroup(path) => {
                self.cgroups.insert(path.clone());
            }
            Message::ForgetCgroup(path) => {
                self.cgroups.remove(path);
            }
            Message::Bye => {}
        }
    }

    /// The tracked process groups, in id order.
    pub fn groups(&self) -> impl Iterator<Item = Pgid> + '_ {
        self.groups.iter().copied()
    }

    /// The tracked cgroups, in path order (a parent before its descendants).
    pub fn cgroups(&self) -> impl Iterator<Item = &CgroupPath> + '_ {
        self.cgroups.iter()
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.cgroups.is_empty()
    }

    /// The messages that tell a fresh watchdog all of this.
    pub fn messages(&self) -> impl Iterator<Item = Message> + '_ {
        self.groups()
            .map(Message::Group)
            .chain(self.cgroups().cloned().map(Message::Cgroup))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn pgid(raw: u32) -> Pgid {
        Pgid::new(raw).expect("valid")
    }

    fn cgroup(path: &str) -> CgroupPath {
        CgroupPath::new(Path::new(path)).expect("valid")
    }

    #[test]
    fn forgetting_undoes_tracking_and_bye_changes_nothing() {
        let mut tracked = Tracked::default();
        for message in [
            Message::Group(pgid(10)),
            Message::Group(pgid(11)),
            Message::Cgroup(cgroup("/cg/a")),
            Message::Cgroup(cgroup("/cg/b")),
            Message::Forget(pgid(10)),
            Message::ForgetCgroup(cgroup("/cg/a")),
            Message::Bye,
            // Forgetting what was never tracked is harmless.
            Message::Forget(pgid(99)),
        ] {
            tracked.apply(&message);
        }
        assert_eq!(tracked.groups().collect::<Vec<_>>(), [pgid(11)]);
        assert_eq!(tracked.cgroups().collect::<Vec<_>>(), [&cgroup("/cg/b")]);
        assert!(!tracked.is_empty());
    }

    #[test]
    fn replaying_the_messages_rebuilds_the_same_set() {
        let mut tracked = Tracked::default();
        tracked.apply(&Message::Group(pgid(7)));
        tracked.apply(&Message::Group(pgid(3)));
        tracked.apply(&Message::Cgroup(cgroup("/cg/x")));
        let mut replayed = Tracked::default();
        for message in tracked.messages() {
            replayed.apply(&message);
        }
        assert_eq!(replayed, tracked);
        assert!(Tracked::default().is_empty());
    }
}
