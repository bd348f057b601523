//! The edge's loop on a thread of its own, reading its UDP socket with plain blocking calls.
//!
//! Nearly all SIP traffic of the edge is UDP. One blocking `recvmmsg` takes every datagram
//! waiting (no readiness poll, no extra read that finds the socket empty, no future machinery
//! per datagram), and what they caused goes out in one `sendmmsg` once all are handled.
//! Everything else (TCP/TLS/WS messages, job results, media
//! node announcements, resolved names, the start of a drain) arrives on a channel as a
//! [`Wake`], and its sender nudges the loop with a one-byte datagram from a socket of its own
//! (see [`Nudger`]), so the loop never waits on two things at once. Reads time out every
//! [`TICK`] so that timers are served on an idle socket. Under load the loop waits a moment
//! before reading again so that each read takes several datagrams ([`crate::coalesce`]).
//! Sends over TCP, TLS and WebSocket go, in order, through one task of the process's runtime.

use crate::auth::{Authenticator, Kind};
use crate::coalesce::Coalescer;
use crate::medianode::MediaNodeAnnouncement;
use crate::metrics::edge_metrics;
use crate::proxy::core::{Claim, EdgeCore, Input, Job, JobResult, Output};
use crate::registrar::Registrar;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc as tmpsc;
use voxbin_sip::transport::mmsg::{RecvBatch, SendBatch, RECV_BATCH};
use voxbin_sip::{Incoming, Message, ParseError, SipTransport, Target, Transport};

/// Longest wait on the socket before timers are looked at (SIP timers are 500 ms and up).
pub const TICK: Duration = Duration::from_millis(10);

/// How often the registrations gauge is refreshed and media node names are resolved again.
const HOUSEKEEPING: Duration = Duration::from_secs(5);

/// How long a draining edge keeps answering (503 to new requests, in-dialog ones routed) so
/// that peers and load balancers see the drain before it goes quiet.
const DRAIN_LINGER: Duration = Duration::from_secs(2);

/// Something for the loop other than a UDP datagram.
#[derive(Debug)]
pub enum Wake {
    /// What the TCP/TLS/WS transports received; `None` once they stopped.
    Stream(Option<Incoming>),
    /// A job finished.
    Job(JobResult),
    /// A media node announced itself.
    Node(MediaNodeAnnouncement),
    /// A media node's name resolved.
    Resolved(usize, SocketAddr),
    /// A send over a stream transport failed.
    SendFailed(Target),
    /// Shutdown began.
    Drain,
}

/// Hands [`Wake`]s to the loop and nudges it out of its blocking read.
#[derive(Clone)]
pub struct Nudger {
    tx: Sender<Wake>,
    socket: Arc<UdpSocket>,
    to: SocketAddr,
    pending: Arc<AtomicBool>,
}

impl Nudger {
    /// A nudger for a loop reading `to`, with the receiving end of its channel; the socket it
    /// nudges from is bound on the same address family and host as `to` (loopback for a
    /// wildcard).
    pub fn new(to: SocketAddr) -> io::Result<(Nudger, Receiver<Wake>)> {
        let to = if to.ip().is_unspecified() {
            match to {
                SocketAddr::V4(a) => SocketAddr::from(([127, 0, 0, 1], a.port())),
                SocketAddr::V6(a) => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, a.port())),
            }
        } else {
            to
        };
        let socket = UdpSocket::bind(SocketAddr::new(to.ip(), 0))?;
        let (tx, rx) = std::sync::mpsc::channel();
        let nudger = Nudger {
            tx,
            socket: Arc::new(socket),
            to,
            pending: Arc::new(AtomicBool::new(false)),
        };
        Ok((nudger, rx))
    }

    /// The address nudges come from (the loop ignores datagrams from it).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Queues `wake` and nudges the loop unless a nudge is already on its way.
    pub fn send(&self, wake: Wake) {
        if self.tx.send(wake).is_err() {
            return;
        }
        if !self.pending.swap(true, Ordering::AcqRel) {
            let _ = self.socket.send_to(&[0], self.to);
        }
    }

    /// Called by the loop on a nudge, before it drains the channel.
    fn nudged(&self) {
        self.pending.store(false, Ordering::Release);
    }
}

