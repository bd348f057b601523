//! The tokio shell of the edge: transports, the core's loop, jobs, timers and draining.
//!
//! One task owns the [`EdgeCore`]: it feeds it what the `voxbin-sip` transports receive, job
//! results and timer ticks, and carries out what it asks (sends, jobs). Jobs (REGISTER,
//! credential checks) run as tasks of the process's runtime, since they wait on the bus and
//! the cache. On shutdown the core refuses new requests with 503 for a short linger, and the
//! loop ends once every relayed request has its final answer, or when the process's grace
//! period ends.

use crate::auth::{Authenticator, Kind};
use crate::bindings::BindingStore;
use crate::directory::Directory;
use crate::dispatcher::Dispatcher;
use crate::guard::{Guard, GuardConfig};
use crate::medianode::{MediaNodeAnnouncement, MEDIANODE_PUBLISHER, MEDIANODE_UPDATED};
use crate::metrics::edge_metrics;
use crate::proxy::core::{Claim, CoreConfig, EdgeCore, Input, Job, JobResult, Output};
use crate::proxy::flow::FlowSigner;
use crate::proxy::route::Identity;
use crate::registrar::apply::Bounds;
use crate::registrar::Registrar;
use crate::secret::{random_secret, shared_secret};
use crate::settings::EdgeSettings;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use voxbin_bus::{event_handler_fn, Bus, BusClient, Consumer, Event};
use voxbin_cache::Cache;
use voxbin_core::config::Config;
use voxbin_core::shutdown::Shutdown;
use voxbin_core::{Error, ErrorKind, Result};
use voxbin_sip::transaction::TimerConfig;
use voxbin_sip::{Host, Incoming, SipTransport, Transport, TransportConfig};

/// How often the registrations gauge is refreshed and media node names are resolved again.
const HOUSEKEEPING: Duration = Duration::from_secs(5);

/// What the edge is started with.
pub struct EdgeDeps {
    /// The bus (credential lookups).
    pub bus: Arc<dyn Bus>,
    /// The shared cache (bindings, cluster secret).
    pub cache: Arc<dyn Cache>,
    /// The configuration (`sip.*`, `bus.rpc_timeout_ms`).
    pub config: Arc<Config>,
    /// Process shutdown (draining refuses new requests).
    pub shutdown: Shutdown,
    /// PEM certificate and key for TLS/WSS listeners, when any is configured.
    pub tls_files: Option<(PathBuf, PathBuf)>,
}

