//! The relay's control surface shared by the bus handlers and the ng protocol: the session
//! table and the forwarder behind one lock (control messages are rare next to packets, which
//! never take it), plus the event outbox and the draining switch.

use crate::forward::{Counters, Forwarder};
use crate::sdp::Rewrite;
use crate::session::{SessionInfo, Table, TableEvent};
use parking_lot::Mutex;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use voxbin_core::{Error, Result};

/// Per-request SDP handling (ng flags; the bus takes the same as booleans).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    /// Replace the `o=` address too.
    pub replace_origin: bool,
    /// Keep ICE attributes (ng `ICE: force`/`default` is not offered: we remove unless asked).
    pub keep_ice: bool,
}

struct Inner {
    table: Table,
    plane: Forwarder,
}

/// What both control protocols call.
pub struct Control {
    inner: Mutex<Inner>,
    advertise: IpAddr,
    timeout: Duration,
    events: UnboundedSender<TableEvent>,
    counters: Arc<Counters>,
    draining: AtomicBool,
}

impl Control {
    /// Control over `plane`, writing `advertise` into SDP and sending events to `events`.
    pub fn new(
        plane: Forwarder,
        advertise: IpAddr,
        timeout: Duration,
        events: UnboundedSender<TableEvent>,
    ) -> Self {
        Control {
            counters: plane.counters(),
            inner: Mutex::new(Inner {
                table: Table::new(),
                plane,
            }),
            advertise,
            timeout,
            events,
            draining: AtomicBool::new(false),
        }
    }

    fn rewrite(&self, flags: Flags) -> Rewrite {
        Rewrite {
            ip: self.advertise,
            replace_origin: flags.replace_origin,
            remove_ice: !flags.keep_ice,
        }
    }

    fn flush(&self, inner: &mut Inner) {
        for e in inner.table.take_events() {
            let _ = self.events.send(e);
        }
    }

    /// Handles an offer; answers the SDP to forward.
    pub fn offer(&self, call_id: &str, from_tag: &str, sdp: &str, flags: Flags) -> Result<String> {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        if self.draining.load(Ordering::Relaxed)
            && inner
                .table
                .query(&inner.plane, call_id, Duration::ZERO)
                .is_err()
        {
            return Err(Error::unavailable(
                "DRAINING",
                "the relay is shutting down and takes no new calls",
            ));
        }
        let now = inner.plane.now();
        let r = inner.table.offer(
            &mut inner.plane,
            call_id,
            from_tag,
            sdp,
            self.rewrite(flags),
            now,
        );
        self.flush(inner);
        r
    }

    /// Handles an answer; answers the SDP to forward.
    pub fn answer(
        &self,
        call_id: &str,
        from_tag: &str,
        to_tag: &str,
        sdp: &str,
        flags: Flags,
    ) -> Result<String> {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        let now = inner.plane.now();
        let r = inner.table.answer(
            &mut inner.plane,
            call_id,
            from_tag,
            to_tag,
            sdp,
            self.rewrite(flags),
            now,
        );
        self.flush(inner);
        r
    }

    /// Ends a session.
    pub fn delete(&self, call_id: &str) -> Result<SessionInfo> {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        let now = inner.plane.now();
        let r = inner.table.delete(&mut inner.plane, call_id, now);
        self.flush(inner);
        r
    }

    /// A session with its counters.
    pub fn query(&self, call_id: &str) -> Result<SessionInfo> {
        let inner = self.inner.lock();
        inner.table.query(&inner.plane, call_id, inner.plane.now())
    }

    /// Every session with its counters.
    pub fn list(&self) -> Vec<SessionInfo> {
        let inner = self.inner.lock();
        let now = inner.plane.now();
        inner
            .table
            .call_ids()
            .iter()
            .filter_map(|c| inner.table.query(&inner.plane, c, now).ok())
            .collect()
    }

    /// Call-ids of every session.
    pub fn call_ids(&self) -> Vec<String> {
        self.inner.lock().table.call_ids()
    }

    /// Deletes idle sessions; answers how many.
    pub fn expire(&self) -> usize {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        let now = inner.plane.now();
        let n = inner.table.expire(&mut inner.plane, now, self.timeout);
        self.flush(inner);
        n
    }

    /// Sessions held.
    pub fn sessions(&self) -> usize {
        self.inner.lock().table.len()
    }

    /// Datagram totals.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Refuses new calls from now on; sessions in progress keep their media.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Whether [`Control::drain`] was called.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Ends every session (the end of the grace period).
    pub fn clear(&self) {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        let now = inner.plane.now();
        inner.table.clear(&mut inner.plane, now);
        self.flush(inner);
    }
}
