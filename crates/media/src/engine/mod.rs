//! The media engine: runs call legs on real UDP sockets with the sans-IO pieces of this crate
//! (no SIP here; the SIP user agent calls this API). Feature `runtime`.
//!
//! # Shape
//! - [`Engine::start`] spawns `workers` OS threads. Each worker owns its legs, their sockets
//!   and its conferences, and runs one steady 20 ms clock by sleeping to absolute deadlines
//!   (no drift, no tokio timer wheel on the hot path).
//! - Per tick a worker first sends every leg's packet prepared on the previous tick (so the
//!   send times keep a steady 20 ms spacing whatever the rest of the tick costs; the price is
//!   one frame, 20 ms, of latency), then reads each leg's non-blocking RTP socket until it is
//!   empty (one `recv` per packet plus one that says "empty"), decodes one frame per leg,
//!   mixes bridges and conferences, records, and prepares the next packets. Reading from the
//!   clock thread instead of a reactor costs no epoll and no cross-thread wake-up per packet;
//!   at one packet per 20 ms per socket, `recvmmsg`/`sendmmsg` would batch nothing (they batch
//!   per socket). Once a peer's RTP is latched the socket is `connect`ed to it, which saves
//!   the route lookup on every send (about a quarter of the CPU per call on loopback).
//!   Buffers are per leg or per worker and reused: no allocation per packet or per tick
//!   (bench/media.sh counts them). A leg costs about 27 KiB with a recording running.
//! - `realtime_priority` puts workers under `SCHED_FIFO`, which keeps the clock steady on a
//!   busy host (bench/media.sh shows the difference).
//! - The [`Engine`] handle (cheap `Clone`) does everything slow before a command reaches a
//!   worker: SDP negotiation, binding sockets, reading/downloading prompts, TTS, opening
//!   recording files. Bridging or conferencing legs of different workers moves a leg (with
//!   its sockets) to the other worker first.
//! - Results arrive as [`EngineEvent`]s on [`Engine::subscribe`] (a broadcast channel).
//!
//! # API (stable; H3 codes against it)
//! - legs: [`Engine::create_leg`], [`Engine::remote_answer`], [`Engine::remote_reoffer`],
//!   [`Engine::local_reoffer`], [`Engine::destroy_leg`], [`Engine::request_stats`]
//! - operations (completion events carry the op id): [`Engine::play`] (files, URLs, speech,
//!   beep, silence; `talk` is a play of [`PlaySource::Speech`]), [`Engine::stop_playback`],
//!   [`Engine::echo`], [`Engine::collect_digits`], [`Engine::stop_collect`],
//!   [`Engine::send_digits`], [`Engine::record`], [`Engine::stop_record`], [`Engine::hold`],
//!   [`Engine::mute`], [`Engine::external_media`], [`Engine::stop_external_media`]
//! - bridges and conferences: [`Engine::bridge`], [`Engine::unbridge`],
//!   [`Engine::conference_create`], [`Engine::conference_destroy`],
//!   [`Engine::conference_join`], [`Engine::conference_leave`], [`Engine::conference_mute`],
//!   [`Engine::conference_record`], [`Engine::conference_stop_record`]

mod audio;
mod config;
mod error;
mod event;
mod external;
mod fetch;
mod ids;
mod ops;
mod ports;
mod worker;

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;
use tokio::sync::broadcast;

use crate::sdp::{self, Direction, LocalMedia, SessionDescription};
use crate::srtp::{CryptoAttribute, MasterKey, SrtpSession, Suite};
use crate::stream::StreamConfig;

pub use config::EngineConfig;
pub use error::EngineError;
pub use event::{CollectReason, EngineEvent, EventKind, LegStats, PlaybackReason, RecordReason};
pub use ids::{ConferenceId, LegId, OpId};
pub use ops::{
    CollectSpec, ExternalMediaSpec, LegSpec, MuteDirection, PlaySource, RecordDirection,
    RecordSpec, Reoffer,
};

use audio::AudioLoader;
use ports::PortPool;
use worker::command::Command;
use worker::leg::Leg;

