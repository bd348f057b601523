//! The API role's audiosocket listener (`api.audiosocket_listen`, seed port 9000). A media
//! node asked to stream a call connects here and sends the call's UUID first; the connection
//! goes to the websocket request that is waiting for that call, and anything else is told
//! "error" and closed. Media nodes dial `api.audiosocket_advertise` (the pod IP on
//! Kubernetes), because the stream must reach the very process that holds the websocket.

use super::tlv::{self, Decoder, Tlv};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long a new connection may take to say which call it carries.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// A media node's connection for one call, its UUID frame already read.
#[derive(Debug)]
pub struct Connection {
    /// The TCP stream.
    pub tcp: TcpStream,
    /// Bytes read after the UUID frame.
    pub decoder: Decoder,
}

type Waiters = HashMap<Uuid, (u64, oneshot::Sender<Connection>)>;

/// The listener's handle: where media nodes dial and the calls waiting for them.
#[derive(Clone, Default)]
pub struct Streams {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    advertise: Option<String>,
    waiting: Mutex<Waiters>,
    next: AtomicU64,
}

/// A websocket request's claim on the next connection for its call; dropping it withdraws
/// the claim.
pub struct Pending {
    call: Uuid,
    ticket: u64,
    rx: Option<oneshot::Receiver<Connection>>,
    inner: Arc<Inner>,
}

impl Streams {
    /// No listener: media streams are refused with 503.
    pub fn disabled() -> Streams {
        Streams::default()
    }

    /// Binds `listen` and accepts until `stop`; media nodes are told to dial `advertise`
    /// (empty: `listen`, a wildcard IP read as loopback).
    pub async fn bind(
        listen: &str,
        advertise: &str,
        stop: CancellationToken,
    ) -> Result<Streams, String> {
        let addr: SocketAddr = listen.parse().map_err(|_| {
            format!("api.audiosocket_listen: {listen:?} is not a host:port socket address")
        })?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("api.audiosocket_listen {listen}: {e}"))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        let streams = Streams {
            inner: Arc::new(Inner {
                advertise: Some(advertised(bound, advertise)?),
                ..Inner::default()
            }),
        };
        let accepting = streams.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    got = listener.accept() => match got {
                        Ok((tcp, peer)) => {
                            let s = accepting.clone();
                            tokio::spawn(async move { s.greet(tcp, peer).await });
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "audiosocket accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    },
                }
            }
        });
        tracing::info!(listen = %bound, advertise = ?streams.advertise(), "audiosocket listening");
        Ok(streams)
    }

    /// The `host:port` media nodes dial; `None` when there is no listener.
    pub fn advertise(&self) -> Option<&str> {
        self.inner.advertise.as_deref()
    }

    /// Claims the next connection for `call` (a newer claim for the same call replaces it).
    pub fn expect(&self, call: Uuid) -> Pending {
        let ticket = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.inner.waiting.lock().insert(call, (ticket, tx));
        Pending {
            call,
            ticket,
            rx: Some(rx),
            inner: self.inner.clone(),
        }
    }

    /// Reads the UUID frame of a new connection and hands it to its claim.
    async fn greet(&self, mut tcp: TcpStream, peer: SocketAddr) {
        let _ = tcp.set_nodelay(true);
        let hello = tokio::time::timeout(HELLO_TIMEOUT, read_uuid(&mut tcp)).await;
        let (call, decoder) = match hello {
            Ok(Ok(found)) => found,
            Ok(Err(why)) => return refuse(tcp, peer, &why).await,
            Err(_) => return refuse(tcp, peer, "no UUID frame in time").await,
        };
        let waiter = self.inner.waiting.lock().remove(&call);
        match waiter {
            Some((_, tx)) => {
                if let Err(c) = tx.send(Connection { tcp, decoder }) {
                    refuse(c.tcp, peer, "the websocket went away").await;
                }
            }
            None => refuse(tcp, peer, &format!("no media stream waits for {call}")).await,
        }
    }
}

impl Pending {
    /// The media node's connection, or `None` when none came within `within`.
    pub async fn connection(mut self, within: Duration) -> Option<Connection> {
        let rx = self.rx.take()?;
        tokio::time::timeout(within, rx).await.ok()?.ok()
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut waiting = self.inner.waiting.lock();
        if waiting
            .get(&self.call)
            .is_some_and(|(t, _)| *t == self.ticket)
        {
            waiting.remove(&self.call);
        }
    }
}