/// A running edge.
pub struct SipEdge {
    transport: SipTransport,
    udp_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl SipEdge {
    /// Binds the configured listeners and starts serving.
    pub async fn start(deps: EdgeDeps) -> Result<SipEdge> {
        let settings = EdgeSettings::from_config(&deps.config.sip)?;
        let tls_server = match (&deps.tls_files, settings.tls_listen) {
            (Some((cert, key)), Some(_)) => Some(crate::tls::server_config(cert, key)?),
            (None, Some(_)) => {
                return Err(Error::invalid_argument(
                    "CONFIG",
                    "sip.tls_listen needs a certificate (sip.tls_cert and sip.tls_key)",
                ))
            }
            _ => None,
        };
        // UDP is read by the core's own task (see `udp`); the other transports by voxbin-sip.
        let bind_error = |e: std::io::Error| {
            Error::new(
                ErrorKind::Unavailable,
                "SIP_BIND",
                format!("sip.listen {} (UDP): {e}", settings.listen),
            )
        };
        // Port 0 picks a UDP port; TCP must get the same number, which another socket may hold
        // already, so a picked port is tried a few times. A configured port is tried once.
        let attempts = if settings.listen.port() == 0 { 20 } else { 1 };
        let mut attempt = 0;
        let (udp, udp_addr, transport, incoming) = loop {
            attempt += 1;
            let udp = std::net::UdpSocket::bind(settings.listen).map_err(bind_error)?;
            udp.set_nonblocking(true).map_err(bind_error)?;
            let udp_addr = udp
                .local_addr()
                .map_err(|e| Error::internal(e.to_string()))?;
            let cfg = TransportConfig {
                tcp: vec![udp_addr],
                tls: settings.tls_listen.into_iter().collect(),
                ws: settings.ws_listen.into_iter().collect(),
                tls_server: tls_server.clone(),
                ..TransportConfig::default()
            };
            match SipTransport::bind(cfg).await {
                Ok((transport, incoming)) => break (udp, udp_addr, transport, incoming),
                Err(e) if attempt < attempts && e.kind() == std::io::ErrorKind::AddrInUse => {}
                Err(e) => {
                    return Err(Error::new(
                        ErrorKind::Unavailable,
                        "SIP_BIND",
                        format!("sip.listen {udp_addr} (TCP/TLS/WS): {e}"),
                    ))
                }
            }
        };

        // Nonces and flow tokens must verify on every node: use the cluster's secret.
        let secret = match shared_secret(&deps.cache, &random_secret()).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cache unreachable: this edge node uses a secret of its own");
                random_secret()
            }
        };
        let bus = BusClient::new(
            deps.bus.clone(),
            "sipedge",
            Duration::from_millis(deps.config.bus.rpc_timeout_ms),
        );
        let auth = Authenticator::new(secret.as_bytes(), Directory::new(bus));
        let identity = identity(&settings, udp_addr);
        let edge_name = format!("{}:{}", identity.host, identity.port);
        let (nodes_tx, nodes_rx) = mpsc::unbounded_channel();
        let announcements = subscribe_media_nodes(&deps.bus, &edge_name, nodes_tx).await?;
        let registrar = Registrar::new(
            auth.clone(),
            BindingStore::new(deps.cache.clone()),
            Bounds {
                min_expires: settings.register_min_expires,
                max_expires: settings.register_max_expires,
                max_contacts: settings.register_max_contacts,
            },
            &settings.domain,
            edge_name,
        );
        let dispatcher = Dispatcher::new(
            &settings.media_nodes,
            settings.options_interval,
            settings.options_timeout,
            settings.options_down_after,
        );
        let guard = Guard::new(GuardConfig {
            per_sec: settings.rate_per_sec,
            burst: settings.rate_burst,
            auth_failures_before_block: settings.auth_failures_before_block,
            block_for: settings.block_for,
            scanner_agents: settings.blocked_user_agents.clone(),
        });
        let core = EdgeCore::new(
            CoreConfig {
                identity,
                domain: settings.domain.clone(),
                timers: TimerConfig::default(),
            },
            dispatcher,
            guard,
            FlowSigner::new(secret.as_bytes()),
        );
        let jobs = tokio::runtime::Handle::current();
        let shutdown = deps.shutdown.clone();
        let transport_for_edge = transport.clone();
        let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
        // The edge's loop gets a thread and a single-threaded runtime of its own: every
        // datagram is handled where it was read, with no hand-over between worker threads.
        std::thread::Builder::new()
            .name("sip-edge".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match runtime {
                    Ok(rt) => rt.block_on(async move {
                        match tokio::net::UdpSocket::from_std(udp) {
                            Ok(udp) => {
                                let driver = Driver {
                                    core,
                                    udp: Arc::new(udp),
                                    out: Vec::with_capacity(2048),
                                    inbuf: vec![0u8; 65_535].into_boxed_slice(),
                                    pending_jobs: Vec::new(),
                                    announcements,
                                    transport: transport_for_edge,
                                    registrar,
                                    auth,
                                    jobs,
                                    shutdown,
                                };
                                driver.run(incoming, nodes_rx).await;
                            }
                            Err(e) => tracing::error!(error = %e, "sip-edge: UDP socket unusable"),
                        }
                    }),
                    Err(e) => tracing::error!(error = %e, "sip-edge: no runtime"),
                }
                let _ = stopped_tx.send(());
            })
            .map_err(|e| Error::internal(format!("sip-edge thread: {e}")))?;
        let task = deps.shutdown.tracker().spawn(async move {
            let _ = stopped_rx.await;
        });
        tracing::info!(transport = "UDP", address = %udp_addr, "sip-edge listening");
        for (t, a) in transport.local_addrs() {
            tracing::info!(transport = %t, address = %a, "sip-edge listening");
        }
        Ok(SipEdge {
            transport,
            udp_addr,
            task,
        })
    }

    /// The bound address of a transport (the real port when configured with port 0).
    pub fn local_addr(&self, transport: Transport) -> Option<SocketAddr> {
        match transport {
            Transport::Udp => Some(self.udp_addr),
            t => self.transport.local_addr(t),
        }
    }

    /// Waits until the edge has drained and stopped.
    pub async fn stopped(self) {
        let _ = self.task.await;
        self.transport.shutdown();
    }
}

/// The edge's address as written in Via and Record-Route, and the addresses that also mean it.
fn identity(s: &EdgeSettings, listen: SocketAddr) -> Identity {
    let host = Host::parse(&s.advertise_host)
        .or_else(|_| Host::parse(&format!("[{}]", s.advertise_host)))
        .unwrap_or_else(|_| Host::from(listen.ip()));
    // With port 0 configured (tests), the real port is only known once bound.
    let port = if s.advertise_port == 0 {
        listen.port()
    } else {
        s.advertise_port
    };
    if listen.ip().is_unspecified() && s.advertise_host == listen.ip().to_string() {
        tracing::warn!("sip.listen is a wildcard address: set sip.advertise to the address peers reach this edge at");
    }
    let mut aliases = vec![(Host::from(listen.ip()), listen.port())];
    if listen.ip().is_unspecified() {
        aliases.push((Host::V4([127, 0, 0, 1].into()), listen.port()));
    }
    Identity {
        host,
        port,
        aliases,
    }
}