/// The SRTP session of a negotiated stream: our key from `local`, the peer's from its chosen
/// crypto line; `None` for plain RTP.
fn srtp_session(
    local: &LocalMedia,
    negotiated: &sdp::Negotiated,
) -> Result<Option<SrtpSession>, EngineError> {
    let Some(remote) = &negotiated.remote_crypto else {
        return Ok(None);
    };
    let refused = || EngineError::Negotiation(sdp::NegotiationError::NoCryptoSuite);
    let theirs = CryptoAttribute::parse(remote).ok_or_else(refused)?;
    let ours = local
        .crypto
        .as_deref()
        .and_then(|c| CryptoAttribute::parse(&format!("0 {c}")))
        .ok_or_else(refused)?;
    SrtpSession::new(theirs.suite, &ours.master, &theirs.master)
        .map(Some)
        .map_err(|_| refused())
}

/// Buffer of a recording file: bounded, so a recording never holds the call in memory.
const RECORD_BUFFER: usize = 8 * 1024;

/// What the handle knows about a leg (the worker owns its media).
#[derive(Debug)]
struct LegControl {
    worker: usize,
    local: LocalMedia,
    /// Our offer, while no answer has come.
    pending_offer: Option<SessionDescription>,
    bridged: Option<LegId>,
    conference: Option<ConferenceId>,
}

#[derive(Debug, Default)]
struct State {
    legs: HashMap<LegId, LegControl>,
    conferences: HashMap<ConferenceId, usize>,
}

struct WorkerHandle {
    tx: mpsc::Sender<Command>,
    load: Arc<AtomicUsize>,
}

struct Inner {
    config: EngineConfig,
    workers: Vec<WorkerHandle>,
    state: Mutex<State>,
    events: broadcast::Sender<EngineEvent>,
    ports: PortPool,
    audio: AudioLoader,
    threads: Mutex<Vec<JoinHandle<()>>>,
    stopped: AtomicBool,
    sessions: AtomicU64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // the last handle is gone: workers stop (without joining; `shutdown` joins)
        if !self.stopped.swap(true, Ordering::SeqCst) {
            for w in &self.workers {
                let _ = w.tx.send(Command::Shutdown);
            }
        }
    }
}

/// The media engine handle; clones share one engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// A random-enough 32-bit value for SSRCs and initial sequence numbers (no RNG dependency).
fn random_u32(seed: u64) -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(seed);
    h.finish() as u32
}

impl Engine {
    /// Starts the worker threads. Creates `media_dir` and `recordings_dir` if missing.
    pub fn start(config: EngineConfig) -> Result<Engine, EngineError> {
        config.validate()?;
        for (key, dir) in [
            ("media_dir", &config.media_dir),
            ("recordings_dir", &config.recordings_dir),
        ] {
            std::fs::create_dir_all(dir)
                .map_err(|e| EngineError::Config(format!("{key}: {}: {e}", dir.display())))?;
        }
        let audio = AudioLoader::new(&config)?;
        let moh = audio.music_on_hold(config.music_on_hold.as_deref())?;
        let (events, _) = broadcast::channel(config.event_capacity);
        let mut senders = Vec::with_capacity(config.workers);
        let mut receivers = Vec::with_capacity(config.workers);
        for _ in 0..config.workers {
            let (tx, rx) = mpsc::channel();
            senders.push(tx);
            receivers.push(rx);
        }
        let peers: Arc<[mpsc::Sender<Command>]> = senders.clone().into();
        let mut workers = Vec::with_capacity(config.workers);
        let mut threads = Vec::with_capacity(config.workers);
        for (index, (rx, tx)) in receivers.into_iter().zip(senders).enumerate() {
            let load = Arc::new(AtomicUsize::new(0));
            let w = worker::Worker::new(worker::WorkerSetup {
                commands: rx,
                peers: peers.clone(),
                events: events.clone(),
                music_on_hold: moh.clone(),
                rtp_timeout: config.rtp_timeout,
                realtime_priority: config.realtime_priority,
            });
            let thread = std::thread::Builder::new()
                .name(format!("media-{index}"))
                .spawn(move || w.run())?;
            threads.push(thread);
            workers.push(WorkerHandle { tx, load });
        }
        Ok(Engine {
            inner: Arc::new(Inner {
                ports: PortPool::new(config.bind_ip, config.port_min, config.port_max),
                config,
                workers,
                state: Mutex::new(State::default()),
                events,
                audio,
                threads: Mutex::new(threads),
                stopped: AtomicBool::new(false),
                sessions: AtomicU64::new(1),
            }),
        })
    }

