//! One call leg inside a worker: its sockets and RTP stream, and the state of the operations
//! running on it (playback, echo, digit collection and sending, recording, hold, mute,
//! external media). Each tick has two halves: [`Leg::receive`] drains the socket and decodes
//! this tick's inbound frame; [`Leg::send`] builds what the peer hears from the bridge or
//! conference audio and the leg's own operations, records it and sends one packet.

use std::io::{ErrorKind, Write};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;

use crate::dtmf::{DtmfDetector, DtmfError, DtmfEvent};
use crate::g711::{Frame, FRAME_SAMPLES};
use crate::mixer::{mix_two, ParticipantId};
use crate::player::{FinishReason, Player, Source};
use crate::recorder::{RecordConfig, RecordSinks, Recorder, StopReason};
use crate::sdp::Negotiated;
use crate::srtp::SrtpSession;
use crate::stream::{Received, RtpStream, StreamConfig, StreamEvent};
use crate::tone::{ToneGenerator, ToneSpec};
use crate::wav::WavFormat;

use super::super::event::{
    CollectReason, EngineEvent, EventKind, LegStats, PlaybackReason, RecordReason,
};
use super::super::external::ExternalLink;
use super::super::ids::{ConferenceId, LegId, OpId};
use super::super::ops::{CollectSpec, MuteDirection, RecordDirection, RecordSpec};
use super::super::ports::SocketPair;
use super::collect::Collector;
use super::command::RecordFile;

/// Silence, for legs that contribute nothing this tick.
pub(crate) const SILENCE: Frame = [0; FRAME_SAMPLES];
/// Most datagrams read from one socket per tick (a flood cannot starve the other legs).
const MAX_READS: usize = 32;
/// RTCP sockets are read every this many ticks (reports come every few seconds).
const RTCP_READ_EVERY: u64 = 10;
/// Ticks between two sent digits.
const DIGIT_GAP_TICKS: u32 = 3;
/// Ticks a recording waits after its beep (the beep is 250 ms).
const BEEP_TICKS: u32 = 15;

/// What a worker hands to a leg for a tick.
pub(crate) struct TickCtx<'a> {
    /// Monotonic time since the worker started.
    pub now: Duration,
    /// The tick number.
    pub tick: u64,
    /// Datagram scratch space shared by all legs of the worker.
    pub scratch: &'a mut [u8],
    /// Where events go.
    pub events: &'a broadcast::Sender<EngineEvent>,
    /// No RTP for this long reports a timeout.
    pub rtp_timeout: Option<Duration>,
}

/// Sends an event (nobody listening is fine).
pub(crate) fn emit(
    events: &broadcast::Sender<EngineEvent>,
    leg: Option<LegId>,
    conference: Option<ConferenceId>,
    op: Option<OpId>,
    kind: EventKind,
) {
    let _ = events.send(EngineEvent {
        at: SystemTime::now(),
        leg,
        conference,
        op,
        kind,
    });
}

/// A recording in progress (of a leg or a conference).
pub(crate) struct Recording {
    pub op: OpId,
    pub path: PathBuf,
    pub recorder: Recorder<RecordFile>,
    /// Ticks to wait before recording (after the beep).
    pub delay: u32,
}

impl Recording {
    /// Starts a recording of `direction` into `file`.
    pub fn start(
        op: OpId,
        spec: &RecordSpec,
        file: RecordFile,
        path: PathBuf,
    ) -> Result<Self, String> {
        let config = RecordConfig {
            stop_on_silence: spec.stop_on_silence,
            silence_rms: 300.0,
            stop_keys: spec.stop_keys.clone(),
            max_duration: spec.max_duration,
            format: WavFormat::Pcm16,
        };
        let mut sinks = RecordSinks {
            inbound: None,
            outbound: None,
            mixed: None,
        };
        match spec.direction {
            RecordDirection::In => sinks.inbound = Some(file),
            RecordDirection::Out => sinks.outbound = Some(file),
            RecordDirection::Both => sinks.mixed = Some(file),
        }
        let recorder = Recorder::new(config, sinks).map_err(|e| e.to_string())?;
        Ok(Recording {
            op,
            path,
            recorder,
            delay: if spec.beep { BEEP_TICKS } else { 0 },
        })
    }