/// The advertised address: `advertise` if given (host:port, a name allowed), else `listen`
/// with a wildcard IP as loopback.
fn advertised(listen: SocketAddr, advertise: &str) -> Result<String, String> {
    if advertise.is_empty() {
        let ip = match listen.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".parse().unwrap_or(ip),
            ip if ip.is_unspecified() => "::1".parse().unwrap_or(ip),
            ip => ip,
        };
        return Ok(SocketAddr::new(ip, listen.port()).to_string());
    }
    let ok = advertise.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty()
            && !host.contains(char::is_whitespace)
            && port.parse::<u16>().is_ok_and(|p| p > 0)
    });
    if ok {
        Ok(advertise.to_string())
    } else {
        Err(format!(
            "api.audiosocket_advertise: {advertise:?} is not host:port"
        ))
    }
}

/// Reads up to the first frame, which must be the call's UUID.
async fn read_uuid(tcp: &mut TcpStream) -> Result<(Uuid, Decoder), String> {
    let mut decoder = Decoder::new();
    let mut buf = [0u8; 512];
    loop {
        match decoder.next_frame().map_err(|e| e.0)? {
            Some(Tlv::Uuid(id)) => return Ok((id, decoder)),
            Some(other) => return Err(format!("the first frame is {other:?}, not a UUID")),
            None => {}
        }
        let n = tcp.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before its UUID frame".into());
        }
        decoder.push(&buf[..n]);
    }
}

/// Tells the peer "error" and closes.
async fn refuse(mut tcp: TcpStream, peer: SocketAddr, why: &str) {
    tracing::info!(%peer, reason = why, "audiosocket connection refused");
    let mut out = Vec::new();
    tlv::encode(tlv::KIND_ERROR, &[], &mut out);
    let _ = tcp.write_all(&out).await;
    let _ = tcp.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_advertised_address_defaults_to_the_listen_address_with_loopback_for_a_wildcard() {
        let wild: SocketAddr = "0.0.0.0:9000".parse().unwrap();
        assert_eq!(advertised(wild, "").unwrap(), "127.0.0.1:9000");
        let lo: SocketAddr = "127.0.0.2:9001".parse().unwrap();
        assert_eq!(advertised(lo, "").unwrap(), "127.0.0.2:9001");
        assert_eq!(advertised(wild, "10.4.0.7:9000").unwrap(), "10.4.0.7:9000");
        assert_eq!(
            advertised(wild, "api-0.voxbin:9000").unwrap(),
            "api-0.voxbin:9000"
        );
        for bad in ["10.4.0.7", ":9000", "10.4.0.7:0", "a b:9000"] {
            assert!(advertised(wild, bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_connection_reaches_the_claim_for_its_call_and_strangers_are_refused() {
        let stop = CancellationToken::new();
        let streams = Streams::bind("127.0.0.1:0", "", stop.clone())
            .await
            .unwrap();
        let addr = streams.advertise().unwrap().to_string();
        let call = Uuid::from_u128(42);
        let pending = streams.expect(call);

        let mut node = TcpStream::connect(&addr).await.unwrap();
        let mut hello = Vec::new();
        tlv::encode(tlv::KIND_UUID, call.as_bytes(), &mut hello);
        tlv::encode_audio(&[5, 0], &mut hello);
        node.write_all(&hello).await.unwrap();
        let mut conn = pending
            .connection(Duration::from_secs(5))
            .await
            .expect("the node's connection");
        let mut buf = [0u8; 16];
        while conn.decoder.next_frame().unwrap().is_none() {
            let n = conn.tcp.read(&mut buf).await.unwrap();
            conn.decoder.push(&buf[..n]);
        }

        // nobody waits for this call: the node is told "error"
        let mut stranger = TcpStream::connect(&addr).await.unwrap();
        let mut hello = Vec::new();
        tlv::encode(tlv::KIND_UUID, Uuid::from_u128(7).as_bytes(), &mut hello);
        stranger.write_all(&hello).await.unwrap();
        let mut answer = Vec::new();
        stranger.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, vec![tlv::KIND_ERROR, 0, 0]);
        stop.cancel();
    }
}
