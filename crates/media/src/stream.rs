//! One RTP audio stream of a call leg, sans-IO: datagrams in (with source address and time),
//! 8 kHz frames in and out on the 20 ms clock, datagrams out into caller buffers, events
//! polled. It ties the pieces together: symmetric RTP (latching onto where the peer really
//! sends from, for NAT), reception statistics, jitter buffer, G.711 with simple concealment,
//! RFC 4733 digits both ways, and RTCP SR/RR + SDES with BYE handling.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use crate::dtmf::{DtmfError, DtmfEvent, DtmfReceiver, DtmfSender};
use crate::g711::{Frame, FRAME_SAMPLES, G711};
use crate::jitter::{Frame as JitterFrame, JitterBuffer, JitterConfig, JitterStats};
use crate::rtp::rtcp::{ReportBlock, RtcpError, RtcpPacket, RtcpWriter, SenderInfo};
use crate::rtp::stats::{ntp_from_unix, ReceiverStats};
use crate::rtp::{parse_compound, write_simple, RtpError, RtpHeader, RtpPacket};
use crate::sdp::{Direction, Negotiated};

/// Events queued before the oldest is dropped (the driver polls every tick).
const EVENT_QUEUE: usize = 32;
/// Consecutive missing frames concealed by fading the last good frame before going silent.
const CONCEAL_FRAMES: u32 = 3;

/// Settings of a stream, mostly from the SDP negotiation.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConfig {
    /// Our SSRC.
    pub ssrc: u32,
    /// Canonical name sent in RTCP SDES.
    pub cname: String,
    /// Codec of outgoing audio.
    pub codec: G711,
    /// Payload type of outgoing audio.
    pub payload_type: u8,
    /// Telephone-event payload type, if negotiated.
    pub dtmf_payload_type: Option<u8>,
    /// Where to send RTP (RTCP goes to the next port); `None` until known.
    pub remote: Option<SocketAddr>,
    /// Symmetric RTP: send to wherever the peer's RTP actually comes from.
    pub latch: bool,
    /// Whether we send and receive.
    pub direction: Direction,
    /// First sequence number (pick it at random).
    pub initial_sequence: u16,
    /// First RTP timestamp (pick it at random).
    pub initial_timestamp: u32,
    /// Time between RTCP reports.
    pub rtcp_interval: Duration,
    /// Jitter buffer settings.
    pub jitter: JitterConfig,
}

impl StreamConfig {
    /// A configuration from an SDP negotiation result.
    pub fn from_negotiated(
        n: &Negotiated,
        ssrc: u32,
        cname: &str,
        initial_sequence: u16,
        initial_timestamp: u32,
    ) -> Self {
        StreamConfig {
            ssrc,
            cname: cname.to_string(),
            codec: n.codec,
            payload_type: n.payload_type,
            dtmf_payload_type: n.dtmf_payload_type,
            remote: n.remote_rtp,
            latch: true,
            direction: n.direction,
            initial_sequence,
            initial_timestamp,
            rtcp_interval: Duration::from_secs(5),
            jitter: JitterConfig::default(),
        }
    }
}

/// Something the driver should know about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEvent {
    /// A telephone-event digit started or ended.
    Dtmf(DtmfEvent),
    /// Symmetric RTP moved our sending address to where the peer's RTP comes from.
    Latched(SocketAddr),
    /// The peer's SSRC changed (new source): statistics restarted.
    SsrcChanged(u32),
    /// The peer sent RTCP BYE.
    RemoteBye,
    /// Digit sending finished.
    DtmfSent(char),
}

/// What became of a received RTP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Audio stored in the jitter buffer.
    Audio,
    /// A telephone-event packet (events queued).
    Dtmf,
    /// Dropped: from an address other than the latched one.
    WrongSource,
    /// Dropped: the stream does not receive (sendonly/inactive).
    NotReceiving,
    /// Dropped: a payload type that is neither our codec nor telephone-event.
    UnknownPayload(u8),
    /// Dropped by the jitter buffer (late, duplicate, oversized).
    Discarded,
}