/// An answer or request for a stream transport, sent in order by one task.
enum Outgoing {
    Message(Target, Message),
    Bytes(Target, Vec<u8>),
}

/// What the loop runs with.
pub struct Driver {
    /// The sans-IO core.
    pub core: EdgeCore,
    /// The edge's UDP socket (blocking; its read timeout is set here).
    pub udp: UdpSocket,
    /// TCP, TLS and WebSocket.
    pub transport: SipTransport,
    /// REGISTER jobs.
    pub registrar: Registrar,
    /// Credential check jobs.
    pub auth: Authenticator,
    /// The process's runtime, where jobs, name lookups and stream sends run.
    pub jobs: tokio::runtime::Handle,
    /// The loop's channel and nudges.
    pub nudger: Nudger,
    /// The receiving end of the nudger's channel.
    pub wakes: Receiver<Wake>,
    /// Longest wait after a busy read (`sip.udp_coalesce_us`).
    pub coalesce: Duration,
}

/// The loop's working state.
struct Running {
    d: Driver,
    sends: Box<SendBatch>,
    /// Destinations the kernel refused a datagram for, not yet told to the core.
    refused: Vec<Target>,
    pending_jobs: Vec<Job>,
    stream_out: tmpsc::UnboundedSender<Outgoing>,
    nudge_from: Option<SocketAddr>,
    jobs_running: usize,
}

impl Driver {
    /// Runs until the edge drained (or the transports stopped); blocks the calling thread.
    pub fn run(self) {
        if let Err(e) = self.udp.set_read_timeout(Some(TICK)) {
            tracing::error!(error = %e, "sip-edge: UDP socket unusable");
            return;
        }
        let (stream_out, stream_rx) = tmpsc::unbounded_channel();
        self.jobs.spawn(send_streams(
            self.transport.clone(),
            stream_rx,
            self.nudger.clone(),
        ));
        let nudge_from = self.nudger.local_addr().ok();
        let mut r = Running {
            d: self,
            sends: SendBatch::new(),
            refused: Vec::new(),
            pending_jobs: Vec::new(),
            stream_out,
            nudge_from,
            jobs_running: 0,
        };
        r.run();
    }
}

impl Running {
    fn run(&mut self) {
        let mut draining = false;
        let mut linger_until: Option<Instant> = None;
        let mut housekeeping = Instant::now();
        // The first tick sends the first health checks; later ones follow their deadlines.
        self.d.core.handle(Input::Tick, Instant::now());
        let mut received = RecvBatch::new();
        let mut coalescer = Coalescer::new(self.d.coalesce, Instant::now());
        let fd = self.d.udp.as_raw_fd();
        loop {
            // 0 on a timeout, or on ICMP news of an earlier send: nothing to read now.
            let n = received.recv(fd, true);
            for i in 0..n {
                match received.get(i) {
                    (Some(from), _) if Some(from) == self.nudge_from => self.d.nudger.nudged(),
                    (Some(from), bytes) => self.datagram(bytes, from),
                    (None, _) => {}
                }
            }
            while let Ok(wake) = self.d.wakes.try_recv() {
                match wake {
                    Wake::Stream(Some(Incoming::Message { msg, from, .. })) => {
                        self.d
                            .core
                            .handle(Input::Received { msg, from }, Instant::now());
                    }
                    Wake::Stream(Some(Incoming::Malformed { error, from, raw })) => {
                        tracing::debug!(%from, %error, "malformed SIP");
                        self.malformed(from, raw.as_deref(), &error);
                    }
                    Wake::Stream(None) => return self.stop(),
                    Wake::Job(done) => {
                        self.jobs_running = self.jobs_running.saturating_sub(1);
                        self.d.core.handle(Input::JobDone(done), Instant::now());
                    }
                    Wake::Node(a) => self.d.core.handle(Input::MediaNode(a), Instant::now()),
                    Wake::Resolved(node, addr) => self.d.core.dispatcher_mut().set_addr(node, addr),
                    Wake::SendFailed(target) => self
                        .d
                        .core
                        .handle(Input::SendFailed(target), Instant::now()),
                    Wake::Drain if !draining => {
                        draining = true;
                        linger_until = Some(Instant::now() + DRAIN_LINGER);
                        self.d.core.handle(Input::Drain, Instant::now());
                    }
                    Wake::Drain => {}
                }
            }
            let now = Instant::now();
            if self.d.core.next_timeout().is_some_and(|at| at <= now) {
                self.d.core.handle(Input::Tick, now);
            }
            if now >= housekeeping {
                housekeeping = now + HOUSEKEEPING;
                let active = self.d.registrar.active(unix_now());
                edge_metrics().registrations.set(&[], active as i64);
                self.resolve_names();
            }
            if linger_until.is_some_and(|t| t <= now) {
                linger_until = None;
            }
            self.flush();
            if draining
                && linger_until.is_none()
                && self.jobs_running == 0
                && self.d.core.unanswered() == 0
            {
                tracing::info!("sip-edge drained");
                return self.stop();
            }
            let wait = coalescer.after_read(n, n == RECV_BATCH, now);
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
        }
    }

