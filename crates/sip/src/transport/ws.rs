//! SIP over WebSocket (RFC 7118): the handshake must negotiate the `sip` subprotocol; each
//! WebSocket message carries exactly one SIP message.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::parse::parse_datagram_with;
use crate::target::Target;
use crate::transport::{deliver, deliver_error, Shared};

/// True when the client offered the `sip` subprotocol.
fn offers_sip(req: &Request) -> bool {
    req.headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("sip"))
}

/// Accepts the handshake only with the `sip` subprotocol, and names it in the answer.
// the signature is the handshake library's callback type
#[allow(clippy::result_large_err)]
fn negotiate(req: &Request, mut resp: Response) -> Result<Response, ErrorResponse> {
    if !offers_sip(req) {
        let mut err = ErrorResponse::new(Some("the sip subprotocol is required".to_string()));
        *err.status_mut() = StatusCode::BAD_REQUEST;
        return Err(err);
    }
    resp.headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("sip"));
    Ok(resp)
}

/// Runs the handshake and then the connection until it closes.
pub(crate) async fn accept<S>(io: S, peer: Target, local: SocketAddr, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // a SIP message per WebSocket message: the same bound as any other transport
    let limits = WebSocketConfig::default()
        .max_message_size(Some(shared.limits.max_message))
        .max_frame_size(Some(shared.limits.max_message));
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(io, negotiate, Some(limits));
    let mut socket = match tokio::time::timeout(std::time::Duration::from_secs(10), handshake).await
    {
        Ok(Ok(s)) => s,
        _ => {
            tracing::debug!(peer = %peer, "WebSocket handshake failed");
            return;
        }
    };
    let (handle, mut rx) = shared.registry.add(peer.transport, peer.addr);
    loop {
        let idle = tokio::time::sleep(shared.idle_timeout);
        tokio::select! {
            _ = shared.cancel.cancelled() => break,
            _ = idle => break,
            out = rx.recv() => {
                let Some(bytes) = out else { break };
                let frame = match String::from_utf8(bytes) {
                    Ok(text) => WsMessage::text(text),
                    Err(e) => WsMessage::binary(e.into_bytes()),
                };
                if socket.send(frame).await.is_err() {
                    break;
                }
            }
            frame = socket.next() => {
                let data = match frame {
                    Some(Ok(WsMessage::Text(t))) => t.as_bytes().to_vec(),
                    Some(Ok(WsMessage::Binary(b))) => b.to_vec(),
                    Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                    // pings are answered by the library on the next write or flush
                    Some(Ok(_)) => {
                        let _ = socket.flush().await;
                        continue;
                    }
                };
                if data.iter().all(|b| matches!(b, b'\r' | b'\n')) {
                    continue;
                }
                let alive = match parse_datagram_with(&data, &shared.limits) {
                    Ok(msg) => deliver(&shared, msg, peer, local).await,
                    Err(error) => deliver_error(&shared, error, peer, Some(data)).await,
                };
                if !alive {
                    break;
                }
            }
        }
    }
    shared.registry.remove(peer.transport, peer.addr, handle.id);
    let _ = socket.close(None).await;
}
