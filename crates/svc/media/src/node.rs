//! A running media node: engine, SIP user agent, bus queues, event publishers, heartbeat.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use voxbin_bus::{request_queue, Bus, Consumer};
use voxbin_core::{Error, Result};
use voxbin_media::engine::{Engine, EngineConfig};
use voxbin_media::tts::{CachedTts, EspeakTts, Tts};
use voxbin_sipua::{HangupCause, UaConfig, UaEvent, UserAgent};

use crate::commands::{node_router, shared_router, SERVICE};
use crate::settings::Settings;
use crate::state::NodeState;

/// The node's own request queue.
pub fn node_queue(node_id: &str) -> String {
    format!("{}.{node_id}", request_queue(SERVICE))
}

/// A started media node.
pub struct MediaNode {
    state: Arc<NodeState>,
    consumers: Vec<Consumer>,
    tasks: Vec<JoinHandle<()>>,
    stop: CancellationToken,
}

impl MediaNode {
    /// Starts the engine and the SIP user agent, serves both queues and begins beating.
    pub async fn start(settings: Settings, bus: Arc<dyn Bus>) -> Result<MediaNode> {
        let config_error = |e: String| Error::invalid_argument("INVALID_CONFIG", e);
        let tts: Arc<dyn Tts> = Arc::new(
            CachedTts::new(EspeakTts::default(), settings.media_dir.join("tts"))
                .map_err(|e| config_error(format!("media.media_dir: {e}")))?,
        );
        let mut ec = EngineConfig::new(
            settings.sip_listen.ip(),
            settings.advertise,
            settings.rtp_ports,
            tts,
            settings.media_dir.clone(),
            settings.recordings_dir.clone(),
        );
        ec.workers = settings.workers;
        ec.realtime_priority = settings.realtime_priority;
        ec.rtp_timeout = settings.rtp_timeout;
        let engine = Engine::start(ec).map_err(|e| config_error(e.to_string()))?;
        let (ua, mut incoming) = UserAgent::start(UaConfig {
            listen: settings.sip_listen,
            tcp: true,
            advertise: Some(settings.advertise),
            user_agent: "voxbin-media".into(),
            session_expires: settings.session_expires,
            min_se: settings.min_se,
            ..UaConfig::default()
        })
        .await
        .map_err(|e| {
            engine.shutdown();
            Error::unavailable(
                "SIP_BIND",
                format!("media.sip_listen {}: {e}", settings.sip_listen),
            )
        })?;
        let state = Arc::new(NodeState {
            node_id: settings.node_id.clone(),
            engine,
            ua,
            legs: Default::default(),
            bus: bus.clone(),
            draining: Default::default(),
            recordings_dir: settings.recordings_dir.clone(),
        });
        let node_consumer = bus
            .serve(
                &node_queue(&settings.node_id),
                Arc::new(node_router(state.clone())),
            )
            .await?;
        let shared_consumer = bus
            .serve(
                &request_queue(SERVICE),
                Arc::new(shared_router(state.clone())),
            )
            .await?;
        let stop = CancellationToken::new();
        let calls = {
            let state = state.clone();
            tokio::spawn(async move {
                while let Some(UaEvent::Incoming(call)) = incoming.recv().await {
                    tokio::spawn(crate::legs::on_incoming(state.clone(), call));
                }
            })
        };
        let events = tokio::spawn(crate::events::pump(state.clone(), stop.clone()));
        let beat = tokio::spawn(crate::heartbeat::run(state.clone(), settings.heartbeat));
        Ok(MediaNode {
            state,
            consumers: vec![node_consumer, shared_consumer],
            tasks: vec![calls, events, beat],
            stop,
        })
    }

    /// The node's id.
    pub fn node_id(&self) -> &str {
        &self.state.node_id
    }

    /// The SIP address INVITEs go to.
    pub fn sip_addr(&self) -> std::net::SocketAddr {
        self.state.ua.local_addr()
    }

    /// Live legs.
    pub fn legs(&self) -> usize {
        self.state.legs.lock().len()
    }

    /// Refuses new calls (SIP 503, OPTIONS 503, bus 503) and announces `draining`; calls
    /// in flight go on.
    pub async fn drain(&self) {
        self.state.draining.store(true, Ordering::Release);
        self.state.ua.set_draining(true);
        crate::heartbeat::beat(&self.state, "draining").await;
    }

    /// Waits until no leg is left or `grace` has passed.
    pub async fn wait_idle(&self, grace: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + grace;
        while self.legs() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        true
    }

    /// Hangs up what is left, announces `down` and stops.
    pub async fn stop(self) {
        let handles: Vec<_> = self
            .state
            .legs
            .lock()
            .values()
            .map(|l| l.call.clone())
            .collect();
        for h in handles {
            let _ = h.hangup(HangupCause::Normal).await;
        }
        // BYEs get a moment to be answered
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while self.legs() > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        for c in &self.consumers {
            c.stop();
        }
        crate::heartbeat::beat(&self.state, "down").await;
        self.stop.cancel();
        for t in &self.tasks {
            t.abort();
        }
        self.state.ua.shutdown();
        self.state.engine.shutdown();
    }
}
