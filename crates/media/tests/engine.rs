//! The media engine on real loopback sockets: engine legs talking to each other and to raw-UDP
//! phones. Tones are told apart by their Goertzel levels, so the checks do not depend on timing
//! beyond "about a second of audio".

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::{level, phone_offer, plain_offer, sdp_address, sine, wait_for, Phone};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;
use voxbin_media::engine::{
    CollectReason, CollectSpec, ConferenceId, Engine, EngineConfig, EngineError, EventKind,
    ExternalMediaSpec, LegId, LegSpec, MuteDirection, OpId, PlaySource, PlaybackReason,
    RecordDirection, RecordReason, RecordSpec,
};
use voxbin_media::tts::{Tts, TtsError, TtsRequest};
use voxbin_media::wav::{decode_wav, wav_to_vec, WavFormat};

/// A speech engine for tests: half a second of 600 Hz per request, counting requests.
#[derive(Default)]
struct ToneTts(AtomicUsize);

impl Tts for ToneTts {
    fn name(&self) -> &str {
        "tone"
    }

    fn synthesize(&self, request: &TtsRequest<'_>) -> Result<Arc<[i16]>, TtsError> {
        if request.text.is_empty() {
            return Err(TtsError::BadRequest("text is empty".into()));
        }
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(sine(600.0, 6000.0, 0, 4000).into())
    }
}

fn engine(dir: &Path, first_port: u16, workers: usize) -> Engine {
    engine_with(dir, first_port, workers, None)
}

fn engine_with(
    dir: &Path,
    first_port: u16,
    workers: usize,
    rtp_timeout: Option<Duration>,
) -> Engine {
    let mut config = EngineConfig::new(
        "127.0.0.1".parse().unwrap(),
        "127.0.0.1".parse().unwrap(),
        (first_port, first_port + 199),
        Arc::new(ToneTts::default()),
        dir.join("media"),
        dir.join("recordings"),
    );
    config.workers = workers;
    config.rtp_timeout = rtp_timeout;
    Engine::start(config).unwrap()
}

fn id() -> LegId {
    LegId(Uuid::new_v4())
}

fn op() -> OpId {
    OpId(Uuid::new_v4())
}

fn record_spec(direction: RecordDirection) -> RecordSpec {
    RecordSpec {
        direction,
        stop_on_silence: None,
        stop_keys: String::new(),
        max_duration: Some(Duration::from_secs(20)),
        beep: false,
    }
}

/// Two engine legs, A calling B: A offers, B answers, A takes the answer.
fn leg_pair(engine: &Engine) -> (LegId, LegId) {
    let (a, offer) = engine
        .create_leg(LegSpec {
            id: id(),
            remote_offer: None,
        })
        .unwrap();
    let (b, answer) = engine
        .create_leg(LegSpec {
            id: id(),
            remote_offer: Some(&offer),
        })
        .unwrap();
    engine.remote_answer(a, &answer).unwrap();
    (a, b)
}

/// A leg answering a phone, the phone sending to it.
fn phone_leg(engine: &Engine, phone: &Phone) -> LegId {
    let (leg, answer) = engine
        .create_leg(LegSpec {
            id: id(),
            remote_offer: Some(&phone_offer(phone.addr.port(), "sendrecv")),
        })
        .unwrap();
    phone.connect(sdp_address(&answer));
    leg
}

