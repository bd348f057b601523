//! Parse + serialise cost of a typical INVITE (with SDP) and its 200 OK, in ns per message.
//! Run: `cargo run --release -p voxbin-sip --example parse_bench [iterations]`.

use std::hint::black_box;
use std::time::Instant;

use voxbin_sip::{parse_datagram, Message};

const INVITE: &str = "INVITE sip:+15551234567@c1.registrar.voxbin.local SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1---a8d1c1f2e3b4a5c6;rport\r\n\
Max-Forwards: 70\r\n\
Contact: <sip:1001@192.0.2.10:5060;transport=udp>\r\n\
To: <sip:+15551234567@c1.registrar.voxbin.local>\r\n\
From: \"Alice\" <sip:1001@c1.registrar.voxbin.local>;tag=5f3c8a1b\r\n\
Call-ID: 7a9d2b4c6e8f0a1b3c5d7e9f@192.0.2.10\r\n\
CSeq: 1 INVITE\r\n\
Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n\
Content-Type: application/sdp\r\n\
Supported: replaces, norefersub, extended-refer, timer, outbound, path\r\n\
User-Agent: Z 5.5.10 v2.10.19.9\r\n\
Allow-Events: presence, kpml, talk\r\n\
Content-Length: 240\r\n\
\r\n\
v=0\r\n\
o=Z 0 0 IN IP4 192.0.2.10\r\n\
s=Z\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 8000 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=sendrecv\r\n\
a=ptime:20\r\n\
a=rtcp-mux\r\n\
a=label:1\r\n\
a=x:12\r\n";

/// Runs `f` `n` times in ten rounds and returns the best round's ns per call (the rounds
/// another process preempted are the slow ones, so the minimum is the cost itself).
fn time(n: u32, mut f: impl FnMut()) -> f64 {
    let per_round = (n / 10).max(1);
    (0..10)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_round {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(per_round)
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let raw = INVITE.as_bytes();
    let msg = match parse_datagram(raw) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("sample INVITE does not parse: {e}");
            std::process::exit(1);
        }
    };
    // warm up caches and the allocator
    time(n / 10 + 1, || {
        black_box(parse_datagram(black_box(raw)).ok());
    });
    let parse = time(n, || {
        black_box(parse_datagram(black_box(raw)).ok());
    });
    let mut out = Vec::with_capacity(2048);
    let serialise = time(n, || {
        out.clear();
        black_box(&msg).write_to(&mut out);
        black_box(&out);
    });
    let both = time(n, || {
        if let Ok(Message::Request(mut req)) = parse_datagram(black_box(raw)) {
            // what a proxy touches: top Via, Record-Route, Max-Forwards
            req.headers.insert_first(
                voxbin_sip::HeaderName::Via,
                "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKedge1",
            );
            black_box(req.headers.top_via().ok());
            black_box(req.to_bytes());
        }
    });
    println!(
        "message: INVITE with SDP, {} bytes, {} iterations (best of 10 rounds)",
        raw.len(),
        n
    );
    println!("parse:             {parse:8.0} ns/msg");
    println!("serialise:         {serialise:8.0} ns/msg");
    println!("parse+serialise:   {:8.0} ns/msg", parse + serialise);
    println!("proxy round (parse, add Via, read top Via, serialise): {both:8.0} ns/msg");
}
