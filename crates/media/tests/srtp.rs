//! SRTP legs of the media engine on loopback: two engine legs negotiate SDES keys and carry a
//! tone, and a raw UDP peer shows that only authenticated packets are accepted.

mod support;

use std::net::UdpSocket;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use support::{level, sdp_address, sine, wait_for};
use uuid::Uuid;
use voxbin_media::engine::{
    Engine, EngineConfig, EngineError, EventKind, LegId, LegSpec, LegStats, OpId, PlaySource,
    RecordDirection, RecordSpec,
};
use voxbin_media::sdp::NegotiationError;
use voxbin_media::srtp::{CryptoAttribute, MasterKey, SrtpSession, Suite};
use voxbin_media::tts::{Tts, TtsError, TtsRequest};
use voxbin_media::wav::{decode_wav, wav_to_vec, WavFormat};

/// No speech in these tests.
struct NoTts;

impl Tts for NoTts {
    fn name(&self) -> &str {
        "none"
    }

    fn synthesize(&self, _: &TtsRequest<'_>) -> Result<Arc<[i16]>, TtsError> {
        Err(TtsError::BadRequest("no speech in srtp tests".into()))
    }
}

fn engine(dir: &Path, first_port: u16) -> Engine {
    let config = EngineConfig::new(
        "127.0.0.1".parse().unwrap(),
        "127.0.0.1".parse().unwrap(),
        (first_port, first_port + 99),
        Arc::new(NoTts),
        dir.join("media"),
        dir.join("recordings"),
    );
    Engine::start(config).unwrap()
}

fn id() -> LegId {
    LegId(Uuid::new_v4())
}

fn op() -> OpId {
    OpId(Uuid::new_v4())
}

fn crypto_line(sdp: &str) -> &str {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=crypto:"))
        .expect("a=crypto line")
}

async fn final_stats(
    engine: &Engine,
    events: &mut tokio::sync::broadcast::Receiver<voxbin_media::engine::EngineEvent>,
    leg: LegId,
) -> LegStats {
    engine.destroy_leg(leg).unwrap();
    let e = wait_for(events, "final stats", |e| {
        e.leg == Some(leg) && matches!(e.kind, EventKind::LegStats(_))
    })
    .await;
    let EventKind::LegStats(s) = e.kind else {
        unreachable!()
    };
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tone_crosses_two_srtp_legs() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), 47200);
    let mut events = engine.subscribe();
    let (a, offer) = engine
        .create_srtp_leg(LegSpec {
            id: id(),
            remote_offer: None,
        })
        .unwrap();
    assert!(
        offer.contains("m=audio ") && offer.contains(" RTP/SAVP "),
        "{offer}"
    );
    let (b, answer) = engine
        .create_leg(LegSpec {
            id: id(),
            remote_offer: Some(&offer),
        })
        .unwrap();
    assert!(answer.contains(" RTP/SAVP "), "{answer}");
    // each side sends with its own key
    assert_ne!(crypto_line(&offer), crypto_line(&answer));
    assert!(crypto_line(&answer).starts_with("1 AES_CM_128_HMAC_SHA1_80 inline:"));
    engine.remote_answer(a, &answer).unwrap();

    let rec = op();
    let path = engine
        .record(
            b,
            rec,
            RecordSpec {
                direction: RecordDirection::In,
                stop_on_silence: None,
                stop_keys: String::new(),
                max_duration: Some(Duration::from_secs(20)),
                beep: false,
            },
        )
        .unwrap();
    let tone = dir.path().join("tone.wav");
    let wav = wav_to_vec(&sine(1000.0, 6000.0, 0, 8000), WavFormat::Pcm16, 8000).unwrap();
    std::fs::write(&tone, wav).unwrap();
    let play = op();
    engine
        .play(a, play, &[PlaySource::File(tone)])
        .await
        .unwrap();
    wait_for(&mut events, "playback end", |e| e.op == Some(play)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    engine.stop_record(b).unwrap();
    wait_for(&mut events, "recording end", |e| e.op == Some(rec)).await;
    let samples = decode_wav(&std::fs::read(&path).unwrap()).unwrap().samples;
    let best = samples
        .windows(8000)
        .step_by(400)
        .map(|w| level(w, 1000.0))
        .fold(0.0, f64::max);
    assert!(best > 4000.0, "1 kHz level {best}");

    let sa = final_stats(&engine, &mut events, a).await;
    let sb = final_stats(&engine, &mut events, b).await;
    assert!(sb.packets_received > 40, "{sb:?}");
    assert!(sa.packets_received > 40, "{sa:?}");
    assert_eq!((sa.srtp_rejected, sb.srtp_rejected), (0, 0));
    engine.shutdown();
}

/// An RTP packet of PCMU silence.
fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xff; 160]);
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_and_forged_packets_into_an_srtp_leg_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), 47400);
    let mut events = engine.subscribe();
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = peer.local_addr().unwrap().port();
    let key = MasterKey::random();
    let offer = format!(
        "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n\
         a=crypto:3 {}\r\na=ptime:20\r\n",
        CryptoAttribute::untagged(Suite::AesCm128HmacSha1_32, &key)
    );

    // an SAVP offer with only suites we lack is refused (the SIP side answers 488)
    let f8 = offer.replace("AES_CM_128_HMAC_SHA1_32", "F8_128_HMAC_SHA1_80");
    assert!(matches!(
        engine.create_leg(LegSpec {
            id: id(),
            remote_offer: Some(&f8),
        }),
        Err(EngineError::Negotiation(NegotiationError::NoCryptoSuite))
    ));

    let (leg, answer) = engine
        .create_leg(LegSpec {
            id: id(),
            remote_offer: Some(&offer),
        })
        .unwrap();
    let theirs = CryptoAttribute::parse(crypto_line(&answer)).unwrap();
    assert_eq!((theirs.tag, theirs.suite), (3, Suite::AesCm128HmacSha1_32));
    let to = sdp_address(&answer);

    // plain RTP from the negotiated peer address: every packet fails authentication
    for seq in 0..30 {
        peer.send_to(&rtp(seq, 0x1234), to).unwrap();
    }
    // packets protected with the wrong key are dropped too
    let mut wrong = SrtpSession::new(
        Suite::AesCm128HmacSha1_32,
        &MasterKey::random(),
        &theirs.master,
    )
    .unwrap();
    let mut buf = [0u8; 256];
    for seq in 30..40 {
        let p = rtp(seq, 0x1234);
        buf[..p.len()].copy_from_slice(&p);
        let n = wrong.protect_rtp(&mut buf, p.len()).unwrap();
        peer.send_to(&buf[..n], to).unwrap();
    }
    // correctly protected packets are taken, and the leg's answer to us is protected
    let mut good = SrtpSession::new(Suite::AesCm128HmacSha1_32, &key, &theirs.master).unwrap();
    for seq in 40..60 {
        let p = rtp(seq, 0x1234);
        buf[..p.len()].copy_from_slice(&p);
        let n = good.protect_rtp(&mut buf, p.len()).unwrap();
        peer.send_to(&buf[..n], to).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let n = peer.recv(&mut buf).unwrap();
    let m = good.unprotect_rtp(&mut buf[..n]).unwrap();
    assert_eq!(m, n - 4, "a 32-bit tag");

    let s = final_stats(&engine, &mut events, leg).await;
    assert_eq!(s.srtp_rejected, 40, "{s:?}");
    assert!(s.packets_received >= 10, "{s:?}");
    engine.shutdown();
}
