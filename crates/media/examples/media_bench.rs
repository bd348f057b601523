//! Cost of the media hot paths on one core: ns per received packet (RTP parse + jitter buffer
//! push/pop + G.711 decode), ns per sent packet (G.711 encode + RTP write), ns per leg tick
//! (`RtpStream` in and out), ns per relay decision, and ns per 20 ms conference tick for 3 and
//! 10 parties, and ns per SRTP protect and unprotect of a 20 ms PCMU packet. Prints the best
//! of several rounds.
//! Run: `cargo run --release -p voxbin-media --example media_bench [packets]`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use voxbin_media::g711::{decode_pcmu, encode_pcmu, Frame, FRAME_SAMPLES};
use voxbin_media::jitter::{Frame as JitterFrame, JitterBuffer, JitterConfig};
use voxbin_media::mixer::Mixer;
use voxbin_media::relay::{Decision, Relay, Side};
use voxbin_media::rtp::{write_simple, RtpHeader, RtpPacket};
use voxbin_media::sdp::Direction;
use voxbin_media::srtp::{MasterKey, SrtpSession, Suite};
use voxbin_media::stream::{RtpStream, StreamConfig};

const ROUNDS: usize = 7;

/// Best time per item over `ROUNDS` runs of `items` items.
fn best_ns(items: usize, mut run: impl FnMut()) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        run();
        best = best.min(start.elapsed());
    }
    best.as_nanos() as f64 / items as f64
}

fn speech_like(seed: usize) -> Frame {
    std::array::from_fn(|i| {
        let t = (seed * FRAME_SAMPLES + i) as f32 / 8000.0;
        ((t * 2.0 * std::f32::consts::PI * 300.0).sin() * 6000.0
            + (t * 2.0 * std::f32::consts::PI * 1170.0).sin() * 2000.0) as i16
    })
}

