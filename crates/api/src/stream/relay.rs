//! The shell of one media stream: the websocket on one side, the media node's audiosocket
//! connection on the other, the [`Codec`] between them. It ends when either side does:
//! the call ended or its media stopped (the node hangs up: close 1000), the client closed
//! (the node is told hangup, so the leg's external media stops), bad client data (1007),
//! a client that does not read (1008) or shutdown (1001).

use super::codec::{Codec, FromClient};
use super::listener::Connection;
use super::tlv::{self, Tlv};
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long one write to the client may stall before it is cut off.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the closing handshake may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Why a stream ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The node hung up: the call ended or its media was stopped.
    MediaEnded,
    /// The node reported an error or the connection broke.
    MediaFailed(String),
    /// The client closed or vanished.
    Client,
    /// The client sent something that is not its encapsulation.
    BadData(String),
    /// A write to the client stalled.
    SlowConsumer,
    /// The process is shutting down.
    Shutdown,
}

/// Relays until one side ends, then closes both.
pub async fn run(
    mut socket: WebSocket,
    conn: Connection,
    mut codec: Codec,
    call: Uuid,
    draining: CancellationToken,
) {
    let Connection { tcp, mut decoder } = conn;
    let (mut rd, mut wr) = tcp.into_split();
    let mut buf = vec![0u8; 8192];
    let end = 'relay: loop {
        // frames already buffered (the first may have come with the UUID)
        loop {
            match decoder.next_frame() {
                Ok(Some(Tlv::Audio(pcm))) => {
                    for msg in codec.to_client(&pcm) {
                        match timeout(WRITE_TIMEOUT, socket.send(Message::Binary(msg.into()))).await
                        {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => break 'relay End::Client,
                            Err(_) => break 'relay End::SlowConsumer,
                        }
                    }
                }
                Ok(Some(Tlv::Hangup)) => break 'relay End::MediaEnded,
                Ok(Some(Tlv::Error(_))) => {
                    break 'relay End::MediaFailed("the media node reported an error".into())
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => break 'relay End::MediaFailed(e.0),
            }
        }
        tokio::select! {
            _ = draining.cancelled() => break End::Shutdown,
            read = rd.read(&mut buf) => match read {
                Ok(0) => break End::MediaEnded,
                Ok(n) => decoder.push(&buf[..n]),
                Err(e) => break End::MediaFailed(e.to_string()),
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Binary(bytes))) => match codec.from_client(&bytes) {
                    Ok(FromClient::Audio(pcm)) if pcm.is_empty() => {}
                    Ok(FromClient::Audio(pcm)) => {
                        let mut out = Vec::with_capacity(pcm.len() + tlv::HEADER);
                        tlv::encode_audio(&pcm, &mut out);
                        if let Err(e) = wr.write_all(&out).await {
                            break End::MediaFailed(e.to_string());
                        }
                    }
                    Ok(FromClient::Hangup) => break End::Client,
                    Err(why) => break End::BadData(why),
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break End::Client,
                // pings are answered by the socket itself; text carries nothing here
                Some(Ok(_)) => {}
            },
        }
    };
    tracing::info!(%call, end = ?end, "media stream ended");
    // the node ends the leg's external media when told hangup (or on the close)
    let mut bye = Vec::new();
    tlv::encode(tlv::KIND_HANGUP, &[], &mut bye);
    let _ = timeout(CLOSE_TIMEOUT, wr.write_all(&bye)).await;
    let _ = wr.shutdown().await;
    let close = match end {
        End::MediaEnded => Some((close_code::NORMAL, "media stream ended".to_string())),
        End::MediaFailed(why) => Some((close_code::ERROR, format!("media failed: {why}"))),
        End::BadData(why) => Some((close_code::INVALID, why)),
        End::SlowConsumer => Some((close_code::POLICY, "slow consumer".to_string())),
        End::Shutdown => Some((close_code::AWAY, "server shutting down".to_string())),
        End::Client => None,
    };
    if let Some((code, reason)) = close {
        // a close reason is at most 123 bytes
        let reason: String = reason.chars().take(100).collect();
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from(reason),
        };
        let _ = timeout(CLOSE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
    }
}
