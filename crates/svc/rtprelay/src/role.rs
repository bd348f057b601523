//! The running `rtp-relay` role: forwarder threads, the bus queue, the ng listener, the event
//! publisher and a once-a-second housekeeping task (idle timeouts, metrics).

use crate::bus::{handler, SERVICE};
use crate::control::Control;
use crate::forward::Forwarder;
use crate::ng::NgServer;
use crate::session::TableEvent;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use voxbin_bus::{request_queue, Bus, BusClient, Consumer};
use voxbin_core::config::RtpRelayConfig;
use voxbin_core::telemetry::{metrics, CounterFamily, GaugeFamily};
use voxbin_core::{Error, Result};

/// How often idle sessions are looked for and metrics updated.
const TICK: Duration = Duration::from_secs(1);

/// Settings of one relay (from `rtp_relay.*`, or set directly by tests).
#[derive(Debug, Clone)]
pub struct Settings {
    /// ng listener address; `None` turns it off.
    pub ng_listen: Option<String>,
    /// Media socket IP.
    pub bind_ip: IpAddr,
    /// IP written into SDP.
    pub advertise_ip: IpAddr,
    /// Port range.
    pub port_min: u16,
    /// Port range end.
    pub port_max: u16,
    /// Forwarding threads.
    pub workers: usize,
    /// Idle time after which a session is deleted.
    pub timeout: Duration,
}

impl Settings {
    /// From the checked configuration section.
    pub fn from_config(c: &RtpRelayConfig) -> Result<Settings> {
        let ip = |key: &str, v: &str| {
            v.parse::<IpAddr>().map_err(|_| {
                Error::invalid_argument(
                    "INVALID_CONFIG",
                    format!("{key}: {v:?} is not an IP address"),
                )
            })
        };
        let bind_ip = ip("rtp_relay.bind_ip", &c.bind_ip)?;
        let advertise_ip = if c.advertise_ip.is_empty() {
            bind_ip
        } else {
            ip("rtp_relay.advertise_ip", &c.advertise_ip)?
        };
        Ok(Settings {
            ng_listen: (!c.ng_listen.is_empty()).then(|| c.ng_listen.clone()),
            bind_ip,
            advertise_ip,
            port_min: c.port_min,
            port_max: c.port_max,
            workers: usize::from(c.workers.max(1)),
            timeout: Duration::from_secs(c.timeout_secs.max(1)),
        })
    }
}

struct Metrics {
    packets: CounterFamily,
    sessions: GaugeFamily,
}

fn role_metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| {
        let r = metrics().registry();
        Metrics {
            packets: r.counter(
                "voxbin_rtp_relay_packets_total",
                "Datagrams the RTP relay handled, by result (forwarded or dropped).",
                &["result"],
            ),
            sessions: r.gauge(
                "voxbin_rtp_relay_sessions",
                "RTP relay sessions active.",
                &[],
            ),
        }
    })
}

/// A started relay.
pub struct RtpRelay {
    control: Arc<Control>,
    consumer: Consumer,
    ng: Option<NgServer>,
    stop: CancellationToken,
    publisher: JoinHandle<()>,
    housekeeping: JoinHandle<()>,
}

impl RtpRelay {
    /// Starts the forwarder, serves the bus queue and (when configured) the ng port.
    pub async fn start(
        settings: Settings,
        bus: Arc<dyn Bus>,
        rpc_timeout: Duration,
    ) -> Result<RtpRelay> {
        let plane = Forwarder::start(
            settings.bind_ip,
            settings.port_min,
            settings.port_max,
            settings.workers,
        )?;
        let (tx, rx) = unbounded_channel();
        let control = Arc::new(Control::new(
            plane,
            settings.advertise_ip,
            settings.timeout,
            tx,
        ));
        let consumer = bus
            .serve(&request_queue(SERVICE), handler(control.clone()))
            .await?;
        let ng = match &settings.ng_listen {
            Some(addr) => Some(NgServer::start(addr, control.clone()).await.map_err(|e| {
                Error::unavailable("NG_BIND", format!("rtp_relay.ng_listen {addr}: {e}"))
            })?),
            None => None,
        };
        let stop = CancellationToken::new();
        let client = BusClient::new(bus, SERVICE, rpc_timeout);
        let publisher = tokio::spawn(publish_events(rx, client, stop.clone()));
        let housekeeping = tokio::spawn(housekeeping(control.clone(), stop.clone()));
        Ok(RtpRelay {
            control,
            consumer,
            ng,
            stop,
            publisher,
            housekeeping,
        })
    }

    /// The ng listener's address.
    pub fn ng_addr(&self) -> Option<SocketAddr> {
        self.ng.as_ref().map(NgServer::local_addr)
    }

    /// The control surface (tests and the role's wiring).
    pub fn control(&self) -> &Arc<Control> {
        &self.control
    }

    /// Refuses new calls; sessions in progress keep relaying.
    pub fn drain(&self) {
        self.control.drain();
    }

    /// Waits until no session is left or `grace` has passed.
    pub async fn wait_idle(&self, grace: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + grace;
        while self.control.sessions() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        true
    }

    /// Stops everything; sessions left are deleted (with their events).
    pub async fn stop(self) {
        self.consumer.stop();
        if let Some(ng) = self.ng {
            ng.stop().await;
        }
        self.control.clear();
        self.stop.cancel();
        let _ = self.housekeeping.await;
        let _ = self.publisher.await;
    }
}

async fn publish_events(
    mut rx: UnboundedReceiver<TableEvent>,
    client: BusClient,
    stop: CancellationToken,
) {
    loop {
        let e = tokio::select! {
            e = rx.recv() => e,
            _ = stop.cancelled() => rx.try_recv().ok(),
        };
        let Some(e) = e else { return };
        let r = match &e {
            TableEvent::Created(s) => client.publish_event("rtpsession_created", s).await,
            TableEvent::Deleted(d) => client.publish_event("rtpsession_deleted", d).await,
        };
        if let Err(error) = r {
            tracing::warn!(%error, "could not publish an rtp-relay event");
        }
    }
}

async fn housekeeping(control: Arc<Control>, stop: CancellationToken) {
    let m = role_metrics();
    let (mut forwarded, mut dropped) = (0u64, 0u64);
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let expired = control.expire();
        if expired > 0 {
            tracing::info!(expired, "rtp-relay deleted idle sessions");
        }
        let c = control.counters();
        let (f, d) = (
            c.forwarded.load(Ordering::Relaxed),
            c.dropped.load(Ordering::Relaxed),
        );
        m.packets.add(&["forwarded"], f - forwarded);
        m.packets.add(&["dropped"], d - dropped);
        (forwarded, dropped) = (f, d);
        m.sessions.set(&[], control.sessions() as i64);
    }
}
