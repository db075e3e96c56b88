//! The table a single-threaded loop keeps its connections in, and the timer
//! heap that says when to look at each one again.
//!
//! `multiplexingio_server` (and so every loop of `percore_server`) and
//! `uring_server` use it alike: the loops differ in how they learn that a
//! socket can move (readiness against completion), not in how they find a
//! connection by its number or remember its deadline.
//!
//! A connection's number is its *slot*: what an epoll token or an io_uring
//! `user_data` carries. The slots of closed connections are reused, so
//! steady traffic allocates nothing here and the numbers stay small.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Connections by slot, each with the deadline by which a timer looks at
/// it again.
pub struct Slots<C> {
    entries: Vec<Option<Entry<C>>>,
    free: Vec<usize>,
    /// Deadlines, nearest first: `(when, slot)`. Entries are not removed
    /// when a plan changes or a connection closes; one that is not its
    /// slot's current deadline is stale, and skipped when it comes due. (One
    /// left by a closed connection that matches the slot's next tenant's
    /// deadline to the nanosecond would only make that connection look at
    /// its deadline early, and ask again.)
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
}

struct Entry<C> {
    conn: C,
    /// The deadline of this connection's live entry in the timer heap.
    timer: Option<Instant>,
}

impl<C> Default for Slots<C> {
    fn default() -> Self {
        Slots {
            entries: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
        }
    }
}

impl<C> Slots<C> {
    /// The slot the next [`Slots::insert`] will use (an epoll registration
    /// needs it before the connection is stored).
    pub fn next_slot(&self) -> usize {
        self.free.last().copied().unwrap_or(self.entries.len())
    }

    /// Stores a connection, with no timer yet, and returns its slot.
    pub fn insert(&mut self, conn: C) -> usize {
        let entry = Some(Entry { conn, timer: None });
        match self.free.pop() {
            Some(slot) => {
                self.entries[slot] = entry;
                slot
            }
            None => {
                self.entries.push(entry);
                self.entries.len() - 1
            }
        }
    }

    pub fn get_mut(&mut self, slot: usize) -> Option<&mut C> {
        Some(&mut self.entries.get_mut(slot)?.as_mut()?.conn)
    }

    /// Drops the connection in `slot` (which closes its socket), if any.
    pub fn remove(&mut self, slot: usize) {
        if self.entries.get_mut(slot).and_then(Option::take).is_some() {
            self.free.push(slot);
        }
    }

    /// How many connections are open.
    pub fn live(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// Makes sure a timer looks at the connection in `slot` by `deadline`.
    ///
    /// An entry already due earlier is enough: when it fires the connection
    /// is served, finds its deadline not reached yet, and asks again. So a
    /// busy keep-alive connection, whose idle deadline moves later with every
    /// request, pushes nothing; only a deadline that moves earlier (a
    /// `/sleep`, a request arriving in pieces) adds an entry.
    pub fn wake_by(&mut self, slot: usize, deadline: Instant) {
        let Some(entry) = self.entries.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if entry.timer.is_some_and(|at| at <= deadline) {
            return;
        }
        entry.timer = Some(deadline);
        self.timers.push(Reverse((deadline, slot)));
        // Stale entries are dropped when they come due; if many pile up (a
        // client calling `/sleep` over and over leaves its old idle-timeout
        // entry behind each time), sweep them out so memory stays bounded.
        // After a sweep the heap holds at most one entry per connection, so
        // sweeps are rare: at most one per `live() + 64` pushes.
        if self.timers.len() > 2 * self.live() + 64 {
            let entries = &self.entries;
            self.timers
                .retain(|&Reverse((when, slot))| is_live(entries, slot, when));
        }
    }

    /// The nearest deadline of any connection: how long the loop may sleep.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        // A stale entry on top would wake the loop for nothing: drop it first.
        while let Some(&Reverse((when, slot))) = self.timers.peek() {
            if is_live(&self.entries, slot, when) {
                return Some(when);
            }
            self.timers.pop();
        }
        None
    }

    /// A connection whose deadline has come by `now`, if there is one. Its
    /// timer is spent: serving it sets the next one with [`Slots::wake_by`].
    pub fn next_due(&mut self, now: Instant) -> Option<usize> {
        while let Some(&Reverse((when, slot))) = self.timers.peek() {
            if when > now {
                return None;
            }
            self.timers.pop();
            let entry = self.entries.get_mut(slot).and_then(Option::as_mut);
            if let Some(entry) = entry.filter(|entry| entry.timer == Some(when)) {
                entry.timer = None;
                return Some(slot);
            }
        }
        None
    }
}

/// Whether a timer entry `(when, slot)` is still its connection's current
/// deadline.
fn is_live<C>(entries: &[Option<Entry<C>>], slot: usize, when: Instant) -> bool {
    entries
        .get(slot)
        .and_then(Option::as_ref)
        .is_some_and(|entry| entry.timer == Some(when))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn slots_of_closed_connections_are_reused() {
        let mut slots = Slots::default();
        assert_eq!(slots.insert('a'), 0);
        assert_eq!(slots.insert('b'), 1);
        slots.remove(0);
        assert_eq!(slots.live(), 1);
        assert_eq!(slots.next_slot(), 0);
        assert_eq!(slots.insert('c'), 0);
        assert_eq!(slots.get_mut(0), Some(&mut 'c'));
        assert_eq!(slots.next_slot(), 2);
    }

    #[test]
    fn a_later_deadline_pushes_nothing_and_an_earlier_one_wins() {
        let t0 = Instant::now();
        let mut slots = Slots::default();
        let slot = slots.insert(());
        slots.wake_by(slot, t0 + Duration::from_secs(5));
        slots.wake_by(slot, t0 + Duration::from_secs(9));
        assert_eq!(slots.timers.len(), 1);
        slots.wake_by(slot, t0 + Duration::from_secs(1));
        assert_eq!(slots.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(slots.next_due(t0), None);
        assert_eq!(slots.next_due(t0 + Duration::from_secs(1)), Some(slot));
        // The 5 s entry is stale now: it wakes nobody.
        assert_eq!(slots.next_deadline(), None);
        assert_eq!(slots.next_due(t0 + Duration::from_secs(10)), None);
    }

    #[test]
    fn a_closed_connection_timer_wakes_nobody() {
        let t0 = Instant::now();
        let mut slots = Slots::default();
        let slot = slots.insert(());
        slots.wake_by(slot, t0);
        slots.remove(slot);
        assert_eq!(slots.next_due(t0), None);
        // Its slot's next tenant starts with no timer.
        let again = slots.insert(());
        assert_eq!(again, slot);
        assert_eq!(slots.next_deadline(), None);
    }

    #[test]
    fn stale_entries_are_swept_before_they_pile_up() {
        let t0 = Instant::now();
        let mut slots = Slots::default();
        let slot = slots.insert(());
        // A client that keeps moving its deadline earlier, as `/sleep` can.
        for i in 0..10_000u64 {
            slots.wake_by(slot, t0 + Duration::from_secs(100_000 - i));
        }
        assert!(slots.timers.len() <= 2 * slots.live() + 64);
    }
}