    /// Events from now on. A subscriber that falls `event_capacity` behind sees `Lagged`.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// Stops every worker: operations end as stopped (recordings are finalised, their events
    /// sent) and the threads are joined (each finishes within one tick). Idempotent.
    pub fn shutdown(&self) {
        if self.inner.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        for w in &self.inner.workers {
            let _ = w.tx.send(Command::Shutdown);
        }
        let threads = std::mem::take(&mut *self.inner.threads.lock());
        for t in threads {
            let _ = t.join();
        }
        let mut state = self.inner.state.lock();
        state.legs.clear();
        state.conferences.clear();
    }

    /// Number of live legs.
    pub fn leg_count(&self) -> usize {
        self.inner.state.lock().legs.len()
    }

    fn send(&self, worker: usize, command: Command) -> Result<(), EngineError> {
        if self.inner.stopped.load(Ordering::SeqCst) {
            return Err(EngineError::Stopped);
        }
        self.inner.workers[worker]
            .tx
            .send(command)
            .map_err(|_| EngineError::Stopped)
    }

    fn worker_of(&self, leg: LegId) -> Result<usize, EngineError> {
        self.inner
            .state
            .lock()
            .legs
            .get(&leg)
            .map(|c| c.worker)
            .ok_or(EngineError::UnknownLeg(leg))
    }

    fn least_loaded(&self) -> usize {
        self.inner
            .workers
            .iter()
            .enumerate()
            .min_by_key(|(_, w)| w.load.load(Ordering::Relaxed))
            .map(|(i, _)| i)
            .unwrap_or(0)
    }

    /// Creates a leg: binds its RTP/RTCP sockets and returns our SDP, the answer to
    /// `remote_offer` or, without one, our offer (then call [`Engine::remote_answer`]).
    pub fn create_leg(&self, spec: LegSpec<'_>) -> Result<(LegId, String), EngineError> {
        self.create_leg_inner(spec, false)
    }

    /// Like [`Engine::create_leg`], but an offer made for the leg is RTP/SAVP with our SDES
    /// key (for TLS trunks). Offers received are answered with SRTP when they ask for it,
    /// whichever way the leg was created.
    pub fn create_srtp_leg(&self, spec: LegSpec<'_>) -> Result<(LegId, String), EngineError> {
        self.create_leg_inner(spec, true)
    }

    fn create_leg_inner(
        &self,
        spec: LegSpec<'_>,
        srtp_offer: bool,
    ) -> Result<(LegId, String), EngineError> {
        if self.inner.stopped.load(Ordering::SeqCst) {
            return Err(EngineError::Stopped);
        }
        let remote_offer = spec
            .remote_offer
            .map(str::parse::<SessionDescription>)
            .transpose()?;
        if self.inner.state.lock().legs.contains_key(&spec.id) {
            return Err(EngineError::LegExists(spec.id));
        }
        let sockets = self.inner.ports.bind()?;
        let session = self.inner.sessions.fetch_add(1, Ordering::Relaxed);
        let mut local = LocalMedia::new(self.inner.config.advertise_ip, sockets.port, session);
        local.username = "voxbin".to_string();
        let wants_srtp = match &remote_offer {
            Some(offer) => offer
                .media
                .iter()
                .any(|m| m.media == "audio" && m.port != 0 && m.protocol == "RTP/SAVP"),
            None => srtp_offer,
        };
        if wants_srtp {
            local.crypto = Some(CryptoAttribute::untagged(
                Suite::AesCm128HmacSha1_80,
                &MasterKey::random(),
            ));
        }
        let seed = random_u32(session);
        let mut srtp = None;
        let mut remote_crypto = None;
        let (sdp, stream, pending_offer) = match remote_offer {
            Some(offer) => {
                let (answer, negotiated) = sdp::answer(&offer, &local)?;
                srtp = srtp_session(&local, &negotiated)?;
                remote_crypto = negotiated.remote_crypto.clone();
                let config = StreamConfig::from_negotiated(
                    &negotiated,
                    seed,
                    &spec.id.to_string(),
                    (seed >> 16) as u16,
                    random_u32(session ^ 0x5eed),
                );
                (answer.to_string(), config, None)
            }
            None => {
                let offer = sdp::offer(&local);
                let config = StreamConfig {
                    ssrc: seed,
                    cname: spec.id.to_string(),
                    codec: crate::g711::G711::Pcmu,
                    payload_type: 0,
                    dtmf_payload_type: Some(local.dtmf_payload_type),
                    remote: None,
                    latch: true,
                    direction: Direction::SendRecv,
                    initial_sequence: (seed >> 16) as u16,
                    initial_timestamp: random_u32(session ^ 0x5eed),
                    rtcp_interval: std::time::Duration::from_secs(5),
                    jitter: crate::jitter::JitterConfig::default(),
                };
                (offer.to_string(), config, Some(offer))
            }
        };
        let worker = self.least_loaded();
        let mut leg = Leg::new(spec.id, sockets, stream);
        leg.set_srtp(srtp, remote_crypto, wants_srtp);
        {
            let mut state = self.inner.state.lock();
            if state.legs.contains_key(&spec.id) {
                return Err(EngineError::LegExists(spec.id));
            }
            state.legs.insert(
                spec.id,
                LegControl {
                    worker,
                    local,
                    pending_offer,
                    bridged: None,
                    conference: None,
                },
            );
            self.inner.workers[worker]
                .load
                .fetch_add(1, Ordering::Relaxed);
            // sent under the lock so no later command for this leg can overtake it
            self.send(worker, Command::AddLeg(Box::new(leg)))?;
        }
        Ok((spec.id, sdp))
    }