/// Subscribes this edge node to the media nodes' announcements, forwarded to `tx`.
///
/// Every edge node needs every heartbeat, so the subscriber name is this node's own (its
/// advertised address: a restarted node takes its queue back rather than leaving one behind).
async fn subscribe_media_nodes(
    bus: &Arc<dyn Bus>,
    edge_name: &str,
    tx: mpsc::UnboundedSender<MediaNodeAnnouncement>,
) -> Result<Consumer> {
    let subscriber = format!("sipedge-{}", edge_name.replace([':', '[', ']'], "-"));
    let handler = event_handler_fn(move |event: Event| {
        let tx = tx.clone();
        async move {
            match MediaNodeAnnouncement::from_event(&event) {
                Ok(a) => {
                    let _ = tx.send(a);
                }
                Err(e) => tracing::debug!(error = %e, "media node announcement ignored"),
            }
            Ok(())
        }
    });
    bus.subscribe_filtered(
        &subscriber,
        &[MEDIANODE_PUBLISHER],
        &[MEDIANODE_UPDATED],
        handler,
    )
    .await
}

/// Unix time in seconds.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// How long a draining edge keeps answering (503 to new requests, in-dialog ones routed) so
/// that peers and load balancers see the drain before it goes quiet.
const DRAIN_LINGER: Duration = Duration::from_secs(2);

/// Most datagrams handled per wake-up before other work gets a turn.
const UDP_BATCH: usize = 64;

struct Driver {
    core: EdgeCore,
    udp: Arc<tokio::net::UdpSocket>,
    out: Vec<u8>,
    inbuf: Box<[u8]>,
    pending_jobs: Vec<Job>,
    /// The subscription to media node announcements, stopped with the loop.
    announcements: Consumer,
    transport: SipTransport,
    registrar: Registrar,
    auth: Authenticator,
    /// The process's runtime, where jobs (bus and cache calls) run.
    jobs: tokio::runtime::Handle,
    shutdown: Shutdown,
}

impl Driver {
    async fn run(
        mut self,
        mut incoming: mpsc::Receiver<Incoming>,
        mut nodes: mpsc::UnboundedReceiver<MediaNodeAnnouncement>,
    ) {
        let (job_tx, mut job_rx) = mpsc::unbounded_channel::<JobResult>();
        let (dns_tx, mut dns_rx) = mpsc::unbounded_channel::<(usize, SocketAddr)>();
        let draining = self.shutdown.draining_token();
        let mut is_draining = false;
        let mut linger_until: Option<Instant> = None;
        let mut jobs_running = 0usize;
        // The first tick sends the first health checks; later ones follow their deadlines.
        self.core.handle(Input::Tick, Instant::now());
        let mut housekeeping = tokio::time::interval(HOUSEKEEPING);
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // One timer, moved only when the core's next deadline changes (not made anew on
        // every wake-up: that alone was a timer-wheel insert and removal per datagram).
        let timer = tokio::time::sleep(HOUSEKEEPING);
        tokio::pin!(timer);
        let mut armed: Option<Instant> = None;
        loop {
            let deadline = self.core.next_timeout();
            if deadline != armed {
                if let Some(at) = deadline {
                    timer.as_mut().reset(at.into());
                }
                armed = deadline;
            }
            tokio::select! {
                ready = self.udp.readable() => {
                    if ready.is_ok() {
                        self.read_udp().await;
                    }
                }
                inc = incoming.recv() => match inc {
                    Some(Incoming::Message { msg, from, .. }) => {
                        self.core.handle(Input::Received { msg, from }, Instant::now());
                    }
                    Some(Incoming::Malformed { error, from, raw }) => {
                        tracing::debug!(%from, %error, "malformed SIP");
                        self.malformed(from, raw.as_deref(), &error).await;
                    }
                    None => break,
                },
                Some(done) = job_rx.recv() => {
                    jobs_running = jobs_running.saturating_sub(1);
                    self.core.handle(Input::JobDone(done), Instant::now());
                }
                Some(a) = nodes.recv() => {
                    self.core.handle(Input::MediaNode(a), Instant::now());
                }
                Some((node, addr)) = dns_rx.recv() => {
                    self.core.dispatcher_mut().set_addr(node, addr);
                }
                _ = &mut timer, if armed.is_some() => {
                    armed = None;
                    self.core.handle(Input::Tick, Instant::now());
                }
                _ = sleep_until(linger_until), if linger_until.is_some() => {
                    linger_until = None;
                }
                _ = draining.cancelled(), if !is_draining => {
                    is_draining = true;
                    linger_until = Some(Instant::now() + DRAIN_LINGER);
                    self.core.handle(Input::Drain, Instant::now());
                }
                _ = housekeeping.tick() => {
                    edge_metrics().registrations.set(&[], self.registrar.active(unix_now()) as i64);
                    self.resolve_names(&dns_tx);
                }
            }
            jobs_running += self.flush(&job_tx).await;
            if is_draining
                && linger_until.is_none()
                && jobs_running == 0
                && self.core.unanswered() == 0
            {
                tracing::info!("sip-edge drained");
                break;
            }
        }
        self.announcements.stop();
        self.transport.shutdown();
    }

