//! A user agent that answers every call at once and lets the caller hang up: the load target
//! of `bench/sipua.sh`-style runs (`sipp -sn uac` against it measures call setup capacity).
//!
//! ```text
//! cargo run --release -p voxbin-sipua --example auto_answer -- 127.0.0.1:17900
//! sipp 127.0.0.1:17900 -sn uac -r 300 -m 6000 -i 127.0.0.1 -p 17901 -nostdin
//! ```

use std::net::SocketAddr;

use bytes::Bytes;
use voxbin_sipua::{CallEvent, UaConfig, UaEvent, UserAgent};

const SDP: &str = "v=0\r\no=voxbin 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 45000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

#[tokio::main]
async fn main() {
    let listen: SocketAddr = match std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:17900".into())
        .parse()
    {
        Ok(a) => a,
        Err(e) => {
            eprintln!("usage: auto_answer <ip:port>: {e}");
            std::process::exit(2);
        }
    };
    let (ua, mut calls) = match UserAgent::start(UaConfig {
        listen,
        ..UaConfig::default()
    })
    .await
    {
        Ok(x) => x,
        Err(e) => {
            eprintln!("auto_answer: cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("answering every call on {}", ua.local_addr());
    let mut ended = 0u64;
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    loop {
        tokio::select! {
            Some(UaEvent::Incoming(mut call)) = calls.recv() => {
                let done = done_tx.clone();
                tokio::spawn(async move {
                    let _ = call.call.answer(Bytes::from_static(SDP.as_bytes())).await;
                    while let Some(ev) = call.events.recv().await {
                        if matches!(ev, CallEvent::Terminated { .. }) {
                            let _ = done.send(());
                        }
                    }
                });
            }
            Some(()) = done_rx.recv() => {
                ended += 1;
                if ended.is_multiple_of(1000) {
                    eprintln!("{ended} calls ended");
                }
            }
            else => break,
        }
    }
}