    fn stop(&mut self) {
        self.d.transport.shutdown();
    }

    /// Handles one received datagram and queues what it caused.
    fn datagram(&mut self, bytes: &[u8], from: SocketAddr) {
        match crate::udp::decode(bytes, from) {
            crate::udp::Datagram::Sip(msg) => {
                let from = Target::new(Transport::Udp, from);
                self.d
                    .core
                    .handle(Input::Received { msg, from }, Instant::now());
            }
            crate::udp::Datagram::KeepAlive => {}
            crate::udp::Datagram::Malformed(error) => {
                let from = Target::new(Transport::Udp, from);
                self.malformed(from, Some(bytes), &error);
            }
        }
        // Jobs cannot start from here; they are picked up by the next flush.
        self.send_ready();
    }

    /// Answers a request that did not parse with a 400 when its source is within its limits
    /// (a flood of garbage is dropped, not answered) and its head still names the transaction.
    /// The answer goes to the source (RFC 3581 style, as the Via may lie), over UDP or the
    /// connection it came on.
    fn malformed(&mut self, from: Target, raw: Option<&[u8]>, error: &ParseError) {
        edge_metrics().dropped.inc(&["malformed"]);
        if !self.d.core.admit_malformed(from, Instant::now()) {
            return;
        }
        let Some(reply) = raw.and_then(|raw| crate::udp::bad_request(raw, error)) else {
            return;
        };
        if from.transport == Transport::Udp {
            self.queue_udp(from.addr, |out| out.extend_from_slice(&reply));
        } else {
            let _ = self.stream_out.send(Outgoing::Bytes(from, reply));
        }
    }

    /// Sends what the core has ready to send, leaving jobs queued.
    fn send_ready(&mut self) {
        while let Some(out) = self.d.core.poll() {
            match out {
                Output::Send { target, msg } => self.send(target, msg),
                Output::Job(job) => self.pending_jobs.push(job),
            }
        }
    }

    /// Carries out every output of the core, jobs included, and sends the queued datagrams.
    fn flush(&mut self) {
        self.send_ready();
        for job in std::mem::take(&mut self.pending_jobs) {
            self.jobs_running += 1;
            self.spawn_job(job);
        }
        self.send_queued();
    }

    /// Sends the queued datagrams; a refused one is reported to the core, whose answers to
    /// that go out too.
    fn send_queued(&mut self) {
        loop {
            self.send_socket();
            let refused = std::mem::take(&mut self.refused);
            if refused.is_empty() {
                return;
            }
            for target in refused {
                self.d
                    .core
                    .handle(Input::SendFailed(target), Instant::now());
            }
            self.send_ready();
        }
    }