    /// Closes the file and reports it; `reason` overrides the recorder's own when given.
    pub fn finish(
        self,
        reason: Option<RecordReason>,
        events: &broadcast::Sender<EngineEvent>,
        leg: Option<LegId>,
        conference: Option<ConferenceId>,
    ) {
        let (op, path) = (self.op, self.path);
        let (duration_ms, reason) = match self.recorder.finish() {
            Ok(summary) => {
                let mut flushed = Ok(());
                for mut w in [
                    summary.sinks.inbound,
                    summary.sinks.outbound,
                    summary.sinks.mixed,
                ]
                .into_iter()
                .flatten()
                {
                    flushed = flushed.and(w.flush());
                }
                let own = match summary.reason {
                    StopReason::Silence => RecordReason::Silence,
                    StopReason::Key(k) => RecordReason::Key(k),
                    StopReason::MaxDuration => RecordReason::MaxDuration,
                    StopReason::Requested => RecordReason::Stopped,
                };
                let reason = match flushed {
                    Err(e) => RecordReason::Failed(e.to_string()),
                    Ok(()) => reason.unwrap_or(own),
                };
                (summary.duration_ms, reason)
            }
            Err(e) => (0, RecordReason::Failed(e.to_string())),
        };
        emit(
            events,
            leg,
            conference,
            Some(op),
            EventKind::RecordingFinished {
                path,
                duration_ms,
                reason,
            },
        );
    }
}

struct DigitsOut {
    op: OpId,
    digits: String,
    next: usize,
    duration_ms: u32,
    wait: u32,
    /// In-band tone of the current digit when the peer has no telephone-event.
    inband: Option<ToneGenerator>,
}

/// One leg.
pub(crate) struct Leg {
    pub id: LegId,
    rtp: UdpSocket,
    rtcp: UdpSocket,
    stream: RtpStream,
    inbound: Frame,
    play_frame: Frame,
    player: Player,
    play_op: Option<(u64, Option<OpId>)>,
    next_play: u64,
    echo: Option<OpId>,
    collect: Option<(OpId, Collector)>,
    digits_out: Option<DigitsOut>,
    recording: Option<Recording>,
    hold: Option<(Player, Source)>,
    mute_in: bool,
    mute_out: bool,
    /// Whether packets go to the peer at all (off: an incoming leg not answered yet).
    sending: bool,
    receiving: bool,
    last_rx: Duration,
    timed_out: bool,
    external: Option<(OpId, ExternalLink)>,
    /// The bridge peer and its slot in the worker.
    pub bridge: Option<(LegId, usize)>,
    /// The conference and our place in its mixer.
    pub conference: Option<(ConferenceId, ParticipantId)>,
    /// The packet prepared last tick, sent at the start of the next one.
    wire: [u8; WIRE],
    pending: Option<(std::net::SocketAddr, usize)>,
    /// The peer the RTP socket is connected to (set once its RTP is latched).
    connected: Option<std::net::SocketAddr>,
    /// Listens for in-band tone pairs when the peer has no RFC 4733 telephone-event.
    inband: Option<Box<DtmfDetector>>,
    /// After the peer moved (re-offer), its old address until then: stragglers from there
    /// must not be latched onto instead of the new address.
    ignore_from: Option<(std::net::SocketAddr, Duration)>,
    /// SRTP keys and state when the leg negotiated RTP/SAVP.
    srtp: Option<Box<SrtpSession>>,
    /// The peer's crypto line the session was made from (a re-offer with the same keys keeps
    /// the rollover and replay state).
    srtp_remote: Option<String>,
    /// We offered SRTP and wait for the answer: plain packets are not accepted meanwhile.
    srtp_required: bool,
    /// Packets dropped for failing SRTP/SRTCP authentication (or arriving unprotected).
    srtp_rejected: u64,
}

