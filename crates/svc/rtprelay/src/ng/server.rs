//! The ng listener: one UDP socket on a tokio task; replies are kept by cookie for a while
//! so a retransmitted command (the client timed out) gets the same answer, not a second run.

use crate::control::Control;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a reply answers retransmissions of its command.
const REPLY_TTL: Duration = Duration::from_secs(30);
/// Replies kept at most (a flood of cookies cannot grow memory without bound).
const MAX_REPLIES: usize = 10_000;

/// The running ng listener.
pub struct NgServer {
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl NgServer {
    /// Binds `listen` and serves ng commands until stopped.
    pub async fn start(listen: &str, control: Arc<Control>) -> std::io::Result<NgServer> {
        let socket = UdpSocket::bind(listen).await?;
        let addr = socket.local_addr()?;
        let stop = CancellationToken::new();
        let task = tokio::spawn(serve(socket, control, stop.clone()));
        Ok(NgServer { addr, stop, task })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits for the task.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn serve(socket: UdpSocket, control: Arc<Control>, stop: CancellationToken) {
    let mut buf = vec![0u8; 65536];
    let mut replies: HashMap<Vec<u8>, (Instant, Vec<u8>)> = HashMap::new();
    loop {
        let (n, from) = tokio::select! {
            _ = stop.cancelled() => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(error = %e, "ng receive failed");
                    continue;
                }
            },
        };
        let datagram = &buf[..n];
        let cookie = datagram
            .split(|&b| b == b' ')
            .next()
            .unwrap_or_default()
            .to_vec();
        let now = Instant::now();
        let reply = match replies.get(&cookie) {
            Some((at, r)) if now.duration_since(*at) < REPLY_TTL => Some(r.clone()),
            _ => {
                let r = super::handle_datagram(&control, datagram);
                if let Some(r) = &r {
                    if replies.len() >= MAX_REPLIES {
                        replies.retain(|_, (at, _)| now.duration_since(*at) < REPLY_TTL);
                        if replies.len() >= MAX_REPLIES {
                            replies.clear();
                        }
                    }
                    replies.insert(cookie, (now, r.clone()));
                }
                r
            }
        };
        if let Some(r) = reply {
            if let Err(e) = socket.send_to(&r, from).await {
                tracing::debug!(error = %e, %from, "ng reply failed");
            }
        }
    }
}
