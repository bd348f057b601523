//! A minimal user agent server on the library's transport and transactions: answers INVITE
//! with 180 then 200 (with SDP), absorbs the ACK, answers BYE, OPTIONS and anything else with
//! 200. Shows the driver loop the `sip-edge` role uses; handy against `sipp -sn uac`.
//! Run: `cargo run --release -p voxbin-sip --example uas -- 127.0.0.1:5090`.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use voxbin_sip::dialog::{new_tag, response_with_tag};
use voxbin_sip::transaction::{Input, Output, TimerConfig, Transactions, TxEvent};
use voxbin_sip::{HeaderName, Incoming, Method, SipTransport, TransportConfig};

const SDP: &str = "v=0\r\no=uas 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| "127.0.0.1:5090".parse().expect("literal address"));
    let cfg = TransportConfig {
        udp: vec![addr],
        tcp: vec![addr],
        ..TransportConfig::default()
    };
    let (sip, mut rx) = match SipTransport::bind(cfg).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot bind {addr}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("uas listening on udp+tcp {addr}");
    let mut txs = Transactions::new(TimerConfig::default());
    let contact = format!("<sip:uas@{addr}>");
    loop {
        let wake = txs.next_timeout();
        let input = tokio::select! {
            incoming = rx.recv() => match incoming {
                Some(Incoming::Message { msg, from, .. }) => Input::Received { msg, from },
                Some(Incoming::Malformed { error, from, .. }) => {
                    eprintln!("malformed from {from}: {error}");
                    continue;
                }
                None => return,
            },
            _ = sleep_until(wake) => Input::Tick,
        };
        if let Err(e) = txs.handle(input, Instant::now()) {
            eprintln!("transaction layer refused: {e}");
        }
        while let Some(out) = txs.poll() {
            match out {
                Output::Send { target, msg } => {
                    if let Err(e) = sip.send(target, &msg).await {
                        eprintln!("send to {target} failed: {e}");
                    }
                }
                Output::Event(TxEvent::Request { req, .. }) => {
                    let tag = new_tag();
                    let mut answers = Vec::new();
                    if req.method == Method::Invite {
                        answers.push(response_with_tag(&req, 180, "Ringing", &tag));
                        let mut ok = response_with_tag(&req, 200, "OK", &tag);
                        ok.headers.push(HeaderName::Contact, contact.clone());
                        ok.headers.push(HeaderName::ContentType, "application/sdp");
                        ok.body = Bytes::from_static(SDP.as_bytes());
                        answers.push(ok);
                    } else {
                        answers.push(response_with_tag(&req, 200, "OK", &tag));
                    }
                    for resp in answers {
                        let _ = txs.handle(Input::SendResponse { resp }, Instant::now());
                    }
                }
                Output::Event(_) | Output::Timer(_) => {}
            }
        }
    }
}

/// Sleeps until `at`, or forever without a deadline.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