/// Protects an outgoing RTCP packet when the leg uses SRTP; `None`: do not send it.
fn protect_rtcp(srtp: &mut Option<Box<SrtpSession>>, buf: &mut [u8], n: usize) -> Option<usize> {
    match srtp {
        Some(s) => s.protect_rtcp(buf, n).ok(),
        None => Some(n),
    }
}

/// How long packets from a peer's old address are ignored after it moved.
const MOVE_GRACE: Duration = Duration::from_millis(500);

/// Dissolves a UDP socket's association (connect to AF_UNSPEC), so it receives from anyone.
fn disconnect(socket: &UdpSocket) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a zeroed sockaddr with family AF_UNSPEC is the documented way to disconnect
    let rc = unsafe {
        let mut addr: libc::sockaddr = std::mem::zeroed();
        addr.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
        libc::connect(
            socket.as_raw_fd(),
            &addr,
            std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Room for one outgoing RTP packet (12-byte header + 160 bytes, or a DTMF event).
const WIRE: usize = 256;

impl Leg {
    /// A leg on its sockets with its stream settings.
    pub fn new(id: LegId, sockets: SocketPair, config: StreamConfig) -> Self {
        let inband = config.dtmf_payload_type.is_none();
        let mut leg = Leg {
            id,
            rtp: sockets.rtp,
            rtcp: sockets.rtcp,
            receiving: config.direction.receives(),
            stream: RtpStream::new(config),
            inbound: SILENCE,
            play_frame: SILENCE,
            player: Player::new(),
            play_op: None,
            next_play: 1,
            echo: None,
            collect: None,
            digits_out: None,
            recording: None,
            hold: None,
            mute_in: false,
            mute_out: false,
            sending: true,
            last_rx: Duration::ZERO,
            timed_out: false,
            external: None,
            bridge: None,
            conference: None,
            wire: [0; WIRE],
            pending: None,
            connected: None,
            inband: None,
            ignore_from: None,
            srtp: None,
            srtp_remote: None,
            srtp_required: false,
            srtp_rejected: 0,
        };
        leg.set_inband(inband);
        leg
    }

    /// Protects this leg's media with `srtp`, made from the peer's crypto line `remote`;
    /// `required` without a session: SRTP was offered, only protected media is accepted.
    pub fn set_srtp(&mut self, srtp: Option<SrtpSession>, remote: Option<String>, required: bool) {
        self.srtp_required = required || srtp.is_some();
        self.srtp = srtp.map(Box::new);
        self.srtp_remote = remote;
    }

    /// Starts or stops sending to the peer; stopping also drops the packet not yet sent.
    pub fn set_sending(&mut self, on: bool) {
        self.sending = on;
        if !on {
            self.pending = None;
        }
    }

    fn set_inband(&mut self, on: bool) {
        if on != self.inband.is_some() {
            self.inband = on.then(|| Box::new(DtmfDetector::default()));
        }
    }

    /// Sends the packet prepared on the previous tick. All legs send first thing in a tick,
    /// so how long receiving and mixing take never moves a leg's send time (steady 20 ms
    /// spacing at the cost of one frame of latency).
    pub fn flush(&mut self) {
        if let Some((to, mut n)) = self.pending.take() {
            if let Some(srtp) = &mut self.srtp {
                match srtp.protect_rtp(&mut self.wire, n) {
                    Ok(m) => n = m,
                    Err(_) => return,
                }
            }
            let _ = if self.connected == Some(to) {
                self.rtp.send(&self.wire[..n])
            } else {
                self.rtp.send_to(&self.wire[..n], to)
            };
        }
    }

    fn emit(&self, events: &broadcast::Sender<EngineEvent>, op: Option<OpId>, kind: EventKind) {
        emit(events, Some(self.id), None, op, kind);
    }

    /// Starts the RTP timeout clock (on arrival at a worker).
    pub fn arm(&mut self, now: Duration) {
        self.last_rx = now;
    }

    /// Applies an SDP outcome.
    pub fn update(&mut self, n: &Negotiated, srtp: Option<SrtpSession>, now: Duration) {
        if n.remote_crypto != self.srtp_remote || srtp.is_none() {
            self.set_srtp(srtp, n.remote_crypto.clone(), false);
        }
        let old = self.stream.remote();
        if old.is_some() && n.remote_rtp != old {
            self.ignore_from = old.map(|a| (a, now + MOVE_GRACE));
        }
        if self.connected.is_some() && n.remote_rtp != self.connected {
            // the peer moves: accept its RTP from anywhere again until it is latched anew
            if disconnect(&self.rtp).is_ok() {
                self.connected = None;
            }
        }
        self.stream.update(n);
        self.set_inband(n.dtmf_payload_type.is_none());
        self.receiving = n.direction.receives();
        self.last_rx = now;
        self.timed_out = false;
    }

    /// What others hear from this leg this tick.
    pub fn contribution(&self) -> &Frame {
        if self.mute_in || self.hold.is_some() {
            &SILENCE
        } else {
            &self.inbound
        }
    }

    /// Counters.
    pub fn stats(&self) -> LegStats {
        let s = self.stream.stats();
        LegStats {
            packets_sent: s.packets_sent,
            packets_received: s.packets_received,
            packets_lost: s.lost,
            jitter_ms: s.jitter / 8,
            malformed: s.malformed,
            frames_missing: s.buffer.missing + s.buffer.skipped,
            srtp_rejected: self.srtp_rejected,
        }
    }

    fn finish_playback(
        &mut self,
        reason: FinishReason,
        position_ms: u64,
        events: &broadcast::Sender<EngineEvent>,
    ) {
        if let Some((_, Some(op))) = self.play_op.take() {
            let reason = match reason {
                FinishReason::Completed => PlaybackReason::Completed,
                FinishReason::Stopped => PlaybackReason::Stopped,
            };
            self.emit(
                events,
                Some(op),
                EventKind::PlaybackFinished {
                    reason,
                    position_ms,
                },
            );
        }
    }

    /// Plays `source`; `op` is `None` for internal prompts (the record beep).
    pub fn play(
        &mut self,
        op: Option<OpId>,
        source: Source,
        events: &broadcast::Sender<EngineEvent>,
    ) {
        let id = self.next_play;
        self.next_play += 1;
        if let Some(done) = self.player.play(id, source) {
            self.finish_playback(done.reason, done.position_ms, events);
        }
        self.play_op = Some((id, op));
    }

    /// Stops the playback.
    pub fn stop_playback(&mut self, events: &broadcast::Sender<EngineEvent>) {
        if let Some(done) = self.player.stop() {
            self.finish_playback(done.reason, done.position_ms, events);
        }
    }

    /// Starts or ends echo.
    pub fn echo(&mut self, op: OpId, on: bool, events: &broadcast::Sender<EngineEvent>) {
        if let Some(old) = self.echo.take() {
            self.emit(events, Some(old), EventKind::EchoFinished);
        }
        if on {
            self.echo = Some(op);
        }
    }

    /// Starts a digit collection (a running one ends as stopped).
    pub fn collect(
        &mut self,
        op: OpId,
        spec: CollectSpec,
        now: Duration,
        events: &broadcast::Sender<EngineEvent>,
    ) {
        self.stop_collect(events);
        self.collect = Some((op, Collector::new(spec, now)));
    }

    fn end_collect(&mut self, reason: CollectReason, events: &broadcast::Sender<EngineEvent>) {
        if let Some((op, c)) = self.collect.take() {
            self.emit(
                events,
                Some(op),
                EventKind::DigitsCollected {
                    digits: c.into_digits(),
                    reason,
                },
            );
        }
    }

    /// Stops the digit collection.
    pub fn stop_collect(&mut self, events: &broadcast::Sender<EngineEvent>) {
        self.end_collect(CollectReason::Stopped, events);
    }

    /// Queues digits to send (replacing digits not yet sent).
    pub fn send_digits(
        &mut self,
        op: OpId,
        digits: String,
        duration_ms: u32,
        events: &broadcast::Sender<EngineEvent>,
    ) {
        if let Some(old) = self.digits_out.take() {
            let sent = old.digits[..old.next].to_string();
            self.emit(events, Some(old.op), EventKind::DigitsSent { digits: sent });
        }
        self.digits_out = Some(DigitsOut {
            op,
            digits,
            next: 0,
            duration_ms,
            wait: 0,
            inband: None,
        });
    }

    /// Starts recording (a running recording ends as stopped).
    pub fn record(
        &mut self,
        op: OpId,
        spec: RecordSpec,
        file: RecordFile,
        path: PathBuf,
        events: &broadcast::Sender<EngineEvent>,
    ) {
        self.stop_record(events);
        match Recording::start(op, &spec, file, path.clone()) {
            Ok(r) => {
                if spec.beep {
                    self.play(None, Source::Tone(ToneSpec::beep()), events);
                }
                self.recording = Some(r);
            }
            Err(e) => self.emit(
                events,
                Some(op),
                EventKind::RecordingFinished {
                    path,
                    duration_ms: 0,
                    reason: RecordReason::Failed(e),
                },
            ),
        }
    }

    /// Stops the recording.
    pub fn stop_record(&mut self, events: &broadcast::Sender<EngineEvent>) {
        if let Some(r) = self.recording.take() {
            r.finish(Some(RecordReason::Stopped), events, Some(self.id), None);
        }
    }

    /// Holds (music on hold to the peer, silence from it) or resumes.
    pub fn hold(&mut self, on: bool, music: &Source) {
        self.hold = on.then(|| {
            let mut p = Player::new();
            p.play(0, music.clone());
            (p, music.clone())
        });
    }

    /// Mutes or unmutes.
    pub fn mute(&mut self, direction: MuteDirection, on: bool) {
        if direction.inbound() {
            self.mute_in = on;
        }
        if direction.outbound() {
            self.mute_out = on;
        }
    }

    /// Attaches external media (a running session ends).
    pub fn external(&mut self, op: OpId, link: ExternalLink) {
        self.external = Some((op, link));
    }

    /// Detaches external media (its task reports the end).
    pub fn stop_external(&mut self) {
        self.external = None;
    }

    /// Ends every operation as stopped and reports the final counters; the leg is then
    /// dropped. Sends RTCP BYE.
    pub fn close(
        &mut self,
        now: Duration,
        scratch: &mut [u8],
        events: &broadcast::Sender<EngineEvent>,
    ) {
        self.stop_playback(events);
        self.stop_collect(events);
        if let Some(op) = self.echo.take() {
            self.emit(events, Some(op), EventKind::EchoFinished);
        }
        if let Some(old) = self.digits_out.take() {
            let sent = old.digits[..old.next].to_string();
            self.emit(events, Some(old.op), EventKind::DigitsSent { digits: sent });
        }
        self.stop_record(events);
        self.external = None;
        if let Ok(Some((to, n))) = self.stream.bye(now, scratch) {
            if let Some(n) = protect_rtcp(&mut self.srtp, scratch, n) {
                let _ = self.rtcp.send_to(&scratch[..n], to);
            }
        }
        let stats = self.stats();
        self.emit(events, None, EventKind::LegStats(stats));
        self.emit(events, None, EventKind::LegDestroyed);
    }

    /// First half of a tick: read datagrams, handle DTMF and timeouts, decode the inbound
    /// frame.
    pub fn receive(&mut self, ctx: &mut TickCtx<'_>, slot: usize) {
        let now = ctx.now;
        for _ in 0..MAX_READS {
            match self.rtp.recv_from(ctx.scratch) {
                Ok((mut n, from)) => {
                    if let Some(srtp) = &mut self.srtp {
                        match srtp.unprotect_rtp(&mut ctx.scratch[..n]) {
                            Ok(m) => n = m,
                            Err(_) => {
                                self.srtp_rejected += 1;
                                continue;
                            }
                        }
                    } else if self.srtp_required {
                        self.srtp_rejected += 1;
                        continue;
                    }
                    if let Some((old, until)) = self.ignore_from {
                        if now >= until {
                            self.ignore_from = None;
                        } else if from == old {
                            continue;
                        }
                    }
                    if let Ok(Received::Audio | Received::Dtmf) =
                        self.stream.receive_rtp(from, &ctx.scratch[..n], now)
                    {
                        self.last_rx = now;
                        self.timed_out = false;
                        // a connected socket sends without a route lookup per packet and
                        // drops strays in the kernel; latching already ignores other sources
                        if self.connected != Some(from)
                            && self.stream.remote() == Some(from)
                            && self.rtp.connect(from).is_ok()
                        {
                            self.connected = Some(from);
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                // ICMP errors surface here on some systems; the next tick reads on
                Err(_) => break,
            }
        }
        if (ctx.tick + slot as u64).is_multiple_of(RTCP_READ_EVERY) {
            for _ in 0..MAX_READS {
                match self.rtcp.recv_from(ctx.scratch) {
                    Ok((mut n, from)) => {
                        if let Some(srtp) = &mut self.srtp {
                            match srtp.unprotect_rtcp(&mut ctx.scratch[..n]) {
                                Ok(m) => n = m,
                                Err(_) => {
                                    self.srtp_rejected += 1;
                                    continue;
                                }
                            }
                        } else if self.srtp_required {
                            self.srtp_rejected += 1;
                            continue;
                        }
                        let _ = self.stream.receive_rtcp(from, &ctx.scratch[..n], now);
                    }
                    Err(_) => break,
                }
            }
        }
        self.stream.on_timer(now);
        while let Some(e) = self.stream.poll_event() {
            match e {
                StreamEvent::Dtmf(DtmfEvent::Started { .. }) => {
                    if self.collect.as_ref().is_some_and(|(_, c)| c.barge_in()) {
                        self.stop_playback(ctx.events);
                    }
                }
                StreamEvent::Dtmf(DtmfEvent::Ended {
                    digit, duration, ..
                }) => self.on_digit(digit, u32::from(duration) / 8, now, ctx.events),
                StreamEvent::RemoteBye => self.emit(ctx.events, None, EventKind::RemoteBye),
                StreamEvent::DtmfSent(_)
                | StreamEvent::Latched(_)
                | StreamEvent::SsrcChanged(_) => {}
            }
        }
        self.stream.inbound_frame(&mut self.inbound);
        if let Some(detector) = &mut self.inband {
            let mut heard = None;
            detector.process(&self.inbound, |d| heard = Some(d.digit));
            if let Some(digit) = heard {
                if self.collect.as_ref().is_some_and(|(_, c)| c.barge_in()) {
                    self.stop_playback(ctx.events);
                }
                self.on_digit(digit, 0, now, ctx.events);
            }
        }
        if let Some(timeout) = ctx.rtp_timeout {
            if self.receiving && !self.timed_out && now.saturating_sub(self.last_rx) >= timeout {
                self.timed_out = true;
                self.emit(ctx.events, None, EventKind::RtpTimeout);
            }
        }
    }

    /// A digit ended (RFC 4733) or was heard in-band (`duration_ms` 0: length unknown).
    fn on_digit(
        &mut self,
        digit: char,
        duration_ms: u32,
        now: Duration,
        events: &broadcast::Sender<EngineEvent>,
    ) {
        self.emit(events, None, EventKind::DtmfReceived { digit, duration_ms });
        if let Some((_, c)) = &mut self.collect {
            if let Some(reason) = c.on_digit(digit, now) {
                self.end_collect(reason, events);
            }
        }
        if let Some(r) = &mut self.recording {
            if r.delay == 0 && r.recorder.on_digit(digit).is_some() {
                if let Some(r) = self.recording.take() {
                    r.finish(None, events, Some(self.id), None);
                }
            }
        }
    }

    fn digits_tick(&mut self, out: &mut Frame, events: &broadcast::Sender<EngineEvent>) {
        let Some(d) = &mut self.digits_out else {
            return;
        };
        if let Some(g) = &mut d.inband {
            let mut tone = SILENCE;
            g.fill(&mut tone);
            let mixed = *out;
            mix_two(&mixed, &tone, out);
            if g.finished() {
                d.inband = None;
                d.wait = DIGIT_GAP_TICKS;
            }
            return;
        }
        if self.stream.sending_dtmf() {
            return;
        }
        if d.wait > 0 {
            d.wait -= 1;
            return;
        }
        let Some(digit) = d.digits[d.next..].chars().next() else {
            if let Some(d) = self.digits_out.take() {
                self.emit(
                    events,
                    Some(d.op),
                    EventKind::DigitsSent { digits: d.digits },
                );
            }
            return;
        };
        d.next += digit.len_utf8();
        d.wait = DIGIT_GAP_TICKS;
        match self.stream.send_dtmf(digit, d.duration_ms) {
            Ok(()) => {}
            Err(DtmfError::NotNegotiated) => {
                // no telephone-event with this peer: the tone pair goes in-band
                d.inband = ToneSpec::dtmf(digit, d.duration_ms)
                    .ok()
                    .map(ToneGenerator::new);
            }
            Err(_) => {}
        }
    }

    /// Second half of a tick: what the peer hears (`heard` from a bridge or conference plus
    /// this leg's operations), recorded and packed for sending at the next tick's start.
    pub fn send(&mut self, heard: Option<&Frame>, ctx: &mut TickCtx<'_>) {
        let mut out = match heard {
            Some(f) => *f,
            None => SILENCE,
        };
        if let Some((moh, music)) = &mut self.hold {
            if moh.fill(&mut out).is_some() {
                // music on hold loops (a shared buffer: the restart copies no audio)
                moh.play(0, music.clone());
            }
        }
        if self.echo.is_some() {
            out = *self.contribution();
        }
        if let Some((_, link)) = &self.external {
            let alive = link.send(self.contribution()) && {
                let mut ext = SILENCE;
                match link.receive(&mut ext) {
                    Some(true) => {
                        let base = out;
                        mix_two(&base, &ext, &mut out);
                        true
                    }
                    Some(false) => true,
                    None => false,
                }
            };
            if !alive {
                self.external = None;
            }
        }
        if self.player.is_playing() {
            let done = self.player.fill(&mut self.play_frame);
            if heard.is_none() && self.hold.is_none() && self.echo.is_none() {
                out = self.play_frame;
            } else {
                let base = out;
                mix_two(&base, &self.play_frame, &mut out);
            }
            if let Some(done) = done {
                self.finish_playback(done.reason, done.position_ms, ctx.events);
            }
        }
        self.digits_tick(&mut out, ctx.events);
        if self.mute_out {
            out = SILENCE;
        }
        if let Some(r) = &mut self.recording {
            if r.delay > 0 {
                r.delay -= 1;
            } else {
                let result = r.recorder.on_frame(&self.inbound, &out);
                match result {
                    Ok(None) => {}
                    Ok(Some(_)) => {
                        if let Some(r) = self.recording.take() {
                            r.finish(None, ctx.events, Some(self.id), None);
                        }
                    }
                    Err(e) => {
                        if let Some(r) = self.recording.take() {
                            r.finish(
                                Some(RecordReason::Failed(e.to_string())),
                                ctx.events,
                                Some(self.id),
                                None,
                            );
                        }
                    }
                }
            }
        }
        if let Some((_, c)) = &self.collect {
            if let Some(reason) = c.on_tick(ctx.now) {
                self.end_collect(reason, ctx.events);
            }
        }
        if !self.sending {
            // the peer has not had our answer: nothing goes out (and costs no syscall)
            self.pending = None;
            return;
        }
        self.pending = self
            .stream
            .outbound_frame(&out, &mut self.wire)
            .ok()
            .flatten();
        if self.stream.next_rtcp().is_none_or(|due| ctx.now >= due) {
            let unix = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            if let Ok(Some((to, n))) = self.stream.poll_rtcp(ctx.now, unix, ctx.scratch) {
                if let Some(n) = protect_rtcp(&mut self.srtp, ctx.scratch, n) {
                    let _ = self.rtcp.send_to(&ctx.scratch[..n], to);
                }
            }
        }
    }
}
