//! The media pieces of one answered call, wired as the media role will wire them, with fake
//! time and no sockets: a caller's SDP offer is answered, the caller streams a 770+1336 Hz
//! tone ("5" in-band) and presses "#" as RFC 4733 events; the leg plays a prompt and records
//! the caller. The caller must hear the prompt, the digit must be reported once, and the
//! recording must hold the caller's audio.

use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use voxbin_media::dtmf::{DtmfDetector, DtmfEvent, DtmfSender};
use voxbin_media::g711::{decode_pcmu, encode_pcmu, Frame, FRAME_SAMPLES};
use voxbin_media::player::{FinishReason, Player, Source};
use voxbin_media::recorder::{frame_rms, RecordConfig, RecordSinks, Recorder, StopReason};
use voxbin_media::rtp::{write_simple, RtpHeader, RtpPacket};
use voxbin_media::sdp::{answer, LocalMedia, SessionDescription};
use voxbin_media::stream::{RtpStream, StreamConfig, StreamEvent};
use voxbin_media::tone::{ToneGenerator, ToneSpec};
use voxbin_media::wav::decode_wav;

const OFFER: &str = "v=0\r\no=sipp 1 1 IN IP4 192.0.2.50\r\ns=-\r\nc=IN IP4 192.0.2.50\r\nt=0 0\r\n\
m=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n";

#[test]
fn answered_call_plays_prompt_reports_digit_and_records_caller() {
    let offer: SessionDescription = OFFER.parse().unwrap();
    let (_, negotiated) = answer(
        &offer,
        &LocalMedia::new("192.0.2.1".parse().unwrap(), 20000, 1),
    )
    .unwrap();
    let mut leg = RtpStream::new(StreamConfig::from_negotiated(
        &negotiated,
        0xabc,
        "leg@test",
        7,
        1234,
    ));
    let caller: SocketAddr = "192.0.2.50:6000".parse().unwrap();

    // the "prompt": one second of 1 kHz, shared as decoded PCM like a cached prompt
    let mut prompt_gen = ToneGenerator::new(ToneSpec {
        total_ms: Some(1000),
        ..ToneSpec::beep()
    });
    let mut prompt = Vec::new();
    let mut f: Frame = [0; FRAME_SAMPLES];
    while !prompt_gen.finished() {
        prompt_gen.fill(&mut f);
        prompt.extend_from_slice(&f);
    }
    let mut player = Player::new();
    player.play(1, Source::Pcm(Arc::from(prompt)));
    let config = RecordConfig {
        max_duration: Some(Duration::from_secs(3)),
        ..RecordConfig::default()
    };
    let sinks = RecordSinks {
        inbound: Some(Cursor::new(Vec::new())),
        outbound: None,
        mixed: None,
    };
    let mut recorder = Recorder::new(config, sinks).unwrap();

    let mut caller_voice = ToneGenerator::new(ToneSpec::dtmf('5', 1500).unwrap());
    let mut digit = DtmfSender::new('#', 120, 10, 0, 20).unwrap().peekable();
    let mut caller_heard = Vec::new();
    let (mut digits, mut finished, mut stop) = (Vec::new(), Vec::new(), None);
    let mut wire = [0u8; 200];
    for tick in 0..150u32 {
        let now = Duration::from_millis(20 * u64::from(tick));
        // caller -> leg: audio for 1.5 s, then the digit's event packets
        let mut payload = [0u8; FRAME_SAMPLES];
        let n = if caller_voice.finished() {
            match digit.next() {
                Some(p) => {
                    let mut h = RtpHeader::new(101, tick as u16, 80_000, 0x5555);
                    h.marker = p.marker;
                    write_simple(&h, &p.payload, &mut wire).unwrap()
                }
                None => 0,
            }
        } else {
            caller_voice.fill(&mut f);
            encode_pcmu(&f, &mut payload);
            write_simple(
                &RtpHeader::new(0, tick as u16, tick * 160, 0x5555),
                &payload,
                &mut wire,
            )
            .unwrap()
        };
        if n > 0 {
            leg.receive_rtp(caller, &wire[..n], now).unwrap();
        }

        // the leg's 20 ms tick
        let mut inbound: Frame = [0; FRAME_SAMPLES];
        leg.inbound_frame(&mut inbound);
        let mut outbound: Frame = [0; FRAME_SAMPLES];
        finished.extend(player.fill(&mut outbound));
        if let Some((to, len)) = leg.outbound_frame(&outbound, &mut wire).unwrap() {
            assert_eq!(to, caller);
            let p = RtpPacket::parse(&wire[..len]).unwrap();
            let mut pcm = [0i16; FRAME_SAMPLES];
            decode_pcmu(p.payload, &mut pcm);
            caller_heard.extend_from_slice(&pcm);
        }
        while let Some(ev) = leg.poll_event() {
            if let StreamEvent::Dtmf(DtmfEvent::Ended { digit, .. }) = ev {
                digits.push(digit);
                stop = stop.or(recorder.on_digit(digit));
            }
        }
        if stop.is_none() {
            stop = recorder.on_frame(&inbound, &outbound).unwrap();
        }
    }

    assert_eq!(digits, vec!['#']);
    assert_eq!(stop, Some(StopReason::Key('#')));
    assert_eq!(finished.len(), 1);
    assert_eq!(
        (finished[0].id, finished[0].reason, finished[0].position_ms),
        (1, FinishReason::Completed, 1000)
    );
    // the caller heard one second of prompt, then silence
    let loud = caller_heard
        .chunks(FRAME_SAMPLES)
        .filter(|c| frame_rms(c) > 3000.0)
        .count();
    assert_eq!(loud, 50);
    // the recording holds the caller's in-band "5"
    let summary = recorder.finish().unwrap();
    let recorded = decode_wav(&summary.sinks.inbound.unwrap().into_inner())
        .unwrap()
        .samples;
    assert!(
        recorded.len() >= 8000 * 3 / 2,
        "recorded {} samples",
        recorded.len()
    );
    let mut heard_digits = Vec::new();
    DtmfDetector::default().process(&recorded, |d| heard_digits.push(d.digit));
    assert_eq!(heard_digits, vec!['5']);
}
