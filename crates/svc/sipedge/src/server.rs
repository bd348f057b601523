//! Starting the edge: listeners, the cluster secret, the core and the thread of its loop.
//!
//! One thread owns the [`EdgeCore`] (see [`crate::driver`]): it feeds it UDP datagrams, what
//! the `voxbin-sip` transports receive, job results and timer ticks, and carries out what it
//! asks (sends, jobs). Jobs (REGISTER,
//! credential checks) run as tasks of the process's runtime, since they wait on the bus and
//! the cache. On shutdown the core refuses new requests with 503 for a short linger, and the
//! loop ends once every relayed request has its final answer, or when the process's grace
//! period ends.

use crate::auth::Authenticator;
use crate::bindings::BindingStore;
use crate::directory::Directory;
use crate::dispatcher::Dispatcher;
use crate::driver::{forward_streams, Driver, Nudger, Wake};
use crate::guard::{Guard, GuardConfig};
use crate::medianode::{MediaNodeAnnouncement, MEDIANODE_PUBLISHER, MEDIANODE_UPDATED};
use crate::proxy::core::{CoreConfig, EdgeCore};
use crate::proxy::flow::FlowSigner;
use crate::proxy::route::Identity;
use crate::registrar::apply::Bounds;
use crate::registrar::Registrar;
use crate::secret::{random_secret, shared_secret};
use crate::settings::EdgeSettings;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use voxbin_bus::{event_handler_fn, Bus, BusClient, Consumer, Event};
use voxbin_cache::Cache;
use voxbin_core::config::Config;
use voxbin_core::shutdown::Shutdown;
use voxbin_core::{Error, ErrorKind, Result};
use voxbin_sip::transaction::TimerConfig;
use voxbin_sip::{Host, SipTransport, Transport, TransportConfig};

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
        let edge_name = identity.hostport().to_string();
        let (nudger, wakes) = Nudger::new(udp_addr).map_err(bind_error)?;
        let announcements = subscribe_media_nodes(&deps.bus, &edge_name, nudger.clone()).await?;
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
        )
        .with_paths(FlowSigner::new(secret.as_bytes()));
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
        tokio::spawn(forward_streams(incoming, nudger.clone()));
        let draining = deps.shutdown.draining_token();
        let drain_nudger = nudger.clone();
        tokio::spawn(async move {
            draining.cancelled().await;
            drain_nudger.send(Wake::Drain);
        });
        let driver = Driver {
            core,
            udp,
            transport: transport.clone(),
            registrar,
            auth,
            jobs,
            nudger,
            wakes,
            coalesce: settings.udp_coalesce,
        };
        let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
        // The edge's loop gets a thread of its own: every datagram is handled where it was
        // read, with no hand-over between threads (see `driver`).
        std::thread::Builder::new()
            .name("sip-edge".into())
            .spawn(move || {
                driver.run();
                announcements.stop();
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
    Identity::new(host, port, aliases)
}

/// Subscribes this edge node to the media nodes' announcements, forwarded to `tx`.
///
/// Every edge node needs every heartbeat, so the subscriber name is this node's own (its
/// advertised address: a restarted node takes its queue back rather than leaving one behind).
async fn subscribe_media_nodes(
    bus: &Arc<dyn Bus>,
    edge_name: &str,
    nudger: Nudger,
) -> Result<Consumer> {
    let subscriber = format!("sipedge-{}", edge_name.replace([':', '[', ']'], "-"));
    let handler = event_handler_fn(move |event: Event| {
        let nudger = nudger.clone();
        async move {
            match MediaNodeAnnouncement::from_event(&event) {
                Ok(a) => nudger.send(Wake::Node(a)),
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