fn main() {
    let packets: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);

    // a second of distinct packets, replayed with increasing sequence numbers
    let mut wire = vec![[0u8; 172]; 50];
    for (i, buf) in wire.iter_mut().enumerate() {
        let mut payload = [0u8; 160];
        encode_pcmu(&speech_like(i), &mut payload);
        write_simple(&RtpHeader::new(0, 0, 0, 0x1234_5678), &payload, buf).expect("fits");
    }
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let mut pcm = [0i16; FRAME_SAMPLES];
    let mut seq: u16 = 0;
    let recv = best_ns(packets, || {
        for i in 0..packets {
            let buf = &mut wire[i % 50];
            // stamp a new sequence number and timestamp, as a live stream would carry
            buf[2..4].copy_from_slice(&seq.to_be_bytes());
            buf[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
            let p = RtpPacket::parse(black_box(&buf[..])).expect("valid");
            let now = Duration::from_millis(20 * u64::from(seq));
            jb.push(
                p.header.sequence,
                p.header.timestamp,
                p.header.payload_type,
                p.payload,
                now,
            );
            if let JitterFrame::Audio { payload, .. } = jb.pop() {
                decode_pcmu(payload, &mut pcm);
            }
            black_box(&pcm);
            seq = seq.wrapping_add(1);
        }
    });
    assert!(jb.stats().played > 0, "the jitter buffer played nothing");

    let frames: Vec<Frame> = (0..50).map(speech_like).collect();
    let mut out = [0u8; 172];
    let mut payload = [0u8; 160];
    let send = best_ns(packets, || {
        for i in 0..packets {
            encode_pcmu(black_box(&frames[i % 50]), &mut payload);
            let h = RtpHeader::new(0, i as u16, (i * 160) as u32, 0x1234_5678);
            black_box(write_simple(&h, &payload, &mut out).expect("fits"));
        }
    });

    // a whole leg per 20 ms: packet in, frame decoded out, frame encoded and packet written
    let peer = "192.0.2.7:4000".parse().expect("address");
    let mut stream = RtpStream::new(StreamConfig {
        ssrc: 1,
        cname: "bench".into(),
        codec: voxbin_media::g711::G711::Pcmu,
        payload_type: 0,
        dtmf_payload_type: Some(101),
        remote: Some(peer),
        latch: true,
        direction: Direction::SendRecv,
        initial_sequence: 0,
        initial_timestamp: 0,
        rtcp_interval: Duration::from_secs(5),
        jitter: JitterConfig::default(),
    });
    let mut seq: u16 = 0;
    let leg = best_ns(packets, || {
        for i in 0..packets {
            let buf = &mut wire[i % 50];
            buf[2..4].copy_from_slice(&seq.to_be_bytes());
            buf[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
            let now = Duration::from_millis(20 * u64::from(seq));
            black_box(
                stream
                    .receive_rtp(peer, black_box(&buf[..]), now)
                    .expect("valid"),
            );
            stream.inbound_frame(&mut pcm);
            black_box(
                stream
                    .outbound_frame(&frames[i % 50], &mut out)
                    .expect("fits"),
            );
            seq = seq.wrapping_add(1);
        }
    });

    let (a, b) = (
        "198.51.100.1:30000".parse().expect("a"),
        "203.0.113.2:40000".parse().expect("b"),
    );
    let mut relay = Relay::new(Some(a), Some(b), true);
    let relayed = best_ns(packets, || {
        for i in 0..packets {
            let (side, from) = if i % 2 == 0 {
                (Side::A, a)
            } else {
                (Side::B, b)
            };
            let d = relay.on_rtp(
                side,
                from,
                black_box(&wire[i % 50][..]),
                Duration::from_millis(i as u64),
            );
            assert!(matches!(d, Decision::Forward(_)));
        }
    });

    println!("media_bench: {packets} packets per round, best of {ROUNDS} rounds");
    println!("  receive (rtp parse + jitter push/pop + pcmu decode): {recv:.0} ns/packet");
    println!("  send (pcmu encode + rtp write): {send:.0} ns/packet");
    println!("  relay decision (Relay::on_rtp, no syscalls): {relayed:.0} ns/packet");
    println!(
        "  leg tick (RtpStream receive + inbound frame + outbound frame): {leg:.0} ns per 20 ms"
    );
    for parties in [3usize, 10] {
        let mut m = Mixer::with_capacity(parties);
        let ids: Vec<_> = (0..parties).map(|_| m.add()).collect();
        let ticks = packets / parties;
        let ns = best_ns(ticks, || {
            for t in 0..ticks {
                for (k, id) in ids.iter().enumerate() {
                    m.push(*id, &frames[(t + k) % 50]).expect("member");
                }
                m.mix();
                black_box(m.output(ids[0]).expect("member"));
            }
        });
        println!(
            "  conference of {parties}: {ns:.0} ns per 20 ms tick ({:.0} ns per party; one core mixes {:.0} parties in real time)",
            ns / parties as f64,
            20e6 / (ns / parties as f64)
        );
    }
    // SRTP: one side protects a 172-byte packet, the other authenticates and decrypts it
    let (k1, k2) = (MasterKey::random(), MasterKey::random());
    let mut tx = SrtpSession::new(Suite::AesCm128HmacSha1_80, &k1, &k2).expect("keys");
    let mut rx = SrtpSession::new(Suite::AesCm128HmacSha1_80, &k2, &k1).expect("keys");
    let mut sealed = [0u8; 182];
    let mut seq: u16 = 0;
    let mut protect_total = Duration::ZERO;
    let both = best_ns(packets, || {
        for i in 0..packets {
            sealed[..172].copy_from_slice(&wire[i % 50]);
            sealed[2..4].copy_from_slice(&seq.to_be_bytes());
            seq = seq.wrapping_add(1);
            let start = Instant::now();
            let n = tx.protect_rtp(&mut sealed, 172).expect("room");
            protect_total += start.elapsed();
            black_box(rx.unprotect_rtp(&mut sealed[..n]).expect("authentic"));
        }
    });
    println!(
        "  srtp AES_CM_128_HMAC_SHA1_80 protect + unprotect: {both:.0} ns/packet (protect alone about {:.0} ns)",
        protect_total.as_nanos() as f64 / (packets * ROUNDS) as f64
    );
}