    /// Applies the peer's answer to the offer [`Engine::create_leg`] made.
    pub fn remote_answer(&self, leg: LegId, sdp: &str) -> Result<(), EngineError> {
        let answer: SessionDescription = sdp.parse()?;
        let mut state = self.inner.state.lock();
        let control = state
            .legs
            .get_mut(&leg)
            .ok_or(EngineError::UnknownLeg(leg))?;
        let offer = control
            .pending_offer
            .as_ref()
            .ok_or(EngineError::NoOfferOutstanding(leg))?;
        let negotiated = sdp::accept_answer(offer, &answer, &control.local)?;
        let srtp = srtp_session(&control.local, &negotiated)?.map(Box::new);
        control.pending_offer = None;
        let worker = control.worker;
        self.send(
            worker,
            Command::Update {
                leg,
                negotiated,
                srtp,
            },
        )
    }

    /// Answers the peer's re-offer (re-INVITE): new address or codec, or hold/unhold.
    pub fn remote_reoffer(&self, leg: LegId, sdp: &str) -> Result<Reoffer, EngineError> {
        let offer: SessionDescription = sdp.parse()?;
        let mut state = self.inner.state.lock();
        let control = state
            .legs
            .get_mut(&leg)
            .ok_or(EngineError::UnknownLeg(leg))?;
        control.local.session_version += 1;
        let (answer, negotiated) = sdp::answer(&offer, &control.local)?;
        let srtp = srtp_session(&control.local, &negotiated)?.map(Box::new);
        control.pending_offer = None;
        let remote_hold = !negotiated.direction.sends();
        let worker = control.worker;
        self.send(
            worker,
            Command::Update {
                leg,
                negotiated,
                srtp,
            },
        )?;
        Ok(Reoffer {
            answer: answer.to_string(),
            remote_hold,
        })
    }