fn wav_file(dir: &Path, name: &str, freq: f64, ms: usize) -> std::path::PathBuf {
    let path = dir.join(name);
    let bytes = wav_to_vec(&sine(freq, 6000.0, 0, ms * 8), WavFormat::Pcm16, 8000).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

async fn listen(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tone_played_on_one_leg_is_recorded_on_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), 40000, 2);
    let mut events = engine.subscribe();
    let (a, b) = leg_pair(&engine);
    let rec = op();
    let path = engine
        .record(b, rec, record_spec(RecordDirection::In))
        .unwrap();
    let play = op();
    let tone = wav_file(dir.path(), "tone.wav", 1000.0, 1000);
    engine
        .play(a, play, &[PlaySource::File(tone)])
        .await
        .unwrap();
    let done = wait_for(&mut events, "playback end", |e| e.op == Some(play)).await;
    assert_eq!(done.leg, Some(a));
    assert!(matches!(
        done.kind,
        EventKind::PlaybackFinished {
            reason: PlaybackReason::Completed,
            position_ms: 1000
        }
    ));
    listen(200).await;
    engine.stop_record(b).unwrap();
    let finished = wait_for(&mut events, "recording end", |e| e.op == Some(rec)).await;
    let EventKind::RecordingFinished {
        path: written,
        duration_ms,
        reason,
    } = finished.kind
    else {
        panic!("{finished:?}")
    };
    assert_eq!(
        (written.as_path(), reason),
        (path.as_path(), RecordReason::Stopped)
    );
    assert!(duration_ms >= 1000, "{duration_ms} ms recorded");
    let samples = decode_wav(&std::fs::read(&path).unwrap()).unwrap().samples;
    // the loudest second of the recording is the tone
    let best = samples
        .windows(8000)
        .step_by(400)
        .map(|w| level(w, 1000.0))
        .fold(0.0, f64::max);
    assert!(best > 4000.0, "1 kHz level {best}");
    assert!(level(&samples, 1500.0) < 200.0);
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc4733_digits_are_collected_with_terminator_length_and_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), 40200, 1);
    let mut events = engine.subscribe();
    let (a, b) = leg_pair(&engine);
    let collect = op();
    engine
        .collect_digits(
            b,
            collect,
            CollectSpec {
                max_digits: 10,
                terminators: "#".into(),
                inter_digit_timeout: Some(Duration::from_secs(5)),
                total_timeout: None,
                stop_playback_on_digit: true,
            },
        )
        .unwrap();
    let send = op();
    engine.send_digits(a, send, "42#", 100).unwrap();
    let mut received = Vec::new();
    let collected = wait_for(&mut events, "digits", |e| {
        if let (Some(l), EventKind::DtmfReceived { digit, duration_ms }) = (e.leg, &e.kind) {
            if l == b {
                received.push((*digit, *duration_ms));
            }
        }
        e.op == Some(collect)
    })
    .await;
    assert_eq!(
        collected.kind,
        EventKind::DigitsCollected {
            digits: "42".into(),
            reason: CollectReason::Terminator('#')
        }
    );
    assert_eq!(received.iter().map(|r| r.0).collect::<String>(), "42#");
    assert!(
        received.iter().all(|r| (90..=130).contains(&r.1)),
        "{received:?}"
    );
    let sent = wait_for(&mut events, "digits sent", |e| e.op == Some(send)).await;
    assert_eq!(
        sent.kind,
        EventKind::DigitsSent {
            digits: "42#".into()
        }
    );

    // a maximum length ends it on the second digit
    let collect = op();
    engine
        .collect_digits(
            b,
            collect,
            CollectSpec {
                max_digits: 2,
                terminators: "#".into(),
                inter_digit_timeout: None,
                total_timeout: Some(Duration::from_secs(8)),
                stop_playback_on_digit: false,
            },
        )
        .unwrap();
    let send = op();
    engine.send_digits(a, send, "789", 80).unwrap();
    let collected = wait_for(&mut events, "digits", |e| e.op == Some(collect)).await;
    assert_eq!(
        collected.kind,
        EventKind::DigitsCollected {
            digits: "78".into(),
            reason: CollectReason::MaxDigits
        }
    );
    // the third digit is reported but belongs to no collection
    let (mut nine, mut sent) = (false, false);
    wait_for(&mut events, "the 9 and the end of sending", |e| {
        nine |= e.leg == Some(b) && matches!(e.kind, EventKind::DtmfReceived { digit: '9', .. });
        sent |= e.op == Some(send);
        nine && sent
    })
    .await;

    // nobody presses anything: the inter-digit timeout ends it empty
    let collect = op();
    engine
        .collect_digits(
            b,
            collect,
            CollectSpec {
                max_digits: 4,
                terminators: String::new(),
                inter_digit_timeout: Some(Duration::from_millis(300)),
                total_timeout: Some(Duration::from_secs(5)),
                stop_playback_on_digit: false,
            },
        )
        .unwrap();
    let collected = wait_for(&mut events, "digits", |e| e.op == Some(collect)).await;
    assert_eq!(
        collected.kind,
        EventKind::DigitsCollected {
            digits: String::new(),
            reason: CollectReason::InterDigitTimeout
        }
    );
    assert!(matches!(
        engine.collect_digits(
            b,
            op(),
            CollectSpec {
                max_digits: 0,
                terminators: String::new(),
                inter_digit_timeout: None,
                total_timeout: None,
                stop_playback_on_digit: false
            }
        ),
        Err(EngineError::BadRequest(_))
    ));
    assert!(matches!(
        engine.send_digits(a, op(), "12x", 100),
        Err(EngineError::BadRequest(_))
    ));
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leg_told_not_to_send_stays_silent_until_told_to_send() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), 20600, 1);
    let phone = Phone::new(20900, None);
    let leg = phone_leg(&engine, &phone);
    // an incoming leg before its answer: the phone hears nothing, not even silence
    engine.set_sending(leg, false).unwrap();
    listen(100).await;
    phone.clear();
    listen(400).await;
    assert_eq!(phone.packets(), 0, "nothing before the answer");
    engine.set_sending(leg, true).unwrap();
    listen(600).await;
    assert!(
        phone.packets() > 10,
        "media once answered: {}",
        phone.packets()
    );
    assert!(matches!(
        engine.set_sending(id(), true),
        Err(EngineError::UnknownLeg(_))
    ));
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_passes_audio_both_ways_and_hold_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    // two workers: the bridge moves one leg to the other's worker
    let engine = engine(dir.path(), 40400, 2);
    let p1 = Phone::new(16000, Some(700.0));
    let p2 = Phone::new(16002, Some(1300.0));
    let a = phone_leg(&engine, &p1);
    let b = phone_leg(&engine, &p2);
    engine.bridge(a, b).unwrap();
    assert!(matches!(engine.bridge(a, b), Err(EngineError::Busy(_, _))));
    listen(600).await;
    p1.clear();
    p2.clear();
    listen(1000).await;
    let (h1, h2) = (p1.take(), p2.take());
    assert!(
        level(&h2.samples, 700.0) > 3000.0,
        "p2 hears p1: {}",
        level(&h2.samples, 700.0)
    );
    assert!(level(&h1.samples, 1300.0) > 3000.0, "p1 hears p2");
    assert!(
        level(&h2.samples, 1300.0) < 200.0,
        "p2 does not hear itself"
    );

    // p1 holds the call (re-INVITE sendonly): we stop sending to it, p2 still hears it
    let reoffer = engine
        .remote_reoffer(a, &phone_offer(p1.addr.port(), "sendonly"))
        .unwrap();
    assert!(reoffer.remote_hold);
    assert!(reoffer.answer.contains("a=recvonly"), "{}", reoffer.answer);
    listen(200).await;
    p1.clear();
    p2.clear();
    listen(600).await;
    assert_eq!(p1.packets(), 0, "no media to a holding phone");
    assert!(level(&p2.take().samples, 700.0) > 3000.0);
    let resumed = engine
        .remote_reoffer(a, &phone_offer(p1.addr.port(), "sendrecv"))
        .unwrap();
    assert!(!resumed.remote_hold);
    listen(400).await;
    assert!(p1.packets() > 5);

    // we hold p2: it hears music on hold (440 + 480 Hz), p1 no longer hears it
    engine.hold(b, true).unwrap();
    listen(200).await;
    p1.clear();
    p2.clear();
    listen(800).await;
    let (h1, h2) = (p1.take(), p2.take());
    assert!(level(&h2.samples, 440.0) > 1000.0, "music on hold");
    assert!(
        level(&h1.samples, 1300.0) < 200.0,
        "held party is not heard"
    );
    engine.hold(b, false).unwrap();
    engine.unbridge(a).unwrap();
    listen(200).await;
    p2.clear();
    listen(600).await;
    assert!(level(&p2.take().samples, 700.0) < 200.0, "unbridged");
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_conference_member_hears_the_others_but_not_itself() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), 40600, 2);
    let mut events = engine.subscribe();
    let tones = [600.0, 1100.0, 1700.0];
    let phones: Vec<Phone> = tones
        .iter()
        .enumerate()
        .map(|(i, t)| Phone::new(16010 + 2 * i as u16, Some(*t)))
        .collect();
    let legs: Vec<LegId> = phones.iter().map(|p| phone_leg(&engine, p)).collect();
    let conf = ConferenceId(Uuid::new_v4());
    engine.conference_create(conf, true).unwrap();
    for leg in &legs {
        engine.conference_join(conf, *leg, false).unwrap();
    }
    let rec = op();
    let path = engine
        .conference_record(conf, rec, record_spec(RecordDirection::Both))
        .unwrap();
    listen(600).await;
    phones.iter().for_each(Phone::clear);
    listen(1000).await;
    for (i, p) in phones.iter().enumerate() {
        let heard = p.take();
        for (j, t) in tones.iter().enumerate() {
            let l = level(&heard.samples, *t);
            if i == j {
                assert!(l < 200.0, "phone {i} hears itself at {l}");
            } else {
                assert!(l > 3000.0, "phone {i} hears phone {j} at only {l}");
            }
        }
    }
    // a muted member is heard by nobody; one who left neither hears nor is heard
    engine.conference_mute(legs[0], true).unwrap();
    engine.conference_leave(legs[2]).unwrap();
    listen(300).await;
    phones.iter().for_each(Phone::clear);
    listen(800).await;
    let heard: Vec<_> = phones.iter().map(Phone::take).collect();
    assert!(
        level(&heard[1].samples, 600.0) < 200.0,
        "muted member heard"
    );
    assert!(
        level(&heard[1].samples, 1700.0) < 200.0,
        "member who left heard"
    );
    assert!(
        level(&heard[0].samples, 1100.0) > 3000.0,
        "muted member still hears"
    );
    assert!(
        level(&heard[2].samples, 1100.0) < 200.0,
        "member who left still hears"
    );
    engine.conference_stop_record(conf).unwrap();
    let done = wait_for(&mut events, "conference recording", |e| e.op == Some(rec)).await;
    assert_eq!(done.conference, Some(conf));
    let mix = decode_wav(&std::fs::read(&path).unwrap()).unwrap().samples;
    for t in tones {
        assert!(level(&mix, t) > 1000.0, "{t} Hz missing from the mix");
    }
    engine.conference_destroy(conf).unwrap();
    assert!(matches!(
        engine.conference_join(conf, legs[1], false),
        Err(EngineError::UnknownConference(_))
    ));
    engine.shutdown();
}