/// What the inbound side produced for a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound {
    /// Received audio.
    Audio,
    /// A lost frame replaced by a faded copy of the last one.
    Concealed,
    /// Nothing to play (not started, long gap, not receiving).
    Silence,
}

/// Counters of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamStats {
    /// RTP packets sent.
    pub packets_sent: u64,
    /// Payload bytes sent.
    pub octets_sent: u64,
    /// RTP packets received and accepted.
    pub packets_received: u64,
    /// Datagrams that were not RTP.
    pub malformed: u64,
    /// Packets lost per the receiver statistics.
    pub lost: i64,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// The peer's latest report on our stream.
    pub remote_report: Option<ReportBlock>,
    /// Jitter buffer counters.
    pub buffer: JitterStats,
}

/// An RTP audio stream.
#[derive(Debug)]
pub struct RtpStream {
    config: StreamConfig,
    remote_rtcp: Option<SocketAddr>,
    latched: bool,
    sequence: u16,
    timestamp: u32,
    remote_ssrc: Option<u32>,
    receiver: ReceiverStats,
    jitter: JitterBuffer,
    dtmf_rx: DtmfReceiver,
    dtmf_tx: Option<(char, DtmfSender)>,
    last_frame: Frame,
    missing_run: u32,
    next_rtcp: Option<Duration>,
    sent_since_report: bool,
    stats: StreamStats,
    events: VecDeque<StreamEvent>,
}

fn rtcp_of(rtp: SocketAddr) -> SocketAddr {
    SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1))
}

impl RtpStream {
    /// A stream; every buffer it needs is allocated here.
    pub fn new(config: StreamConfig) -> Self {
        RtpStream {
            remote_rtcp: config.remote.map(rtcp_of),
            latched: false,
            sequence: config.initial_sequence,
            timestamp: config.initial_timestamp,
            remote_ssrc: None,
            receiver: ReceiverStats::new(),
            jitter: JitterBuffer::new(config.jitter),
            dtmf_rx: DtmfReceiver::default(),
            dtmf_tx: None,
            last_frame: [0; FRAME_SAMPLES],
            missing_run: 0,
            next_rtcp: None,
            sent_since_report: false,
            stats: StreamStats::default(),
            events: VecDeque::with_capacity(EVENT_QUEUE),
            config,
        }
    }

