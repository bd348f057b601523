//! Call media streaming and recording downloads end to end: sipp calls a number whose flow
//! keeps the call up and records it, while it plays a real recording (g711a.pcap) as the
//! caller. A websocket client opens `GET /v1.0/calls/{id}/media_stream?encapsulation=rtp`
//! and gets RTP, then `encapsulation=sln` (which replaces the first stream), hears the caller, talks back (a 1 kHz tone that then shows up in the call's recording),
//! and is closed when the call ends; bad requests are refused before the upgrade. The WAV
//! downloads through the API. With `VOXBIN_TEST_SHAPE=distributed` a second test runs the
//! media node as its own process: the stream crosses from it to the API process's
//! audiosocket listener, the WAV is fetched from the node over the bus, and once the node is
//! gone the download is a 503 that says so.

mod support;

use support::free_udp_port;

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::api::{create_tenant, Client};
use support::Server;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

/// The caller: INVITE offering PCMA, plays g711a.pcap after the ACK, waits for our BYE.
const CALLER: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="caller_talks_until_bye">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@pstn.voxbin.local SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+15550199@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@pstn.voxbin.local>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000
      a=ptime:20
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+15550199@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <nop>
    <action>
      <exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/>
    </action>
  </nop>
  <recv request="BYE" timeout="40000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
"#;