/// Serves one WAV over HTTP/1.1 on loopback, counting requests.
async fn wav_server(body: Vec<u8>) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = if head.starts_with(b"GET /prompt.wav ") {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&body);
                    r
                } else {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()
                };
                let _ = s.write_all(&reply).await;
            });
        }
    });
    (addr, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_are_downloaded_once_and_speech_recordings_and_echo_work() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), 40800, 1);
    let mut events = engine.subscribe();
    let phone = Phone::new(16020, Some(900.0));
    let leg = phone_leg(&engine, &phone);
    let body = wav_to_vec(&sine(1000.0, 6000.0, 0, 4000), WavFormat::Pcm16, 8000).unwrap();
    let (server, hits) = wav_server(body).await;
    let url = format!("http://{server}/prompt.wav");
    for _ in 0..2 {
        let play = op();
        engine
            .play(leg, play, &[PlaySource::Url(url.clone())])
            .await
            .unwrap();
        let done = wait_for(&mut events, "url playback", |e| e.op == Some(play)).await;
        assert!(matches!(
            done.kind,
            EventKind::PlaybackFinished {
                reason: PlaybackReason::Completed,
                position_ms: 500
            }
        ));
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "downloaded once");
    let missing = engine
        .play(
            leg,
            op(),
            &[PlaySource::Url(format!("http://{server}/nope.wav"))],
        )
        .await;
    assert!(matches!(missing, Err(EngineError::Media(m)) if m.contains("404")));
    assert!(matches!(
        engine
            .play(leg, op(), &[PlaySource::File(dir.path().join("none.wav"))])
            .await,
        Err(EngineError::Media(_))
    ));

    // speech: the phone hears the 600 Hz "voice"
    phone.clear();
    let talk = op();
    engine
        .talk(leg, talk, "hello there", "", "en-US")
        .await
        .unwrap();
    wait_for(&mut events, "talk end", |e| e.op == Some(talk)).await;
    assert!(level(&phone.take().samples, 600.0) > 1000.0);

    // a recording with a maximum duration stops by itself
    let rec = op();
    engine
        .record(
            leg,
            rec,
            RecordSpec {
                max_duration: Some(Duration::from_millis(400)),
                beep: true,
                ..record_spec(RecordDirection::Both)
            },
        )
        .unwrap();
    let done = wait_for(&mut events, "recording end", |e| e.op == Some(rec)).await;
    assert!(matches!(
        done.kind,
        EventKind::RecordingFinished {
            duration_ms: 400,
            reason: RecordReason::MaxDuration,
            ..
        }
    ));

    // echo: the phone hears its own tone
    let echo = op();
    engine.echo(leg, echo, true).unwrap();
    listen(300).await;
    phone.clear();
    listen(600).await;
    assert!(level(&phone.take().samples, 900.0) > 3000.0);
    engine.echo(leg, echo, false).unwrap();
    wait_for(&mut events, "echo end", |e| {
        e.op == Some(echo) && e.kind == EventKind::EchoFinished
    })
    .await;

    // mute out: the phone hears nothing even while a prompt plays
    engine.mute(leg, MuteDirection::Out, true).unwrap();
    engine.play(leg, op(), &[PlaySource::Beep]).await.unwrap();
    listen(100).await;
    phone.clear();
    listen(300).await;
    assert!(level(&phone.take().samples, 1000.0) < 100.0);
    engine.destroy_leg(leg).unwrap();
    let stats = wait_for(&mut events, "final stats", |e| {
        e.leg == Some(leg) && matches!(e.kind, EventKind::LegStats(_))
    })
    .await;
    let EventKind::LegStats(s) = stats.kind else {
        unreachable!()
    };
    assert!(s.packets_sent > 50 && s.packets_received > 50, "{s:?}");
    wait_for(&mut events, "leg end", |e| {
        e.leg == Some(leg) && e.kind == EventKind::LegDestroyed
    })
    .await;
    assert!(matches!(
        engine.hold(leg, true),
        Err(EngineError::UnknownLeg(_))
    ));
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_stops_on_key_and_silent_peers_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with(dir.path(), 41000, 1, Some(Duration::from_millis(400)));
    let mut events = engine.subscribe();
    let (a, b) = leg_pair(&engine);
    let rec = op();
    engine
        .record(
            b,
            rec,
            RecordSpec {
                stop_keys: "#*".into(),
                ..record_spec(RecordDirection::In)
            },
        )
        .unwrap();
    listen(300).await;
    engine.send_digits(a, op(), "*", 100).unwrap();
    let done = wait_for(&mut events, "recording end", |e| e.op == Some(rec)).await;
    assert!(matches!(
        done.kind,
        EventKind::RecordingFinished {
            reason: RecordReason::Key('*'),
            ..
        }
    ));
    // a phone that goes quiet
    let phone = Phone::new(16030, None);
    let leg = phone_leg(&engine, &phone);
    listen(300).await;
    phone.set_sending(false);
    let timeout = wait_for(&mut events, "rtp timeout", |e| {
        e.leg == Some(leg) && e.kind == EventKind::RtpTimeout
    })
    .await;
    assert_eq!(timeout.op, None);
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_media_streams_both_ways_over_audiosocket() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), 41200, 1);
    let mut events = engine.subscribe();
    // an audiosocket server that checks the UUID and sends every audio frame back
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap();
    let phone = Phone::new(16040, Some(800.0));
    let leg = phone_leg(&engine, &phone);
    let expected = leg.0;
    let got_uuid = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut hello = [0u8; 19];
        s.read_exact(&mut hello).await.unwrap();
        let ok = hello[0] == 1 && hello[1..3] == [0, 16] && hello[3..] == *expected.as_bytes();
        let mut head = [0u8; 3];
        while s.read_exact(&mut head).await.is_ok() {
            let len = usize::from(u16::from_be_bytes([head[1], head[2]]));
            let mut payload = vec![0u8; len];
            if s.read_exact(&mut payload).await.is_err() || head[0] == 0 {
                break;
            }
            if head[0] == 0x10 {
                let _ = s.write_all(&head).await;
                let _ = s.write_all(&payload).await;
            }
        }
        ok
    });
    let ext = op();
    engine
        .external_media(leg, ext, ExternalMediaSpec { address: server })
        .await
        .unwrap();
    listen(400).await;
    phone.clear();
    listen(800).await;
    assert!(
        level(&phone.take().samples, 800.0) > 3000.0,
        "the server's audio reaches the phone"
    );
    engine.stop_external_media(leg).unwrap();
    let done = wait_for(&mut events, "external media end", |e| e.op == Some(ext)).await;
    assert_eq!(
        done.kind,
        EventKind::ExternalMediaFinished {
            reason: "stopped".into()
        }
    );
    assert!(got_uuid.await.unwrap(), "the leg's UUID came first");
    engine.shutdown();
}

