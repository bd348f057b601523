//! One TCP or TLS connection: Content-Length framing on read, queued writes, CRLF keep-alive
//! answers, idle timeout; registered for reuse while open.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::parse::{frame_broken, parse_stream_with, Parsed};
use crate::target::Target;
use crate::transport::{deliver, deliver_error, Shared};

/// Registers the connection and starts its task; returns the writer handle.
pub(crate) fn spawn<S>(
    io: S,
    peer: Target,
    local: SocketAddr,
    shared: Arc<Shared>,
) -> mpsc::Sender<Vec<u8>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (handle, rx) = shared.registry.add(peer.transport, peer.addr);
    tokio::spawn(async move {
        run(io, peer, local, &shared, rx).await;
        shared.registry.remove(peer.transport, peer.addr, handle.id);
    });
    handle.tx
}

/// Reads and writes until the peer closes, an error, a framing error, idleness or shutdown.
async fn run<S>(
    mut io: S,
    peer: Target,
    local: SocketAddr,
    shared: &Shared,
    mut rx: mpsc::Receiver<Vec<u8>>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        let idle = tokio::time::sleep(shared.idle_timeout);
        tokio::select! {
            _ = shared.cancel.cancelled() => break,
            _ = idle => break,
            out = rx.recv() => {
                let Some(bytes) = out else { break };
                if io.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            read = io.read_buf(&mut buf) => {
                match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if !drain(&mut io, &mut buf, peer, local, shared).await {
                    break;
                }
            }
        }
    }
    let _ = io.shutdown().await;
}

/// Delivers every complete message in `buf`; false when the connection must close.
async fn drain<S>(
    io: &mut S,
    buf: &mut Vec<u8>,
    peer: Target,
    local: SocketAddr,
    shared: &Shared,
) -> bool
where
    S: AsyncWrite + Unpin,
{
    loop {
        match parse_stream_with(buf, &shared.limits) {
            Ok(Parsed::Message { msg, consumed }) => {
                buf.drain(..consumed);
                if !deliver(shared, msg, peer, local).await {
                    return false;
                }
            }
            Ok(Parsed::KeepAlive { consumed, ping }) => {
                buf.drain(..consumed);
                // RFC 5626 4.4.1: answer a CRLFCRLF ping with a CRLF pong
                if ping && io.write_all(b"\r\n").await.is_err() {
                    return false;
                }
            }
            Ok(Parsed::Incomplete) => return true,
            Err(error) => match frame_broken(buf, &shared.limits) {
                // The broken message's end is known: report it (for a 400) and go on after it.
                Some(frame) if buf.len() >= frame.total => {
                    let raw = buf[..frame.head].to_vec();
                    buf.drain(..frame.total);
                    if !deliver_error(shared, error, peer, Some(raw)).await {
                        return false;
                    }
                }
                // Its body is still on the way.
                Some(_) => return true,
                None => {
                    // framing is lost: report and drop the connection
                    let _ = deliver_error(shared, error, peer, None).await;
                    return false;
                }
            },
        }
    }
}
