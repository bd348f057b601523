//! The data plane: worker threads that forward datagrams between the sockets of relayed
//! streams, deciding per datagram with [`voxbin_media::relay::Relay`]. The [`Forwarder`] binds
//! the sockets and hands streams to workers round-robin; it is the table's [`DataPlane`].

mod mmsg;
mod worker;

pub use mmsg::{from_storage, to_storage, Batch, BATCH, MAX_DATAGRAM};

use crate::session::{DataPlane, PortPool, StreamId};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use voxbin_core::{Error, Result};
use voxbin_media::relay::{Relay, Side, SideStats};
use worker::{Cmd, Wake};

/// Port pairs tried before an offer fails for want of ports.
const BIND_ATTEMPTS: usize = 64;

/// Totals over all streams, for `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Datagrams forwarded.
    pub forwarded: AtomicU64,
    /// Datagrams dropped (not RTP, wrong source, no destination, send failure).
    pub dropped: AtomicU64,
}

/// A relayed stream's sockets (A RTP, A RTCP, B RTP, B RTCP) and forwarding state.
pub struct Stream {
    id: StreamId,
    sockets: [UdpSocket; 4],
    relay: Mutex<Relay>,
}

struct WorkerHandle {
    tx: Sender<Cmd>,
    wake: Arc<Wake>,
    thread: Option<JoinHandle<()>>,
}

struct Open {
    stream: Arc<Stream>,
    worker: usize,
    ports: (u16, u16),
}

/// Binds streams and runs the forwarding threads.
pub struct Forwarder {
    ip: IpAddr,
    pool: PortPool,
    streams: HashMap<StreamId, Open>,
    workers: Vec<WorkerHandle>,
    next_worker: usize,
    counters: Arc<Counters>,
    epoch: Instant,
}

impl Forwarder {
    /// Starts `workers` forwarding threads for sockets on `ip` in `port_min..=port_max`.
    pub fn start(ip: IpAddr, port_min: u16, port_max: u16, workers: usize) -> Result<Forwarder> {
        let counters = Arc::new(Counters::default());
        let epoch = Instant::now();
        let mut handles = Vec::new();
        for n in 0..workers.max(1) {
            let wake = Arc::new(Wake::new().map_err(|e| Error::internal(format!("eventfd: {e}")))?);
            let (tx, rx) = channel();
            let (w, c) = (wake.clone(), counters.clone());
            let thread = std::thread::Builder::new()
                .name(format!("rtp-relay-{n}"))
                .spawn(move || worker::run(rx, w, c, epoch))
                .map_err(|e| Error::internal(format!("could not start a relay thread: {e}")))?;
            handles.push(WorkerHandle {
                tx,
                wake,
                thread: Some(thread),
            });
        }
        Ok(Forwarder {
            ip,
            pool: PortPool::new(port_min, port_max),
            streams: HashMap::new(),
            workers: handles,
            next_worker: 0,
            counters,
            epoch,
        })
    }

    /// Time on the forwarder's clock (what the relay's activity times are measured in).
    pub fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// The shared totals.
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// Streams open.
    pub fn streams(&self) -> usize {
        self.streams.len()
    }

    fn bind_pair(&mut self) -> Option<(u16, UdpSocket, UdpSocket)> {
        for _ in 0..BIND_ATTEMPTS {
            let port = self.pool.take()?;
            let bind = |p: u16| {
                let s = UdpSocket::bind(SocketAddr::new(self.ip, p))?;
                s.set_nonblocking(true)?;
                Ok::<_, std::io::Error>(s)
            };
            match (bind(port), bind(port + 1)) {
                (Ok(rtp), Ok(rtcp)) => return Some((port, rtp, rtcp)),
                // taken by another process: leave it marked so we do not retry it soon
                _ => continue,
            }
        }
        None
    }

    fn release(&mut self, port: u16) {
        self.pool.give(port);
    }

    fn send(&self, worker: usize, cmd: Cmd) {
        if let Some(w) = self.workers.get(worker) {
            if w.tx.send(cmd).is_ok() {
                w.wake.wake();
            }
        }
    }
}

impl DataPlane for Forwarder {
    fn open(
        &mut self,
        id: StreamId,
        a: Option<SocketAddr>,
        b: Option<SocketAddr>,
    ) -> Result<(u16, u16)> {
        let no_ports = || Error::unavailable("NO_PORTS", "the relay has no free ports");
        let (a_port, a_rtp, a_rtcp) = self.bind_pair().ok_or_else(no_ports)?;
        let Some((b_port, b_rtp, b_rtcp)) = self.bind_pair() else {
            self.release(a_port);
            return Err(no_ports());
        };
        let stream = Arc::new(Stream {
            id,
            sockets: [a_rtp, a_rtcp, b_rtp, b_rtcp],
            relay: Mutex::new(Relay::new(a, b, true)),
        });
        let worker = self.next_worker % self.workers.len().max(1);
        self.next_worker = self.next_worker.wrapping_add(1);
        self.send(worker, Cmd::Add(stream.clone()));
        self.streams.insert(
            id,
            Open {
                stream,
                worker,
                ports: (a_port, b_port),
            },
        );
        Ok((a_port, b_port))
    }

    fn set_remote(&mut self, id: StreamId, side: Side, addr: Option<SocketAddr>) {
        if let Some(o) = self.streams.get(&id) {
            o.stream.relay.lock().set_remote(side, addr);
        }
    }

    fn close(&mut self, id: StreamId) {
        if let Some(o) = self.streams.remove(&id) {
            // the worker drops the sockets later: until then nothing may be relayed
            {
                let mut relay = o.stream.relay.lock();
                relay.set_remote(Side::A, None);
                relay.set_remote(Side::B, None);
            }
            self.send(o.worker, Cmd::Remove(id));
            self.release(o.ports.0);
            self.release(o.ports.1);
        }
    }

    fn activity(&self, id: StreamId) -> Option<Duration> {
        self.streams.get(&id)?.stream.relay.lock().last_activity()
    }

    fn stats(&self, id: StreamId) -> [(SideStats, Option<SocketAddr>); 2] {
        match self.streams.get(&id) {
            Some(o) => {
                let r = o.stream.relay.lock();
                [
                    (r.stats(Side::A), r.remote(Side::A)),
                    (r.stats(Side::B), r.remote(Side::B)),
                ]
            }
            None => Default::default(),
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        for w in &self.workers {
            if w.tx.send(Cmd::Stop).is_ok() {
                w.wake.wake();
            }
        }
        for w in &mut self.workers {
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}