    /// A new offer of ours for a re-INVITE: `hold` offers sendonly (the peer should play its
    /// own music), otherwise sendrecv. Answer it with [`Engine::remote_answer`].
    pub fn local_reoffer(&self, leg: LegId, hold: bool) -> Result<String, EngineError> {
        let mut state = self.inner.state.lock();
        let control = state
            .legs
            .get_mut(&leg)
            .ok_or(EngineError::UnknownLeg(leg))?;
        control.local.session_version += 1;
        control.local.direction = if hold {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        let offer = sdp::offer(&control.local);
        let text = offer.to_string();
        control.pending_offer = Some(offer);
        Ok(text)
    }

    /// Ends a leg: its operations end as stopped (events follow), its final `LegStats` and
    /// `LegDestroyed` are reported, an RTCP BYE is sent and its ports are freed.
    pub fn destroy_leg(&self, leg: LegId) -> Result<(), EngineError> {
        let mut state = self.inner.state.lock();
        let control = state
            .legs
            .remove(&leg)
            .ok_or(EngineError::UnknownLeg(leg))?;
        if let Some(peer) = control.bridged {
            if let Some(p) = state.legs.get_mut(&peer) {
                p.bridged = None;
            }
        }
        self.inner.workers[control.worker]
            .load
            .fetch_sub(1, Ordering::Relaxed);
        self.send(control.worker, Command::Destroy(leg))
    }

    /// Asks for a `LegStats` event of the leg.
    pub fn request_stats(&self, leg: LegId) -> Result<(), EngineError> {
        let w = self.worker_of(leg)?;
        self.send(w, Command::Stats(leg))
    }

    /// Plays `sources` back to back to the leg (replacing a running playback, which ends as
    /// stopped). Returns once the audio is loaded and playing; `PlaybackFinished` follows.
    /// Files and URLs are loaded off the async runtime; URLs are downloaded once.
    pub async fn play(
        &self,
        leg: LegId,
        op: OpId,
        sources: &[PlaySource],
    ) -> Result<(), EngineError> {
        self.worker_of(leg)?;
        let source = self.inner.audio.load(sources).await?;
        let w = self.worker_of(leg)?;
        self.send(w, Command::Play { leg, op, source })
    }

    /// Says `text` (a play of one [`PlaySource::Speech`]).
    pub async fn talk(
        &self,
        leg: LegId,
        op: OpId,
        text: &str,
        voice: &str,
        language: &str,
    ) -> Result<(), EngineError> {
        let speech = PlaySource::Speech {
            text: text.to_string(),
            voice: voice.to_string(),
            language: language.to_string(),
        };
        self.play(leg, op, std::slice::from_ref(&speech)).await
    }

    /// Stops the leg's playback (its `PlaybackFinished` says stopped).
    pub fn stop_playback(&self, leg: LegId) -> Result<(), EngineError> {
        let w = self.worker_of(leg)?;
        self.send(w, Command::StopPlayback(leg))
    }

    /// Echoes what the peer says back to it (`on = false` ends it with `EchoFinished`).
    pub fn echo(&self, leg: LegId, op: OpId, on: bool) -> Result<(), EngineError> {
        let w = self.worker_of(leg)?;
        self.send(w, Command::Echo { leg, op, on })
    }

    /// Collects digits; `DigitsCollected` follows. Every digit is also `DtmfReceived`.
    pub fn collect_digits(
        &self,
        leg: LegId,
        op: OpId,
        spec: CollectSpec,
    ) -> Result<(), EngineError> {
        if spec.max_digits == 0
            && spec.terminators.is_empty()
            && spec.inter_digit_timeout.is_none()
            && spec.total_timeout.is_none()
        {
            return Err(EngineError::BadRequest(
                "digit collection needs a maximum, a terminator or a timeout".into(),
            ));
        }
        let w = self.worker_of(leg)?;
        self.send(w, Command::Collect { leg, op, spec })
    }

    /// Ends a digit collection early (`DigitsCollected` with reason stopped).
    pub fn stop_collect(&self, leg: LegId) -> Result<(), EngineError> {
        let w = self.worker_of(leg)?;
        self.send(w, Command::StopCollect(leg))
    }

    /// Sends digits as RFC 4733 events, each `duration_ms` long (40..=2000), then
    /// `DigitsSent`. Fails with `DtmfNotNegotiated` (reported by event) when the peer has no
    /// telephone-event.
    pub fn send_digits(
        &self,
        leg: LegId,
        op: OpId,
        digits: &str,
        duration_ms: u32,
    ) -> Result<(), EngineError> {
        if digits.is_empty() || digits.len() > 64 {
            return Err(EngineError::BadRequest(
                "digits: 1 to 64 of 0-9 * # A-D".into(),
            ));
        }
        if let Some(bad) = digits
            .chars()
            .find(|c| crate::dtmf::event_code(*c).is_err())
        {
            return Err(EngineError::BadRequest(format!(
                "digits: {bad:?} is not a DTMF key"
            )));
        }
        if !(40..=2000).contains(&duration_ms) {
            return Err(EngineError::BadRequest(format!(
                "duration_ms: {duration_ms} is not in 40..=2000"
            )));
        }
        let w = self.worker_of(leg)?;
        self.send(
            w,
            Command::SendDigits {
                leg,
                op,
                digits: digits.to_ascii_uppercase(),
                duration_ms,
            },
        )
    }

    fn open_recording(&self, op: OpId) -> Result<(BufWriter<File>, PathBuf), EngineError> {
        let path = self.inner.config.recordings_dir.join(format!("{op}.wav"));
        let file = File::create(&path)
            .map_err(|e| EngineError::Media(format!("recording {}: {e}", path.display())))?;
        Ok((BufWriter::with_capacity(RECORD_BUFFER, file), path))
    }

    /// Records the leg into `<recordings_dir>/<op>.wav` (8 kHz 16-bit mono), returning the
    /// path; `RecordingFinished` follows. A running recording of the leg ends as stopped.
    pub fn record(&self, leg: LegId, op: OpId, spec: RecordSpec) -> Result<PathBuf, EngineError> {
        let w = self.worker_of(leg)?;
        let (file, path) = self.open_recording(op)?;
        self.send(
            w,
            Command::Record {
                leg,
                op,
                spec,
                file,
                path: path.clone(),
            },
        )?;
        Ok(path)
    }

    /// Stops the leg's recording.
    pub fn stop_record(&self, leg: LegId) -> Result<(), EngineError> {
        let w = self.worker_of(leg)?;
        self.send(w, Command::StopRecord(leg))
    }

    /// Holds the leg (it hears music on hold; its bridge peer or conference no longer hears
    /// it) or resumes it.
    pub fn hold(&self, leg: LegId, on: bool) -> Result<(), EngineError> {
        let w = self.worker_of(leg)?;
        self.send(w, Command::Hold { leg, on })
    }

    /// Starts or stops sending the leg's RTP and RTCP; a leg sends from its creation unless
    /// told otherwise (an incoming leg waits for its 183 or 200: until then the peer has no
    /// address of ours to expect media from).
    pub fn set_sending(&self, leg: LegId, on: bool) -> Result<(), EngineError> {
        let w = self.worker_of(leg)?;
        self.send(w, Command::Sending { leg, on })
    }

    /// Mutes or unmutes a direction of the leg.
    pub fn mute(&self, leg: LegId, direction: MuteDirection, on: bool) -> Result<(), EngineError> {
        let w = self.worker_of(leg)?;
        self.send(w, Command::Mute { leg, direction, on })
    }

    /// Moves `leg` to worker `to` (under the state lock), so it can be mixed with legs there.
    fn migrate(&self, state: &mut State, leg: LegId, to: usize) -> Result<(), EngineError> {
        let control = state
            .legs
            .get_mut(&leg)
            .ok_or(EngineError::UnknownLeg(leg))?;
        let from = control.worker;
        if from == to {
            return Ok(());
        }
        // the target first learns to hold the leg's commands, then the source hands it over
        self.send(to, Command::Expect(leg))?;
        self.send(from, Command::Migrate { leg, to })?;
        control.worker = to;
        self.inner.workers[from]
            .load
            .fetch_sub(1, Ordering::Relaxed);
        self.inner.workers[to].load.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Connects two legs: each hears the other. Neither may be bridged or in a conference.
    pub fn bridge(&self, a: LegId, b: LegId) -> Result<(), EngineError> {
        if a == b {
            return Err(EngineError::BadRequest(
                "a leg cannot be bridged to itself".into(),
            ));
        }
        let mut state = self.inner.state.lock();
        for id in [a, b] {
            let c = state.legs.get(&id).ok_or(EngineError::UnknownLeg(id))?;
            if c.bridged.is_some() {
                return Err(EngineError::Busy(id, "already bridged"));
            }
            if c.conference.is_some() {
                return Err(EngineError::Busy(id, "in a conference"));
            }
        }
        let to = state.legs[&a].worker;
        self.migrate(&mut state, b, to)?;
        if let Some(c) = state.legs.get_mut(&a) {
            c.bridged = Some(b);
        }
        if let Some(c) = state.legs.get_mut(&b) {
            c.bridged = Some(a);
        }
        self.send(to, Command::Bridge { a, b })
    }

    /// Disconnects the leg from its bridge peer (both then hear nothing but their own
    /// operations).
    pub fn unbridge(&self, leg: LegId) -> Result<(), EngineError> {
        let mut state = self.inner.state.lock();
        let control = state
            .legs
            .get_mut(&leg)
            .ok_or(EngineError::UnknownLeg(leg))?;
        let peer = control
            .bridged
            .take()
            .ok_or(EngineError::Busy(leg, "not bridged"))?;
        let w = control.worker;
        if let Some(p) = state.legs.get_mut(&peer) {
            p.bridged = None;
        }
        self.send(w, Command::Unbridge(leg))
    }

    /// Creates a conference; `tones` plays entry and exit tones to its members.
    pub fn conference_create(
        &self,
        conference: ConferenceId,
        tones: bool,
    ) -> Result<(), EngineError> {
        let mut state = self.inner.state.lock();
        if state.conferences.contains_key(&conference) {
            return Err(EngineError::ConferenceExists(conference));
        }
        let w = self.least_loaded();
        state.conferences.insert(conference, w);
        self.send(w, Command::ConferenceCreate { conference, tones })
    }

    /// Ends a conference: members leave it (their legs stay), its recording finishes.
    pub fn conference_destroy(&self, conference: ConferenceId) -> Result<(), EngineError> {
        let mut state = self.inner.state.lock();
        let w = state
            .conferences
            .remove(&conference)
            .ok_or(EngineError::UnknownConference(conference))?;
        for c in state.legs.values_mut() {
            if c.conference == Some(conference) {
                c.conference = None;
            }
        }
        self.send(w, Command::ConferenceDestroy(conference))
    }

    /// Adds a leg to a conference: it hears every other member, they hear it unless `muted`.
    pub fn conference_join(
        &self,
        conference: ConferenceId,
        leg: LegId,
        muted: bool,
    ) -> Result<(), EngineError> {
        let mut state = self.inner.state.lock();
        let w = *state
            .conferences
            .get(&conference)
            .ok_or(EngineError::UnknownConference(conference))?;
        let c = state.legs.get(&leg).ok_or(EngineError::UnknownLeg(leg))?;
        if c.bridged.is_some() {
            return Err(EngineError::Busy(leg, "bridged"));
        }
        if c.conference.is_some() {
            return Err(EngineError::Busy(leg, "already in a conference"));
        }
        self.migrate(&mut state, leg, w)?;
        if let Some(c) = state.legs.get_mut(&leg) {
            c.conference = Some(conference);
        }
        self.send(
            w,
            Command::Join {
                conference,
                leg,
                muted,
            },
        )
    }

    /// Takes a leg out of its conference.
    pub fn conference_leave(&self, leg: LegId) -> Result<(), EngineError> {
        let mut state = self.inner.state.lock();
        let c = state
            .legs
            .get_mut(&leg)
            .ok_or(EngineError::UnknownLeg(leg))?;
        c.conference
            .take()
            .ok_or(EngineError::Busy(leg, "not in a conference"))?;
        let w = c.worker;
        self.send(w, Command::Leave(leg))
    }

    /// Mutes or unmutes a member towards the conference.
    pub fn conference_mute(&self, leg: LegId, muted: bool) -> Result<(), EngineError> {
        self.mute(leg, MuteDirection::In, muted)
    }

    /// Records a conference's mix into `<recordings_dir>/<op>.wav`; returns the path.
    pub fn conference_record(
        &self,
        conference: ConferenceId,
        op: OpId,
        spec: RecordSpec,
    ) -> Result<PathBuf, EngineError> {
        let w = *self
            .inner
            .state
            .lock()
            .conferences
            .get(&conference)
            .ok_or(EngineError::UnknownConference(conference))?;
        let (file, path) = self.open_recording(op)?;
        self.send(
            w,
            Command::ConferenceRecord {
                conference,
                op,
                spec,
                file,
                path: path.clone(),
            },
        )?;
        Ok(path)
    }

    /// Stops a conference's recording.
    pub fn conference_stop_record(&self, conference: ConferenceId) -> Result<(), EngineError> {
        let w = *self
            .inner
            .state
            .lock()
            .conferences
            .get(&conference)
            .ok_or(EngineError::UnknownConference(conference))?;
        self.send(w, Command::ConferenceStopRecord(conference))
    }

    /// Streams the leg's audio both ways to an audiosocket server (TLV over TCP, 8 kHz
    /// s16le): what the peer says goes to the server, what the server sends is played to
    /// the peer. Needs a tokio runtime; `ExternalMediaFinished` follows when it ends.
    pub async fn external_media(
        &self,
        leg: LegId,
        op: OpId,
        spec: ExternalMediaSpec,
    ) -> Result<(), EngineError> {
        self.worker_of(leg)?;
        let link = external::connect(leg, op, spec, self.inner.events.clone()).await?;
        let w = self.worker_of(leg)?;
        self.send(w, Command::External { leg, op, link })
    }

    /// Ends the leg's external media.
    pub fn stop_external_media(&self, leg: LegId) -> Result<(), EngineError> {
        let w = self.worker_of(leg)?;
        self.send(w, Command::StopExternal(leg))
    }
}