    fn event(&mut self, e: StreamEvent) {
        if self.events.len() == EVENT_QUEUE {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    /// The next queued event.
    pub fn poll_event(&mut self) -> Option<StreamEvent> {
        self.events.pop_front()
    }

    /// Where RTP is sent now.
    pub fn remote(&self) -> Option<SocketAddr> {
        self.config.remote
    }

    /// Counters so far.
    pub fn stats(&self) -> StreamStats {
        StreamStats {
            lost: self.receiver.lost(),
            jitter: self.receiver.jitter(),
            buffer: self.jitter.stats(),
            ..self.stats
        }
    }

    /// Applies a re-negotiation (re-INVITE, hold/unhold): codec, address and direction.
    pub fn update(&mut self, n: &Negotiated) {
        self.config.codec = n.codec;
        self.config.payload_type = n.payload_type;
        self.config.dtmf_payload_type = n.dtmf_payload_type;
        self.config.direction = n.direction;
        if n.remote_rtp != self.config.remote {
            self.config.remote = n.remote_rtp;
            self.remote_rtcp = n.remote_rtp.map(rtcp_of);
            self.latched = false;
        }
    }

    /// Handles an RTP datagram from `from` received at `now`.
    pub fn receive_rtp(
        &mut self,
        from: SocketAddr,
        data: &[u8],
        now: Duration,
    ) -> Result<Received, RtpError> {
        let packet = match RtpPacket::parse(data) {
            Ok(p) => p,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        if self.config.latch && !self.latched {
            self.latched = true;
            if self.config.remote != Some(from) {
                self.config.remote = Some(from);
                self.remote_rtcp = Some(rtcp_of(from));
                self.event(StreamEvent::Latched(from));
            }
        } else if self.config.latch && self.config.remote != Some(from) {
            return Ok(Received::WrongSource);
        }
        if !self.config.direction.receives() {
            return Ok(Received::NotReceiving);
        }
        let h = packet.header;
        if self.remote_ssrc != Some(h.ssrc) {
            if self.remote_ssrc.is_some() {
                self.receiver = ReceiverStats::new();
                self.event(StreamEvent::SsrcChanged(h.ssrc));
            }
            self.remote_ssrc = Some(h.ssrc);
        }
        self.receiver.on_packet(h.sequence, h.timestamp, now, 8000);
        self.stats.packets_received += 1;
        if Some(h.payload_type) == self.config.dtmf_payload_type {
            let mut queued = [None; 2];
            let mut n = 0;
            let result = self
                .dtmf_rx
                .on_packet(h.timestamp, packet.payload, now, |e| {
                    if n < queued.len() {
                        queued[n] = Some(e);
                        n += 1;
                    }
                });
            for e in queued.into_iter().flatten() {
                self.event(StreamEvent::Dtmf(e));
            }
            // a malformed event payload is the peer's problem, not a stream error
            return Ok(if result.is_ok() {
                Received::Dtmf
            } else {
                Received::Discarded
            });
        }
        if G711::from_payload_type(h.payload_type).is_none()
            && h.payload_type != self.config.payload_type
        {
            return Ok(Received::UnknownPayload(h.payload_type));
        }
        Ok(
            match self
                .jitter
                .push(h.sequence, h.timestamp, h.payload_type, packet.payload, now)
            {
                crate::jitter::PushOutcome::Stored | crate::jitter::PushOutcome::Reset => {
                    Received::Audio
                }
                _ => Received::Discarded,
            },
        )
    }

    /// Handles an RTCP datagram (the peer's reports, BYE) received at `now`.
    pub fn receive_rtcp(
        &mut self,
        from: SocketAddr,
        data: &[u8],
        now: Duration,
    ) -> Result<(), RtcpError> {
        if self.config.latch {
            self.remote_rtcp = Some(from);
        }
        for packet in parse_compound(data) {
            match packet? {
                RtcpPacket::SenderReport {
                    ssrc,
                    info,
                    reports,
                } => {
                    if Some(ssrc) == self.remote_ssrc {
                        self.receiver.on_sender_report(info.ntp, now);
                    }
                    self.take_report(reports.iter());
                }
                RtcpPacket::ReceiverReport { reports, .. } => self.take_report(reports.iter()),
                RtcpPacket::Bye { sources, .. }
                    if self
                        .remote_ssrc
                        .is_none_or(|s| sources.iter().any(|b| b == s)) =>
                {
                    self.event(StreamEvent::RemoteBye);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn take_report(&mut self, mut blocks: impl Iterator<Item = ReportBlock>) {
        if let Some(b) = blocks.find(|b| b.ssrc == self.config.ssrc) {
            self.stats.remote_report = Some(b);
        }
    }

    /// The inbound frame for this 20 ms tick, decoded into `out`.
    pub fn inbound_frame(&mut self, out: &mut Frame) -> Inbound {
        match self.jitter.pop() {
            JitterFrame::Audio {
                payload,
                payload_type,
                ..
            } => {
                let codec = G711::from_payload_type(payload_type).unwrap_or(self.config.codec);
                let n = codec.decode(payload, out);
                out[n..].fill(0);
                self.last_frame = *out;
                self.missing_run = 0;
                Inbound::Audio
            }
            JitterFrame::Missing if self.missing_run < CONCEAL_FRAMES => {
                self.missing_run += 1;
                // each lost frame in a row halves the repeated one
                for (o, &s) in out.iter_mut().zip(&self.last_frame) {
                    *o = s >> self.missing_run;
                }
                Inbound::Concealed
            }
            _ => {
                out.fill(0);
                Inbound::Silence
            }
        }
    }

    /// Starts sending a digit as RFC 4733 events; it replaces audio on the next ticks.
    pub fn send_dtmf(&mut self, digit: char, duration_ms: u32) -> Result<(), DtmfError> {
        if self.config.dtmf_payload_type.is_none() {
            return Err(DtmfError::NotNegotiated);
        }
        let sender = DtmfSender::new(digit, duration_ms, 10, self.timestamp, 20)?;
        self.dtmf_tx = Some((digit, sender));
        Ok(())
    }

    /// Ends a received digit whose end packets were lost, once its timeout has passed; call
    /// it every tick (cheap) or at `dtmf_timeout()`.
    pub fn on_timer(&mut self, now: Duration) {
        let mut ended = None;
        self.dtmf_rx.on_timeout(now, |e| ended = Some(e));
        if let Some(e) = ended {
            self.event(StreamEvent::Dtmf(e));
        }
    }

    /// When a received digit without its end packets times out, if one is in progress.
    pub fn dtmf_timeout(&self) -> Option<Duration> {
        self.dtmf_rx.next_timeout()
    }

    /// True while a digit is being sent.
    pub fn sending_dtmf(&self) -> bool {
        self.dtmf_tx.is_some()
    }

    /// Builds this tick's outgoing RTP packet from `pcm` into `out`: returns where to send it
    /// and its length, or `None` when not sending (no address, hold, inactive).
    pub fn outbound_frame(
        &mut self,
        pcm: &Frame,
        out: &mut [u8],
    ) -> Result<Option<(SocketAddr, usize)>, RtpError> {
        let ts = self.timestamp;
        // the media clock runs whether or not we send
        self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        let Some(to) = self.config.remote.filter(|_| self.config.direction.sends()) else {
            return Ok(None);
        };
        let mut dtmf = None;
        if let Some((digit, sender)) = &mut self.dtmf_tx {
            match sender.next() {
                Some(p) => dtmf = Some(p),
                None => {
                    let d = *digit;
                    self.dtmf_tx = None;
                    self.event(StreamEvent::DtmfSent(d));
                }
            }
        }
        let (n, payload_len) = match (dtmf, self.config.dtmf_payload_type) {
            (Some(p), Some(pt)) => {
                let mut h = RtpHeader::new(pt, self.sequence, p.timestamp, self.config.ssrc);
                h.marker = p.marker;
                (write_simple(&h, &p.payload, out)?, p.payload.len())
            }
            _ => {
                let mut payload = [0u8; FRAME_SAMPLES];
                self.config.codec.encode(pcm, &mut payload);
                let h = RtpHeader::new(
                    self.config.payload_type,
                    self.sequence,
                    ts,
                    self.config.ssrc,
                );
                (write_simple(&h, &payload, out)?, FRAME_SAMPLES)
            }
        };
        self.sequence = self.sequence.wrapping_add(1);
        self.stats.packets_sent += 1;
        self.stats.octets_sent += payload_len as u64;
        self.sent_since_report = true;
        Ok(Some((to, n)))
    }

    /// When the next RTCP report is due (call `poll_rtcp` then).
    pub fn next_rtcp(&self) -> Option<Duration> {
        self.next_rtcp
    }

    /// Builds an RTCP report into `out` when one is due at `now` (monotonic); `unix_now` is
    /// the wall clock for the SR's NTP time. Returns where to send it and its length.
    pub fn poll_rtcp(
        &mut self,
        now: Duration,
        unix_now: Duration,
        out: &mut [u8],
    ) -> Result<Option<(SocketAddr, usize)>, RtcpError> {
        let due = *self
            .next_rtcp
            .get_or_insert(now + self.config.rtcp_interval / 2);
        let Some(to) = self.remote_rtcp else {
            return Ok(None);
        };
        if now < due {
            return Ok(None);
        }
        self.next_rtcp = Some(now + self.config.rtcp_interval);
        let block = self.remote_ssrc.map(|s| self.receiver.report_block(s, now));
        let blocks = block.as_slice();
        let mut w = RtcpWriter::new(out);
        if self.sent_since_report {
            let info = SenderInfo {
                ntp: ntp_from_unix(unix_now),
                rtp_timestamp: self.timestamp,
                packet_count: self.stats.packets_sent as u32,
                octet_count: self.stats.octets_sent as u32,
            };
            w.sender_report(self.config.ssrc, &info, blocks)?;
        } else {
            w.receiver_report(self.config.ssrc, blocks)?;
        }
        self.sent_since_report = false;
        w.sdes_cname(self.config.ssrc, self.config.cname.as_bytes())?;
        Ok(Some((to, w.finish())))
    }

    /// Builds the RTCP BYE (with SDES, as a compound must start with a report) to send when
    /// the stream ends.
    pub fn bye(
        &mut self,
        now: Duration,
        out: &mut [u8],
    ) -> Result<Option<(SocketAddr, usize)>, RtcpError> {
        let Some(to) = self.remote_rtcp else {
            return Ok(None);
        };
        let block = self.remote_ssrc.map(|s| self.receiver.report_block(s, now));
        let mut w = RtcpWriter::new(out);
        w.receiver_report(self.config.ssrc, block.as_slice())?;
        w.sdes_cname(self.config.ssrc, self.config.cname.as_bytes())?;
        w.bye(&[self.config.ssrc], None)?;
        Ok(Some((to, w.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::TelephoneEvent;
    use crate::g711::encode_pcmu;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn config() -> StreamConfig {
        StreamConfig {
            ssrc: 0x1111,
            cname: "leg@voxbin".into(),
            codec: G711::Pcmu,
            payload_type: 0,
            dtmf_payload_type: Some(101),
            remote: Some(addr("10.0.0.5:6000")),
            latch: true,
            direction: Direction::SendRecv,
            initial_sequence: 100,
            initial_timestamp: 1000,
            rtcp_interval: Duration::from_secs(5),
            jitter: JitterConfig {
                depth: crate::jitter::Depth::Fixed(2),
                ..JitterConfig::default()
            },
        }
    }

    fn audio_packet(seq: u16, level: i16) -> Vec<u8> {
        let mut payload = [0u8; 160];
        encode_pcmu(&[level; 160], &mut payload);
        let mut out = vec![0u8; 172];
        write_simple(
            &RtpHeader::new(0, seq, u32::from(seq) * 160, 0x2222),
            &payload,
            &mut out,
        )
        .unwrap();
        out
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn latches_and_plays_inbound_audio() {
        let mut s = RtpStream::new(config());
        let nat = addr("203.0.113.9:40000");
        assert_eq!(
            s.receive_rtp(nat, &audio_packet(1, 1000), ms(0)).unwrap(),
            Received::Audio
        );
        assert_eq!(s.poll_event(), Some(StreamEvent::Latched(nat)));
        assert_eq!(s.remote(), Some(nat));
        // another source is ignored once latched
        assert_eq!(
            s.receive_rtp(addr("10.0.0.5:6000"), &audio_packet(2, 1000), ms(1))
                .unwrap(),
            Received::WrongSource
        );
        s.receive_rtp(nat, &audio_packet(2, 1000), ms(20)).unwrap();
        let mut f = [0i16; 160];
        assert_eq!(s.inbound_frame(&mut f), Inbound::Audio);
        assert!((f[0] - 1000).abs() < 40);
        assert_eq!(s.inbound_frame(&mut f), Inbound::Audio);
        // packet 3 lost: concealed by fading, then silence
        assert_eq!(s.inbound_frame(&mut f), Inbound::Concealed);
        assert!((f[0] - 500).abs() < 30);
        s.inbound_frame(&mut f);
        s.inbound_frame(&mut f);
        assert_eq!(s.inbound_frame(&mut f), Inbound::Silence);
        assert_eq!(f, [0; 160]);
        assert!(s.receive_rtp(nat, &[1, 2, 3], ms(30)).is_err());
        assert_eq!(s.stats().malformed, 1);
    }

    #[test]
    fn outbound_audio_and_dtmf_share_the_clock() {
        let mut s = RtpStream::new(config());
        let mut out = [0u8; 200];
        let (to, n) = s.outbound_frame(&[500; 160], &mut out).unwrap().unwrap();
        assert_eq!(to, addr("10.0.0.5:6000"));
        let p = RtpPacket::parse(&out[..n]).unwrap();
        assert_eq!(
            (p.header.sequence, p.header.timestamp, p.header.payload_type),
            (100, 1000, 0)
        );
        s.send_dtmf('5', 60).unwrap();
        let mut dtmf = Vec::new();
        while s.sending_dtmf() {
            if let Some((_, n)) = s.outbound_frame(&[0; 160], &mut out).unwrap() {
                let p = RtpPacket::parse(&out[..n]).unwrap();
                if p.header.payload_type == 101 {
                    dtmf.push((
                        p.header.marker,
                        p.header.timestamp,
                        TelephoneEvent::parse(p.payload).unwrap(),
                    ));
                }
            }
        }
        // 60 ms: two updates and three end packets, all at the digit's start timestamp
        assert_eq!(dtmf.len(), 5);
        assert!(dtmf[0].0 && dtmf.iter().all(|d| d.1 == 1160 && d.2.event == 5));
        assert_eq!(s.poll_event(), Some(StreamEvent::DtmfSent('5')));
        let (_, n) = s.outbound_frame(&[0; 160], &mut out).unwrap().unwrap();
        let p = RtpPacket::parse(&out[..n]).unwrap();
        // audio resumes on the running clock with the next sequence number
        assert_eq!(
            (p.header.payload_type, p.header.sequence, p.header.timestamp),
            (0, 107, 1000 + 7 * 160)
        );
        let mut no_dtmf = config();
        no_dtmf.dtmf_payload_type = None;
        assert_eq!(
            RtpStream::new(no_dtmf).send_dtmf('1', 100),
            Err(DtmfError::NotNegotiated)
        );
    }

    #[test]
    fn hold_stops_sending_and_receiving() {
        let mut s = RtpStream::new(config());
        let mut n = Negotiated {
            media_index: 0,
            codec: G711::Pcma,
            payload_type: 8,
            dtmf_payload_type: Some(101),
            remote_rtp: Some(addr("10.0.0.5:6000")),
            direction: Direction::Inactive,
            ptime: 20,
            remote_crypto: None,
        };
        s.update(&n);
        let mut out = [0u8; 200];
        assert_eq!(s.outbound_frame(&[0; 160], &mut out).unwrap(), None);
        let from = addr("10.0.0.5:6000");
        assert_eq!(
            s.receive_rtp(from, &audio_packet(1, 0), ms(0)).unwrap(),
            Received::NotReceiving
        );
        n.direction = Direction::SendRecv;
        s.update(&n);
        let (_, len) = s.outbound_frame(&[0; 160], &mut out).unwrap().unwrap();
        assert_eq!(
            RtpPacket::parse(&out[..len]).unwrap().header.payload_type,
            8
        );
    }

    #[test]
    fn inbound_dtmf_and_rtcp() {
        let mut s = RtpStream::new(config());
        let from = addr("10.0.0.5:6000");
        let mut buf = [0u8; 64];
        for p in DtmfSender::new('#', 100, 10, 5000, 20).unwrap() {
            let mut h = RtpHeader::new(
                101,
                1 + (p.offset.as_millis() / 20) as u16,
                p.timestamp,
                0x2222,
            );
            h.marker = p.marker;
            let n = write_simple(&h, &p.payload, &mut buf).unwrap();
            assert_eq!(
                s.receive_rtp(from, &buf[..n], p.offset).unwrap(),
                Received::Dtmf
            );
        }
        let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
        // a digit whose end packets never come is ended by the timer
        let mut h = RtpHeader::new(101, 50, 9000, 0x2222);
        h.marker = true;
        let n = write_simple(
            &h,
            &TelephoneEvent {
                event: 1,
                end: false,
                volume: 10,
                duration: 160,
            }
            .to_bytes(),
            &mut buf,
        )
        .unwrap();
        s.receive_rtp(from, &buf[..n], ms(1000)).unwrap();
        assert_eq!(
            s.poll_event(),
            Some(StreamEvent::Dtmf(DtmfEvent::Started {
                digit: '1',
                timestamp: 9000
            }))
        );
        assert_eq!(s.dtmf_timeout(), Some(ms(1500)));
        s.on_timer(ms(1499));
        assert_eq!(s.poll_event(), None);
        s.on_timer(ms(1500));
        assert_eq!(
            s.poll_event(),
            Some(StreamEvent::Dtmf(DtmfEvent::Ended {
                digit: '1',
                timestamp: 9000,
                duration: 160,
                end_seen: false
            }))
        );
        assert_eq!(
            events,
            vec![
                StreamEvent::Dtmf(DtmfEvent::Started {
                    digit: '#',
                    timestamp: 5000
                }),
                StreamEvent::Dtmf(DtmfEvent::Ended {
                    digit: '#',
                    timestamp: 5000,
                    duration: 800,
                    end_seen: true
                }),
            ]
        );
        // RTCP: an SR once we have sent, to the RTCP port, with a block about the peer
        let mut out = [0u8; 200];
        s.outbound_frame(&[0; 160], &mut out).unwrap();
        let unix = Duration::from_secs(1_700_000_000);
        assert_eq!(s.poll_rtcp(ms(0), unix, &mut out).unwrap(), None);
        let (to, n) = s.poll_rtcp(ms(2500), unix, &mut out).unwrap().unwrap();
        assert_eq!(to, addr("10.0.0.5:6001"));
        let packets: Vec<_> = parse_compound(&out[..n]).collect::<Result<_, _>>().unwrap();
        match packets[0] {
            RtcpPacket::SenderReport {
                ssrc,
                info,
                reports,
            } => {
                assert_eq!(
                    (ssrc, info.packet_count, info.octet_count),
                    (0x1111, 1, 160)
                );
                assert_eq!(reports.iter().next().unwrap().ssrc, 0x2222);
            }
            other => panic!("expected SR, got {other:?}"),
        }
        assert!(matches!(packets[1], RtcpPacket::Sdes(_)));
        assert_eq!(s.next_rtcp(), Some(ms(7500)));
        // nothing sent since: the next report is an RR
        let (_, n) = s.poll_rtcp(ms(7500), unix, &mut out).unwrap().unwrap();
        assert!(matches!(
            parse_compound(&out[..n]).next(),
            Some(Ok(RtcpPacket::ReceiverReport { .. }))
        ));
        // the peer's BYE and its report on us
        let mut w = RtcpWriter::new(&mut buf);
        w.receiver_report(
            0x2222,
            &[ReportBlock {
                ssrc: 0x1111,
                fraction_lost: 3,
                ..ReportBlock::default()
            }],
        )
        .unwrap();
        w.bye(&[0x2222], Some(b"bye")).unwrap();
        let n = w.finish();
        s.receive_rtcp(addr("10.0.0.5:6001"), &buf[..n], ms(8000))
            .unwrap();
        assert_eq!(s.poll_event(), Some(StreamEvent::RemoteBye));
        assert_eq!(s.stats().remote_report.unwrap().fraction_lost, 3);
        let (_, n) = s.bye(ms(9000), &mut out).unwrap().unwrap();
        assert_eq!(parse_compound(&out[..n]).count(), 3);
    }
}
