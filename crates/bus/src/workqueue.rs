//! A bounded in-memory queue that several workers pull from: the in-process stand-in for a
//! durable broker queue with competing consumers.
//!
//! Items wait here while no worker is free or none exists, so a subscriber that restarts its
//! consumer does not miss what was published meanwhile.

use parking_lot::Mutex;
use std::collections::VecDeque;
use tokio::sync::Notify;

pub(crate) struct WorkQueue<T> {
    items: Mutex<VecDeque<T>>,
    ready: Notify,
    capacity: usize,
}

impl<T> WorkQueue<T> {
    /// An empty queue holding at most `capacity` items.
    pub(crate) fn new(capacity: usize) -> Self {
        WorkQueue {
            items: Mutex::new(VecDeque::new()),
            ready: Notify::new(),
            capacity,
        }
    }

    /// Appends `item`; when full, drops and returns the oldest item to make room.
    pub(crate) fn push(&self, item: T) -> Option<T> {
        let dropped = {
            let mut items = self.items.lock();
            let dropped = if items.len() >= self.capacity.max(1) {
                items.pop_front()
            } else {
                None
            };
            items.push_back(item);
            dropped
        };
        self.ready.notify_one();
        dropped
    }

    /// Waits for and takes the oldest item.
    pub(crate) async fn pop(&self) -> T {
        loop {
            let notified = self.ready.notified();
            tokio::pin!(notified);
            // Register interest before looking, so a push between the look and the wait wakes us.
            notified.as_mut().enable();
            if let Some(item) = self.items.lock().pop_front() {
                return item;
            }
            notified.await;
        }
    }

    /// Moves up to `most` waiting items, oldest first, into `out` without waiting.
    pub(crate) fn take_ready(&self, most: usize, out: &mut Vec<T>) {
        let mut items = self.items.lock();
        let n = most.min(items.len());
        out.extend(items.drain(..n));
    }

    /// Passes a wake-up on; a worker that leaves calls this in case it swallowed one.
    pub(crate) fn pass_on(&self) {
        if !self.items.lock().is_empty() {
            self.ready.notify_one();
        }
    }

    /// How many items are waiting.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_order_and_drops_oldest_when_full() {
        let queue = WorkQueue::new(2);
        assert_eq!(queue.push(1), None);
        assert_eq!(queue.push(2), None);
        assert_eq!(queue.push(3), Some(1));
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.pop().await, 2);
        assert_eq!(queue.pop().await, 3);
    }

    #[test]
    fn take_ready_moves_at_most_what_waits() {
        let queue = WorkQueue::new(10);
        for n in 1..=3 {
            queue.push(n);
        }
        let mut out = vec![0];
        queue.take_ready(2, &mut out);
        assert_eq!(out, vec![0, 1, 2]);
        queue.take_ready(5, &mut out);
        assert_eq!(out, vec![0, 1, 2, 3]);
        assert_eq!(queue.len(), 0);
    }
}