    /// Sends what is queued, nothing more; refusals wait in `refused` for the core.
    fn send_socket(&mut self) {
        let refused = &mut self.refused;
        self.sends.flush(self.d.udp.as_raw_fd(), |to, e| {
            tracing::debug!(target = %to, error = %e, "SIP send failed");
            refused.push(Target::new(Transport::Udp, to));
        });
    }

    /// Queues a datagram, sending the full queue first (without asking the core for more, so
    /// datagrams leave in the order the core made them).
    fn queue_udp(&mut self, to: SocketAddr, write: impl Fn(&mut Vec<u8>)) {
        if !self.sends.queue(to, &write) {
            self.send_socket();
            self.sends.queue(to, &write);
        }
    }

    fn send(&mut self, target: Target, msg: Message) {
        if target.transport != Transport::Udp {
            let _ = self.stream_out.send(Outgoing::Message(target, msg));
            return;
        }
        self.queue_udp(target.addr, |out| msg.write_to(out));
    }

    fn spawn_job(&self, job: Job) {
        let registrar = self.d.registrar.clone();
        let auth = self.d.auth.clone();
        let done = self.d.nudger.clone();
        self.d.jobs.spawn(async move {
            let result = match job {
                Job::Register { key, req, source } => {
                    let r = registrar.handle(&req, source, unix_now()).await;
                    let active = registrar.active(unix_now());
                    edge_metrics().registrations.set(&[], active as i64);
                    JobResult::Registered {
                        key,
                        response: r.response,
                        source: source.addr.ip(),
                        failed_attempt: r.failed_attempt,
                    }
                }
                Job::Authorize {
                    key,
                    req,
                    source,
                    claim,
                } => {
                    let now = unix_now();
                    let verdict = match claim {
                        Claim::Extension {
                            realm,
                            customer_id,
                            user,
                        } => {
                            auth.extension(&req, Kind::Proxy, &realm, customer_id, &user, now)
                                .await
                        }
                        Claim::Trunk { domain } => {
                            auth.trunk(&req, &domain, source.addr.ip(), now).await
                        }
                    };
                    JobResult::Authorized {
                        key,
                        source: source.addr.ip(),
                        verdict: verdict.map_err(|e| e.to_string()),
                    }
                }
            };
            done.send(Wake::Job(result));
        });
    }

    /// Resolves media node host names in the background.
    fn resolve_names(&mut self) {
        for (i, n) in self.d.core.dispatcher_mut().nodes().iter().enumerate() {
            if n.host.parse::<std::net::IpAddr>().is_ok() {
                continue;
            }
            let name = format!("{}:{}", n.host, n.port);
            let nudger = self.d.nudger.clone();
            self.d.jobs.spawn(async move {
                if let Ok(mut addrs) = tokio::net::lookup_host(&name).await {
                    if let Some(a) = addrs.next() {
                        nudger.send(Wake::Resolved(i, a));
                    }
                }
            });
        }
    }
}

/// Sends over TCP, TLS and WebSocket in the order the loop asked, reporting failures back.
async fn send_streams(
    transport: SipTransport,
    mut rx: tmpsc::UnboundedReceiver<Outgoing>,
    nudger: Nudger,
) {
    while let Some(out) = rx.recv().await {
        let (target, result) = match out {
            Outgoing::Message(target, msg) => (target, transport.send(target, &msg).await),
            Outgoing::Bytes(target, bytes) => (target, transport.send_bytes(target, bytes).await),
        };
        if let Err(e) = result {
            tracing::debug!(%target, error = %e, "SIP send failed");
            nudger.send(Wake::SendFailed(target));
        }
    }
}

/// Forwards what the stream transports receive to the loop, then their end.
pub async fn forward_streams(mut incoming: tmpsc::Receiver<Incoming>, nudger: Nudger) {
    while let Some(inc) = incoming.recv().await {
        nudger.send(Wake::Stream(Some(inc)));
    }
    nudger.send(Wake::Stream(None));
}

/// Unix time in seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
