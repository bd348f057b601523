//! What the media role's end-to-end tests share: a node on the in-process bus, the events it
//! publishes, commands sent the way the call service sends them, sipp, and WAV analysis.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use voxbin_bus::{event_handler_fn, Bus, Event, InProcBus, Method, Request};
use voxbin_svc_media::{node_queue, MediaNode, Settings};

/// A node and the bus it is on.
pub struct Harness {
    pub bus: Arc<dyn Bus>,
    pub node: MediaNode,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub dir: tempfile::TempDir,
}

/// Starts a node on `sip_port` with RTP ports from `rtp_min` (200 of them).
pub async fn start(sip_port: u16, rtp_min: u16) -> Harness {
    let bus: Arc<dyn Bus> = Arc::new(InProcBus::new());
    let (tx, events) = mpsc::unbounded_channel();
    let consumer = bus
        .subscribe(
            "call-test",
            &["media-manager"],
            event_handler_fn(move |e: Event| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(e);
                    Ok(())
                }
            }),
        )
        .await
        .expect("subscribe");
    std::mem::forget(consumer);
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = Settings {
        node_id: format!("media-test-{sip_port}"),
        sip_listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), sip_port),
        advertise: IpAddr::V4(Ipv4Addr::LOCALHOST),
        rtp_ports: (rtp_min, rtp_min + 199),
        recordings_dir: dir.path().join("recordings"),
        media_dir: dir.path().join("media"),
        workers: 1,
        session_expires: Some(1800),
        min_se: 90,
        heartbeat: Duration::from_secs(1),
        rtp_timeout: Some(Duration::from_secs(30)),
        realtime_priority: None,
    };
    let node = MediaNode::start(settings, bus.clone())
        .await
        .expect("media node starts");
    Harness {
        bus,
        node,
        events,
        dir,
    }
}

impl Harness {
    /// Sends a POST command to the node's own queue; the answer's data, or the error's.
    pub async fn command(&self, uri: &str, body: Value) -> Result<Value, Value> {
        self.call(Method::Post, uri, body).await
    }

    /// Sends a request to the node's own queue; the answer's data, or the error's.
    pub async fn call(&self, method: Method, uri: &str, body: Value) -> Result<Value, Value> {
        let req = Request::new(method, uri)
            .with_publisher("call-manager")
            .with_data(body);
        let resp = self
            .bus
            .rpc(
                &node_queue(self.node.node_id()),
                req,
                Duration::from_secs(10),
            )
            .await
            .expect("the node answers");
        if resp.status_code >= 300 {
            Err(resp.data.unwrap_or(Value::Null))
        } else {
            Ok(resp.data.unwrap_or(Value::Null))
        }
    }

    /// The next event of `event_type` (others are skipped; heartbeats come every second).
    pub async fn next(&mut self, event_type: &str) -> Value {
        let wait = async {
            loop {
                match self.events.recv().await {
                    Some(e) if e.event_type == event_type => return e.data.unwrap_or(Value::Null),
                    Some(_) => continue,
                    None => panic!("the bus closed"),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .unwrap_or_else(|_| panic!("no {event_type} event in 30 s"))
    }
}

/// A scenario file of this crate's tests.
pub fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(format!("{name}.xml"))
}

/// sipp as a UAC with scenario `name` from `port` (RTP from `media_port`) to `remote`.
pub fn sipp_uac(name: &str, port: u16, media_port: u16, remote: u16) -> tokio::process::Child {
    tokio::process::Command::new("sipp")
        .arg(format!("127.0.0.1:{remote}"))
        .arg("-sf")
        .arg(scenario(name))
        .args(["-m", "1", "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p"])
        .arg(port.to_string())
        .arg("-mp")
        .arg(media_port.to_string())
        .args(["-nostdin", "-timeout", "60s", "-timeout_error"])
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sipp is installed (apt-get install sip-tester)")
}

/// sipp as a UAS with scenario `name` on `port` (RTP on `media_port`).
pub fn sipp_uas(name: &str, port: u16, media_port: u16) -> tokio::process::Child {
    tokio::process::Command::new("sipp")
        .arg("-sf")
        .arg(scenario(name))
        .args(["-m", "1", "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p"])
        .arg(port.to_string())
        .arg("-mp")
        .arg(media_port.to_string())
        .args(["-nostdin", "-timeout", "60s", "-timeout_error"])
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sipp is installed (apt-get install sip-tester)")
}

/// Waits for sipp and fails the test unless its call passed.
pub async fn sipp_passes(child: tokio::process::Child) {
    let out = tokio::time::timeout(Duration::from_secs(70), child.wait_with_output())
        .await
        .expect("sipp finished")
        .expect("sipp ran");
    assert!(
        out.status.success(),
        "sipp failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The 16-bit mono samples of a WAV file.
pub fn wav_samples(path: &Path) -> Vec<i16> {
    let bytes = std::fs::read(path).expect("the recording exists");
    voxbin_media::wav::load_wav_8k(&bytes).expect("the recording is a WAV file")
}

/// RMS of samples.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// The A-law speech of sipp's g711a.pcap, decoded.
pub fn pcap_speech() -> Vec<i16> {
    let d = std::fs::read("/usr/share/sip-tester/g711a.pcap").expect("sipp's pcap files");
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= d.len() {
        let incl = u32::from_le_bytes([d[off + 8], d[off + 9], d[off + 10], d[off + 11]]) as usize;
        let pkt = &d[off + 16..(off + 16 + incl).min(d.len())];
        off += 16 + incl;
        // Ethernet, IPv4 (IHL), UDP, RTP (12 bytes)
        if pkt.len() < 14 + 20 + 8 + 12 {
            continue;
        }
        let ihl = usize::from(pkt[14] & 0x0f) * 4;
        let rtp = &pkt[14 + ihl + 8..];
        out.extend(
            rtp[12..]
                .iter()
                .map(|&b| voxbin_media::g711::pcma_decode_sample(b)),
        );
    }
    out
}