/// Starts sipp as the caller of `number` at the media node on `sip_port`.
fn sipp_caller(dir: &Path, sip_port: u16, number: &str, rtp_port: u16) -> Child {
    let scenario: PathBuf = dir.join("caller_talks_until_bye.xml");
    std::fs::write(&scenario, CALLER).unwrap();
    Command::new("sipp")
        .arg("-sf")
        .arg(&scenario)
        .args(["-s", number, "-i", "127.0.0.1"])
        .args(["-p", &free_udp_port().to_string()])
        .args(["-mp", &rtp_port.to_string()])
        .args(["-m", "1", "-l", "1", "-nostdin", "-timeout", "60s"])
        .arg(format!("127.0.0.1:{sip_port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp runs (apt-get install sip-tester)")
}

fn assert_sipp_ok(out: &Output, logs: &str) {
    assert!(
        out.status.success(),
        "sipp failed ({:?})\n{}\n{}\nserver:\n{logs}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}

/// Answer, record, keep the call up for `ms`, stop recording, hang up.
fn flow_keeping_the_call_up(ms: u64) -> Value {
    json!({
        "name": "stream me", "detail": "a call to listen to",
        "actions": [
            {"type": "answer"},
            {"type": "recording_start", "option": {"format": "wav"}},
            {"type": "sleep", "option": {"duration": ms}},
            {"type": "recording_stop"},
            {"type": "hangup"}
        ]
    })
}

/// A customer with `flow` on `number`; its client.
fn number_with_flow(server: &Server, number: &str, flow: Value) -> Client {
    let tenant = create_tenant(server, "streamer");
    let c = Client::with_key(&server.api, &tenant.accesskey);
    let made = c.post("/v1.0/flows", flow);
    assert_eq!(made.status, 200, "{}", made.raw);
    let n = c.post(
        "/v1.0/numbers",
        json!({"number": number, "call_flow_id": made.body["id"], "name": "n", "detail": ""}),
    );
    assert_eq!(n.status, 200, "{}", n.raw);
    c
}

/// Reads `path` until `done` holds for its body.
fn wait_until(c: &Client, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = c.get(path);
        if r.status == 200 && done(&r.body) {
            return r.body;
        }
        assert!(
            Instant::now() < deadline,
            "{what} never happened: {}",
            r.raw
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The id of the customer's call once it is answered.
fn answered_call(c: &Client) -> String {
    let list = wait_until(c, "/v1.0/calls", "an answered call", |b| {
        b["result"][0]["status"] == "progressing"
    });
    list["result"][0]["id"].as_str().unwrap().to_owned()
}

type Ws = WebSocket<TcpStream>;

/// Opens the media stream of `call`; the HTTP status when the handshake is refused.
fn open_stream(api: &str, query: &str, call: &str) -> Result<Ws, u16> {
    let url = format!("ws://{api}/v1.0/calls/{call}/media_stream?{query}");
    let stream = TcpStream::connect(api).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    match tungstenite::client(url.as_str(), stream) {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => {
            Err(r.status().as_u16())
        }
        Err(e) => panic!("handshake: {e}"),
    }
}

/// Root mean square of s16le samples.
fn rms(pcm: &[u8]) -> f64 {
    let n = (pcm.len() / 2).max(1) as f64;
    let sum: f64 = pcm
        .chunks_exact(2)
        .map(|s| f64::from(i16::from_le_bytes([s[0], s[1]])).powi(2))
        .sum();
    (sum / n).sqrt()
}

/// Reads sln frames until one carries the caller's voice; how many came before it.
fn hear_the_caller(ws: &mut Ws) -> usize {
    for n in 0..500 {
        match ws.read().expect("audio from the call") {
            Message::Binary(pcm) => {
                assert_eq!(pcm.len(), 320, "20 ms of 8 kHz 16-bit per message");
                if rms(&pcm) > 300.0 {
                    return n;
                }
            }
            Message::Close(c) => panic!("closed before the caller was heard: {c:?}"),
            _ => {}
        }
    }
    panic!("500 frames (10 s) of silence: the caller's audio never came through")
}

/// 20 ms of a 1 kHz tone (8 samples a period, so frames join without a phase jump).
fn tone_frame() -> Vec<u8> {
    (0..160)
        .flat_map(|i| {
            let x = (std::f64::consts::TAU * f64::from(i % 8) / 8.0).sin();
            ((x * 12000.0) as i16).to_le_bytes()
        })
        .collect()
}

/// Sends `frames` tone frames in real time.
fn talk_back(ws: &mut Ws, frames: usize) {
    let start = Instant::now();
    for n in 0..frames {
        ws.send(Message::Binary(tone_frame().into()))
            .expect("audio to the call");
        let due = start + Duration::from_millis(20 * (n as u64 + 1));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

/// Reads until the server's close frame; its code and reason.
fn closed_by_server(ws: &mut Ws) -> (CloseCode, String) {
    loop {
        match ws.read() {
            Ok(Message::Close(Some(f))) => return (f.code, f.reason.to_string()),
            Ok(Message::Close(None)) => panic!("closed without a code"),
            Ok(_) => continue,
            Err(e) => panic!("no close frame from the server: {e}"),
        }
    }
}

/// 20 ms windows of a WAV's samples in which a 1 kHz tone holds most of the energy.
fn tone_windows(wav: &[u8]) -> usize {
    let at = wav
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk")
        + 8;
    let samples: Vec<f64> = wav[at..]
        .chunks_exact(2)
        .map(|s| f64::from(i16::from_le_bytes([s[0], s[1]])))
        .collect();
    let coeff = 2.0 * (std::f64::consts::TAU * 1000.0 / 8000.0).cos();
    samples
        .chunks_exact(160)
        .filter(|w| {
            let (mut s1, mut s2) = (0.0, 0.0);
            for x in w.iter() {
                let s = x + coeff * s1 - s2;
                s2 = s1;
                s1 = s;
            }
            let tone = 2.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / 160.0;
            let total: f64 = w.iter().map(|x| x * x).sum();
            total > 1e6 && tone > 0.5 * total
        })
        .count()
}

/// GET with `Connection: close`, following one redirect; status and body bytes.
fn download(api: &str, path: &str) -> (u16, Vec<u8>) {
    let (status, headers, body) = get_bytes(api, path);
    if status != 307 {
        return (status, body);
    }
    let location = headers
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
        })
        .map(|(_, v)| v.trim().to_owned())
        .expect("a Location");
    let (status, _, body) = get_bytes(api, &location);
    (status, body)
}

fn get_bytes(api: &str, path: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(api).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole response");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head, raw[split + 4..].to_vec())
}

/// The customer's one recording once it ended; its id.
fn ended_recording(c: &Client) -> String {
    let recs = wait_until(c, "/v1.0/recordings", "the recording's end", |b| {
        b["result"][0]["status"] == "ended"
    });
    recs["result"][0]["id"].as_str().unwrap().to_owned()
}

#[test]
fn a_client_hears_the_caller_talks_back_and_is_closed_when_the_call_ends() {
    let media_sip = free_udp_port();
    let sip = format!("media.sip_listen=127.0.0.1:{media_sip}");
    let edge = format!("sip.listen=127.0.0.1:{}", free_udp_port());
    let ng = format!("rtp_relay.ng_listen=127.0.0.1:{}", free_udp_port());
    let server = Server::start(&[
        "--set",
        &sip,
        "--set",
        &edge,
        "--set",
        &ng,
        "--set",
        "rtp.port_min=18200",
        "--set",
        "rtp.port_max=18399",
    ]);
    let c = number_with_flow(&server, "+15550300", flow_keeping_the_call_up(8000));
    let key = c.accesskey.clone().unwrap();
    let other = create_tenant(&server, "someone-else");

    // refused before any call exists
    let nobody = "0190a000-0000-7000-8000-00000000abcd";
    assert_eq!(
        open_stream(&server.api, "encapsulation=sln", nobody).err(),
        Some(401)
    );
    let query = format!("encapsulation=sln&accesskey={key}");
    assert_eq!(open_stream(&server.api, &query, nobody).err(), Some(404));

    let dir = tempfile::tempdir().unwrap();
    let sipp = sipp_caller(dir.path(), media_sip, "+15550300", 18800);
    let call = answered_call(&c);

    // refused before the upgrade: bad encapsulation, another customer's call, plain GET
    let bad = format!("encapsulation=opus&accesskey={key}");
    assert_eq!(open_stream(&server.api, &bad, &call).err(), Some(400));
    let theirs = format!("encapsulation=sln&accesskey={}", other.accesskey);
    assert_eq!(open_stream(&server.api, &theirs, &call).err(), Some(404));
    let plain = c.get(&format!(
        "/v1.0/calls/{call}/media_stream?encapsulation=sln"
    ));
    assert_eq!(plain.expect_error(400), "WEBSOCKET_REQUIRED");

    // RTP first: 20 ms of PCMU per packet; a newer stream on the call then replaces it
    let rtp_query = format!("encapsulation=rtp&accesskey={key}");
    let mut rtp = open_stream(&server.api, &rtp_query, &call).expect("the rtp stream opens");
    let packet = loop {
        if let Message::Binary(p) = rtp.read().expect("an RTP packet") {
            break p;
        }
    };
    assert_eq!(packet.len(), 12 + 160, "RTP header and 160 PCMU bytes");
    assert_eq!((packet[0] >> 6, packet[1] & 0x7f), (2, 0), "RTP v2, PCMU");

    let mut ws = open_stream(&server.api, &query, &call).expect("the media stream opens");
    assert_eq!(closed_by_server(&mut rtp).0, CloseCode::Normal);
    hear_the_caller(&mut ws);
    talk_back(&mut ws, 75);
    // the flow's sleep ends, the call hangs up, the stream closes
    let (code, reason) = closed_by_server(&mut ws);
    assert_eq!(code, CloseCode::Normal, "{reason}");
    let out = sipp.wait_with_output().unwrap();
    assert_sipp_ok(&out, &server.stderr());
    wait_until(&c, &format!("/v1.0/calls/{call}"), "the hangup", |b| {
        b["status"] == "hangup"
    });
    assert_eq!(open_stream(&server.api, &query, &call).err(), Some(409));

    // the recording holds what the client said to the caller
    let rec = ended_recording(&c);
    let (status, wav) = download(&server.api, &c.path(&format!("/v1.0/recordingfiles/{rec}")));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&wav));
    assert_eq!(&wav[..4], b"RIFF");
    let toned = tone_windows(&wav);
    assert!(
        toned >= 20,
        "only {toned} windows of the client's 1 kHz tone in the recording"
    );
}

/// Every backend role but the media node's, for the API process of the split test.
const API_SIDE_ROLES: &[&str] = &[
    "api",
    "customer",
    "agent",
    "flow",
    "call",
    "conference",
    "queue",
    "number",
    "route",
    "registrar",
    "webhook",
    "storage",
    "tts",
    "transcribe",
    "campaign",
    "message",
    "billing",
    "tag",
    "timeline",
    "ai",
];

#[test]
fn with_the_media_node_in_its_own_process_streams_and_recordings_cross_over() {
    if !support::shape::distributed() {
        eprintln!("needs VOXBIN_TEST_SHAPE=distributed (two processes share RabbitMQ); skipped");
        return;
    }
    let mut api_args: Vec<&str> = Vec::new();
    for role in API_SIDE_ROLES {
        api_args.extend(["--role", role]);
    }
    let api = Server::start(&api_args);
    let media_sip = free_udp_port();
    let sip = format!("media.sip_listen=127.0.0.1:{media_sip}");
    let mut media_args: Vec<&str> = api.engines.iter().map(String::as_str).collect();
    media_args.extend([
        "--role",
        "media",
        "--set",
        &sip,
        "--set",
        "media.node_id=media-split-test",
        "--set",
        "rtp.port_min=18400",
        "--set",
        "rtp.port_max=18599",
    ]);
    let media = Server::start(&media_args);

    let c = number_with_flow(&api, "+15550301", flow_keeping_the_call_up(5000));
    let key = c.accesskey.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sipp = sipp_caller(dir.path(), media_sip, "+15550301", 18850);
    let call = answered_call(&c);

    // the node in the other process connects to this API process's audiosocket listener
    let query = format!("encapsulation=sln&accesskey={key}");
    let mut ws = open_stream(&api.api, &query, &call).expect("the media stream opens");
    hear_the_caller(&mut ws);
    talk_back(&mut ws, 10);
    // the client leaves first; the call goes on to its own end
    ws.close(None).unwrap();
    let out = sipp.wait_with_output().unwrap();
    assert_sipp_ok(&out, &media.stderr());

    // the WAV is on the media node's disk only, and downloads through the API
    let rec = ended_recording(&c);
    let name = format!("{rec}.wav");
    let on_node = media.data_dir.path().join("recordings").join(&name);
    assert!(on_node.exists(), "{} missing", on_node.display());
    assert!(!api.data_dir.path().join("recordings").join(&name).exists());
    let path = c.path(&format!("/v1.0/recordingfiles/{rec}"));
    let (status, wav) = download(&api.api, &path);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&wav));
    assert_eq!(wav, std::fs::read(&on_node).unwrap());

    // without the node the file cannot be had, and the answer says why
    drop(media);
    let (status, body) = download(&api.api, &path);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["reason"], "MEDIA_NODE_UNAVAILABLE", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("media-split-test")),
        "{body}"
    );
}