#[test]
fn sdp_problems_are_errors_and_ports_come_from_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), 41400, 1);
    assert!(matches!(
        engine.create_leg(LegSpec {
            id: id(),
            remote_offer: Some("not sdp")
        }),
        Err(EngineError::Sdp(_))
    ));
    let g729 = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                m=audio 5000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";
    assert!(matches!(
        engine.create_leg(LegSpec {
            id: id(),
            remote_offer: Some(g729)
        }),
        Err(EngineError::Negotiation(_))
    ));
    let (a, offer) = engine
        .create_leg(LegSpec {
            id: id(),
            remote_offer: None,
        })
        .unwrap();
    let port = sdp_address(&offer).port();
    assert!(
        (41400..41600).contains(&port) && port.is_multiple_of(2),
        "{port}"
    );
    assert!(matches!(
        engine.create_leg(LegSpec {
            id: a,
            remote_offer: None
        }),
        Err(EngineError::LegExists(_))
    ));
    assert!(matches!(
        engine.remote_answer(a, g729),
        Err(EngineError::Negotiation(_))
    ));
    let hold = engine.local_reoffer(a, true).unwrap();
    assert!(hold.contains("a=sendonly"));
    engine.destroy_leg(a).unwrap();
    assert!(matches!(
        engine.remote_answer(a, &offer),
        Err(EngineError::UnknownLeg(_))
    ));
    engine.shutdown();
    assert!(matches!(
        engine.create_leg(LegSpec {
            id: id(),
            remote_offer: None
        }),
        Err(EngineError::Stopped)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_without_telephone_event_get_in_band_digits_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), 41600, 1);
    let mut events = engine.subscribe();
    let phone = Phone::new(16050, None);
    let (leg, answer) = engine
        .create_leg(LegSpec {
            id: id(),
            remote_offer: Some(&plain_offer(phone.addr.port())),
        })
        .unwrap();
    assert!(!answer.contains("telephone-event"));
    phone.connect(sdp_address(&answer));
    let collect = op();
    engine
        .collect_digits(
            leg,
            collect,
            CollectSpec {
                max_digits: 2,
                terminators: "#".into(),
                inter_digit_timeout: Some(Duration::from_secs(5)),
                total_timeout: None,
                stop_playback_on_digit: false,
            },
        )
        .unwrap();
    listen(200).await;
    // the phone presses 5 (770 + 1336 Hz) then 9 (852 + 1477 Hz), 200 ms each
    for pair in [[770.0, 1336.0], [852.0, 1477.0]] {
        phone.set_tones(&pair);
        listen(200).await;
        phone.set_tones(&[]);
        listen(200).await;
    }
    let collected = wait_for(&mut events, "in-band digits", |e| e.op == Some(collect)).await;
    assert_eq!(
        collected.kind,
        EventKind::DigitsCollected {
            digits: "59".into(),
            reason: CollectReason::MaxDigits
        }
    );
    // our digits to it go as tone pairs in its audio
    phone.clear();
    let send = op();
    engine.send_digits(leg, send, "7", 200).unwrap();
    wait_for(&mut events, "digits sent", |e| e.op == Some(send)).await;
    listen(100).await;
    let heard = phone.take();
    assert_eq!(heard.events, 0, "no RFC 4733 packets to this peer");
    let mut digits = Vec::new();
    voxbin_media::dtmf::DtmfDetector::default().process(&heard.samples, |d| digits.push(d.digit));
    assert_eq!(digits, vec!['7']);
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_moves_is_followed_after_its_reoffer() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), 41800, 1);
    let first = Phone::new(16060, Some(500.0));
    let leg = phone_leg(&engine, &first);
    let echo = op();
    engine.echo(leg, echo, true).unwrap();
    listen(400).await;
    assert!(first.packets() > 5);
    // the phone moves to another port (new device, new NAT binding) and says so
    let moved = Phone::new(16062, Some(1200.0));
    let answer = engine
        .remote_reoffer(leg, &phone_offer(moved.addr.port(), "sendrecv"))
        .unwrap();
    moved.connect(sdp_address(&answer.answer));
    drop(first);
    listen(400).await;
    moved.clear();
    listen(600).await;
    let heard = moved.take();
    // the echo proves both directions: the engine takes its RTP and sends to it
    assert!(
        level(&heard.samples, 1200.0) > 3000.0,
        "moved phone echoed: {}",
        level(&heard.samples, 1200.0)
    );
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ringback_rings_until_stopped_and_plays_only_alone() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), 42000, 1);
    let mut events = engine.subscribe();
    let phone = Phone::new(16070, None);
    let leg = phone_leg(&engine, &phone);
    let ring = op();
    engine
        .play(leg, ring, &[PlaySource::Ringback])
        .await
        .unwrap();
    listen(100).await;
    phone.clear();
    listen(1000).await;
    let heard = phone.take().samples;
    assert!(level(&heard, 440.0) > 500.0 && level(&heard, 480.0) > 500.0);
    engine.stop_playback(leg).unwrap();
    let done = wait_for(&mut events, "ringback end", |e| e.op == Some(ring)).await;
    assert!(matches!(
        done.kind,
        EventKind::PlaybackFinished {
            reason: PlaybackReason::Stopped,
            ..
        }
    ));
    listen(100).await;
    phone.clear();
    listen(300).await;
    assert!(level(&phone.take().samples, 440.0) < 100.0);
    // endless, so never part of a list
    let listed = engine
        .play(leg, op(), &[PlaySource::Beep, PlaySource::Ringback])
        .await;
    assert!(
        matches!(listed, Err(EngineError::BadRequest(_))),
        "{listed:?}"
    );
    engine.shutdown();
}
