//! Helpers of the engine tests: a raw-UDP "phone" that sends PCMU RTP (a tone or silence) and
//! keeps what it receives, a Goertzel level meter, SDP builders, and event waiting.

#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use voxbin_media::engine::{EngineEvent, EventKind};
use voxbin_media::g711::{decode_pcmu, encode_pcmu, FRAME_SAMPLES};
use voxbin_media::rtp::{write_simple, RtpHeader, RtpPacket};

/// Amplitude of `freq` in 8 kHz `samples` (single-bin DFT, i.e. Goertzel's result).
pub fn level(samples: &[i16], freq: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let (mut s, mut c) = (0.0, 0.0);
    for (i, &v) in samples.iter().enumerate() {
        let ph = 2.0 * std::f64::consts::PI * freq * i as f64 / 8000.0;
        s += f64::from(v) * ph.sin();
        c += f64::from(v) * ph.cos();
    }
    2.0 * (s * s + c * c).sqrt() / samples.len() as f64
}

/// A sine at `freq` Hz, `amplitude` peak, `n` samples from sample `start`.
pub fn sine(freq: f64, amplitude: f64, start: usize, n: usize) -> Vec<i16> {
    (start..start + n)
        .map(|i| (amplitude * (2.0 * std::f64::consts::PI * freq * i as f64 / 8000.0).sin()) as i16)
        .collect()
}

/// The offer of a phone without RFC 4733 (DTMF only in-band).
pub fn plain_offer(port: u16) -> String {
    format!(
        "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n"
    )
}

/// The offer a phone at `port` on loopback makes.
pub fn phone_offer(port: u16, direction: &str) -> String {
    format!(
        "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-15\r\na=ptime:20\r\na={direction}\r\n"
    )
}

/// The RTP address in an SDP (c= and m=audio).
pub fn sdp_address(sdp: &str) -> SocketAddr {
    let ip = sdp
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .expect("c= line")
        .trim();
    let port = sdp
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|l| l.split_whitespace().next())
        .expect("m= line");
    format!("{ip}:{port}").parse().expect("address")
}

/// What a phone received.
#[derive(Debug, Default)]
pub struct Heard {
    /// Decoded audio, in arrival order.
    pub samples: Vec<i16>,
    /// RTP packets received.
    pub packets: usize,
    /// Telephone-event packets received.
    pub events: usize,
}

/// A phone: sends a tone (or silence) as PCMU every 20 ms to `remote`, records what comes.
pub struct Phone {
    /// Where the phone receives.
    pub addr: SocketAddr,
    socket: UdpSocket,
    remote: Arc<Mutex<Option<SocketAddr>>>,
    tone: Arc<Mutex<Vec<f64>>>,
    sending: Arc<AtomicBool>,
    heard: Arc<Mutex<Heard>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Phone {
    /// A phone bound to `port` on loopback sending `tone` (Hz) once it knows its peer.
    pub fn new(port: u16, tone: Option<f64>) -> Phone {
        let socket = UdpSocket::bind(("127.0.0.1", port)).expect("bind phone");
        socket
            .set_read_timeout(Some(Duration::from_millis(2)))
            .expect("timeout");
        let addr = socket.local_addr().expect("addr");
        let remote = Arc::new(Mutex::new(None));
        let tone = Arc::new(Mutex::new(tone.into_iter().collect::<Vec<f64>>()));
        let sending = Arc::new(AtomicBool::new(true));
        let heard = Arc::new(Mutex::new(Heard::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let socket = socket.try_clone().expect("clone");
            let (remote, tone, sending, heard, stop) = (
                remote.clone(),
                tone.clone(),
                sending.clone(),
                heard.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                let start = Instant::now();
                let mut next = start;
                let mut seq: u16 = 0;
                let mut buf = [0u8; 1500];
                let mut sample = 0usize;
                while !stop.load(Ordering::SeqCst) {
                    if Instant::now() >= next {
                        next += Duration::from_millis(20);
                        let to = *remote.lock().unwrap();
                        if let (Some(to), true) = (to, sending.load(Ordering::SeqCst)) {
                            let mut pcm = vec![0i16; FRAME_SAMPLES];
                            for f in tone.lock().unwrap().iter() {
                                let s = sine(*f, 6000.0, sample, FRAME_SAMPLES);
                                pcm.iter_mut().zip(s).for_each(|(p, v)| *p += v);
                            }
                            let mut payload = [0u8; FRAME_SAMPLES];
                            encode_pcmu(&pcm, &mut payload);
                            let h = RtpHeader::new(0, seq, u32::from(seq) * 160, 0xfeed);
                            let mut out = [0u8; 200];
                            let n = write_simple(&h, &payload, &mut out).unwrap();
                            let _ = socket.send_to(&out[..n], to);
                            seq = seq.wrapping_add(1);
                        }
                        sample += FRAME_SAMPLES;
                    }
                    if let Ok((n, _)) = socket.recv_from(&mut buf) {
                        if let Ok(p) = RtpPacket::parse(&buf[..n]) {
                            let mut h = heard.lock().unwrap();
                            h.packets += 1;
                            if p.header.payload_type == 0 {
                                let mut pcm = [0i16; FRAME_SAMPLES];
                                let k = decode_pcmu(p.payload, &mut pcm);
                                h.samples.extend_from_slice(&pcm[..k]);
                            } else {
                                h.events += 1;
                            }
                        }
                    }
                }
            })
        };
        Phone {
            addr,
            socket,
            remote,
            tone,
            sending,
            heard,
            stop,
            thread: Some(thread),
        }
    }

    /// Starts sending to the leg at `remote`.
    pub fn connect(&self, remote: SocketAddr) {
        *self.remote.lock().unwrap() = Some(remote);
    }

    /// Pauses or resumes sending.
    pub fn set_sending(&self, on: bool) {
        self.sending.store(on, Ordering::SeqCst);
    }

    /// Changes the tone (several frequencies are summed: a DTMF pair is two).
    pub fn set_tones(&self, freqs: &[f64]) {
        *self.tone.lock().unwrap() = freqs.to_vec();
    }

    /// Forgets what was heard so far.
    pub fn clear(&self) {
        *self.heard.lock().unwrap() = Heard::default();
    }

    /// What was heard so far (taken).
    pub fn take(&self) -> Heard {
        std::mem::take(&mut *self.heard.lock().unwrap())
    }

    /// Packets received so far.
    pub fn packets(&self) -> usize {
        self.heard.lock().unwrap().packets
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = &self.socket;
    }
}

/// Waits (up to 10 s) for the first event matching `pred`.
pub async fn wait_for(
    rx: &mut broadcast::Receiver<EngineEvent>,
    what: &str,
    mut pred: impl FnMut(&EngineEvent) -> bool,
) -> EngineEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) if pred(&e) => return e,
            Ok(Ok(_)) => {}
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(e)) => panic!("event channel closed waiting for {what}: {e}"),
            Err(_) => panic!("no {what} within 10 s"),
        }
    }
}

/// True for an event of `kind`'s variant (ignoring its fields).
pub fn is_kind(e: &EngineEvent, f: fn(&EventKind) -> bool) -> bool {
    f(&e.kind)
}