    /// Handles every datagram that is ready (up to a batch), flushing after each.
    async fn read_udp(&mut self) {
        for _ in 0..UDP_BATCH {
            let (n, from) = match self.udp.try_recv_from(&mut self.inbuf) {
                Ok(r) => r,
                // WouldBlock: drained. Other errors (ICMP from earlier sends): try again later.
                Err(_) => return,
            };
            match crate::udp::decode(&self.inbuf[..n], from) {
                crate::udp::Datagram::Sip(msg) => {
                    let from = voxbin_sip::Target::new(Transport::Udp, from);
                    self.core
                        .handle(Input::Received { msg, from }, Instant::now());
                }
                crate::udp::Datagram::KeepAlive => {}
                crate::udp::Datagram::Malformed(error) => {
                    let from = voxbin_sip::Target::new(Transport::Udp, from);
                    let bytes = self.inbuf[..n].to_vec();
                    self.malformed(from, Some(&bytes), &error).await;
                }
            }
            // Jobs cannot start from here; they are picked up by the next flush.
            self.send_ready().await;
        }
    }

    /// Answers a request that did not parse with a 400 when its source is within its limits
    /// (a flood of garbage is dropped, not answered) and its head still names the transaction.
    /// The answer goes to the source (RFC 3581 style, as the Via may lie), over UDP or the
    /// connection it came on.
    async fn malformed(
        &mut self,
        from: voxbin_sip::Target,
        raw: Option<&[u8]>,
        error: &voxbin_sip::ParseError,
    ) {
        edge_metrics().dropped.inc(&["malformed"]);
        if !self.core.admit_malformed(from, Instant::now()) {
            return;
        }
        let Some(reply) = raw.and_then(|raw| crate::udp::bad_request(raw, error)) else {
            return;
        };
        let sent = if from.transport == Transport::Udp {
            crate::udp::send(&self.udp, &reply, from.addr).await
        } else {
            self.transport.send_bytes(from, reply).await
        };
        if let Err(e) = sent {
            tracing::debug!(%from, error = %e, "400 for malformed SIP not sent");
        }
    }

    /// Sends what the core has ready to send, leaving jobs queued.
    async fn send_ready(&mut self) {
        while let Some(out) = self.core.poll() {
            match out {
                Output::Send { target, msg } => self.send(target, msg).await,
                Output::Job(job) => {
                    self.pending_jobs.push(job);
                }
            }
        }
    }

    /// Carries out every output of the core; returns how many jobs it started.
    async fn flush(&mut self, job_tx: &mpsc::UnboundedSender<JobResult>) -> usize {
        self.send_ready().await;
        let jobs: Vec<Job> = std::mem::take(&mut self.pending_jobs);
        let started = jobs.len();
        for job in jobs {
            self.spawn_job(job, job_tx.clone());
        }
        started
    }

    async fn send(&mut self, target: voxbin_sip::Target, msg: voxbin_sip::Message) {
        let result = if target.transport == Transport::Udp {
            self.out.clear();
            msg.write_to(&mut self.out);
            crate::udp::send(&self.udp, &self.out, target.addr).await
        } else {
            self.transport.send(target, &msg).await
        };
        if let Err(e) = result {
            tracing::debug!(%target, error = %e, "SIP send failed");
            self.core.handle(Input::SendFailed(target), Instant::now());
        }
    }

    fn spawn_job(&self, job: Job, done: mpsc::UnboundedSender<JobResult>) {
        let registrar = self.registrar.clone();
        let auth = self.auth.clone();
        self.jobs.spawn(async move {
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
            let _ = done.send(result);
        });
    }

    /// Resolves media node host names in the background.
    fn resolve_names(&mut self, tx: &mpsc::UnboundedSender<(usize, SocketAddr)>) {
        for (i, n) in self.core.dispatcher_mut().nodes().iter().enumerate() {
            if n.host.parse::<std::net::IpAddr>().is_ok() {
                continue;
            }
            let name = format!("{}:{}", n.host, n.port);
            let tx = tx.clone();
            tokio::spawn(async move {
                if let Ok(mut addrs) = tokio::net::lookup_host(&name).await {
                    if let Some(a) = addrs.next() {
                        let _ = tx.send((i, a));
                    }
                }
            });
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
