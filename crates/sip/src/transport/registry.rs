//! Open connections by (transport, remote address), so requests and responses to a peer
//! reuse the TCP, TLS or WebSocket connection it already has with us.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::mpsc;

use crate::target::Transport;

/// Handle for writing to one connection's task.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    pub id: u64,
    pub tx: mpsc::Sender<Vec<u8>>,
}

/// The table of live connections.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    next_id: AtomicU64,
    conns: Mutex<HashMap<(Transport, SocketAddr), ConnHandle>>,
}

impl Registry {
    /// Registers a connection; returns its handle and the receiving end for its writer.
    pub fn add(
        &self,
        transport: Transport,
        peer: SocketAddr,
    ) -> (ConnHandle, mpsc::Receiver<Vec<u8>>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(256);
        let handle = ConnHandle { id, tx };
        self.lock().insert((transport, peer), handle.clone());
        (handle, rx)
    }

    /// The connection to `peer`, if one is open.
    pub fn get(&self, transport: Transport, peer: SocketAddr) -> Option<ConnHandle> {
        self.lock().get(&(transport, peer)).cloned()
    }

    /// Forgets a connection, unless a newer one replaced it.
    pub fn remove(&self, transport: Transport, peer: SocketAddr, id: u64) {
        let mut map = self.lock();
        if map.get(&(transport, peer)).is_some_and(|c| c.id == id) {
            map.remove(&(transport, peer));
        }
    }

    /// Number of open connections.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// The map, recovering from a poisoned lock (the map stays consistent per operation).
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Transport, SocketAddr), ConnHandle>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }
}
