//! [`StartOrder`]: the outcomes of starts that spawn in parallel, put back in the order the
//! starts were asked for.
//!
//! Two starts spawn at once (each on a thread of its own, see [`super::START_WINDOW`]), so the
//! second may finish first. What a start's outcome makes visible (its `started with pid` line,
//! the pumps that print its output after that line, the [`Spawned`](super::Event::Spawned) or
//! failure event the fleet acts on) waits here until every earlier start's outcome has been
//! let out: the output and the events stay in manifest order, whatever the spawns' timing.
//!
//! The decision is kept apart from its effects: [`StartOrder::finished`] only says which
//! outcomes may go now; the caller runs them, in that order.

use std::collections::BTreeMap;

/// Tickets in the order starts began, and the outcomes that arrived ahead of their turn.
#[derive(Debug)]
pub(super) struct StartOrder<T> {
    /// The ticket the next start gets.
    next_ticket: u64,
    /// The ticket whose outcome goes next.
    next_out: u64,
    /// Outcomes that arrived before an earlier one, by ticket.
    waiting: BTreeMap<u64, T>,
}

impl<T> Default for StartOrder<T> {
    fn default() -> Self {
        Self {
            next_ticket: 0,
            next_out: 0,
            waiting: BTreeMap::new(),
        }
    }
}

impl<T> StartOrder<T> {
    /// The ticket of a start that begins now. Every ticket must come back once through
    /// [`finished`](Self::finished), or the outcomes after it wait forever.
    pub(super) fn begin(&mut self) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        ticket
    }

    /// The start of `ticket` has its outcome: gives the outcomes that may go now, in order
    /// (none while an earlier start is still spawning).
    pub(super) fn finished(&mut self, ticket: u64, outcome: T) -> Vec<T> {
        self.waiting.insert(ticket, outcome);
        let mut ready = Vec::new();
        while let Some(outcome) = self.waiting.remove(&self.next_out) {
            ready.push(outcome);
            self.next_out += 1;
        }
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_in_turn_goes_at_once() {
        let mut order = StartOrder::default();
        let a = order.begin();
        assert_eq!(order.finished(a, "a"), vec!["a"]);
        let b = order.begin();
        assert_eq!(order.finished(b, "b"), vec!["b"]);
    }

    #[test]
    fn a_later_outcome_waits_for_the_earlier_ones() {
        let mut order = StartOrder::default();
        let a = order.begin();
        let b = order.begin();
        let c = order.begin();
        assert_eq!(order.finished(c, "c"), Vec::<&str>::new());
        assert_eq!(order.finished(b, "b"), Vec::<&str>::new());
        assert_eq!(order.finished(a, "a"), vec!["a", "b", "c"]);
    }

    #[test]
    fn outcomes_go_out_as_soon_as_the_gap_before_them_closes() {
        let mut order = StartOrder::default();
        let tickets: Vec<u64> = (0..4).map(|_| order.begin()).collect();
        assert!(order.finished(tickets[1], 1).is_empty());
        assert_eq!(order.finished(tickets[0], 0), vec![0, 1]);
        assert!(order.finished(tickets[3], 3).is_empty());
        assert_eq!(order.finished(tickets[2], 2), vec![2, 3]);
        let next = order.begin();
        assert_eq!(order.finished(next, 4), vec![4]);
    }
}
