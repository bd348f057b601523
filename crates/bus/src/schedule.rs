//! The timetable of delayed messages, without a clock or a task of its own.
//!
//! The bus's single timer task pushes entries in, asks for the next deadline to sleep until and
//! pops what is due. Keeping it free of I/O lets the ordering rules (earliest deadline first,
//! ties in the order sent) be tested with plain instants.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use tokio::time::Instant;

struct Entry<T> {
    at: Instant,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    // Reversed so that the max-heap pops the earliest deadline, then the lowest sequence.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Items ordered by deadline, ties broken by insertion order.
pub(crate) struct Schedule<T> {
    heap: BinaryHeap<Entry<T>>,
    next_seq: u64,
}

impl<T> Default for Schedule<T> {
    fn default() -> Self {
        Schedule {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<T> Schedule<T> {
    /// Adds `item`, due at `at`.
    pub(crate) fn push(&mut self, at: Instant, item: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { at, seq, item });
    }

    /// The earliest deadline, if anything is scheduled.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|entry| entry.at)
    }

    /// The earliest item if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<T> {
        if self.heap.peek()?.at <= now {
            self.heap.pop().map(|entry| entry.item)
        } else {
            None
        }
    }

    /// How many items are waiting.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Forgets every item.
    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_earliest_first_and_ties_in_insertion_order() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut schedule = Schedule::default();
        schedule.push(ms(300), "300");
        schedule.push(ms(100), "100-a");
        schedule.push(ms(200), "200");
        schedule.push(ms(100), "100-b");
        assert_eq!(schedule.next_deadline(), Some(ms(100)));
        assert_eq!(schedule.pop_due(ms(99)), None);
        let mut fired = Vec::new();
        while let Some(item) = schedule.pop_due(ms(250)) {
            fired.push(item);
        }
        assert_eq!(fired, ["100-a", "100-b", "200"]);
        assert_eq!(schedule.len(), 1);
        assert_eq!(schedule.next_deadline(), Some(ms(300)));
        assert_eq!(schedule.pop_due(ms(300)), Some("300"));
        assert_eq!(schedule.next_deadline(), None);
    }
}
