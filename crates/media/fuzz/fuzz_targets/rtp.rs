//! Fuzz target: any bytes as an RTP packet; a parsed packet must serialise to the same bytes
//! it came from (minus padding content) and parse back equal, and its fields must be safe to
//! feed to the reception statistics, the jitter buffer, the DTMF receiver and a whole
//! `RtpStream` (as RTP and as RTCP).

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use voxbin_media::dtmf::DtmfReceiver;
use voxbin_media::jitter::{JitterBuffer, JitterConfig};
use voxbin_media::rtp::{ReceiverStats, RtpPacket};
use voxbin_media::sdp::Direction;
use voxbin_media::stream::{RtpStream, StreamConfig};

fn stream() -> RtpStream {
    RtpStream::new(StreamConfig {
        ssrc: 1,
        cname: "fuzz".into(),
        codec: voxbin_media::g711::G711::Pcmu,
        payload_type: 0,
        dtmf_payload_type: Some(101),
        remote: None,
        latch: true,
        direction: Direction::SendRecv,
        initial_sequence: 0,
        initial_timestamp: 0,
        rtcp_interval: Duration::from_secs(5),
        jitter: JitterConfig::default(),
    })
}

fuzz_target!(|data: &[u8]| {
    // the whole receive path of a leg, twice (duplicate handling), then one tick out
    let mut leg = stream();
    let from = "192.0.2.9:4000".parse().expect("address");
    let _ = leg.receive_rtp(from, data, Duration::ZERO);
    let _ = leg.receive_rtp(from, data, Duration::from_millis(20));
    let _ = leg.receive_rtcp(from, data, Duration::from_millis(30));
    let mut pcm = [0i16; 160];
    let _ = leg.inbound_frame(&mut pcm);
    while leg.poll_event().is_some() {}

    let Ok(packet) = RtpPacket::parse(data) else {
        return;
    };
    assert_eq!(packet.wire_len(), data.len());
    let mut out = vec![0u8; packet.wire_len()];
    let n = packet
        .write(&mut out)
        .expect("a parsed packet can be written");
    assert_eq!(n, data.len());
    let again = RtpPacket::parse(&out[..n]).expect("written packet parses");
    assert_eq!(again, packet);
    // everything but the padding bytes (written as zeros) is identical
    let pad = usize::from(packet.padding);
    assert_eq!(
        &out[..n.saturating_sub(pad)],
        &data[..n.saturating_sub(pad)]
    );

    let h = packet.header;
    let now = Duration::from_millis(u64::from(h.timestamp) / 8);
    let mut stats = ReceiverStats::new();
    for k in 0..3u16 {
        stats.on_packet(h.sequence.wrapping_add(k), h.timestamp, now, 8000);
    }
    let _ = stats.report_block(h.ssrc, now);
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let _ = jb.push(h.sequence, h.timestamp, h.payload_type, packet.payload, now);
    let _ = jb.pop();
    let _ = DtmfReceiver::default().on_packet(h.timestamp, packet.payload, now, |_| {});
});
