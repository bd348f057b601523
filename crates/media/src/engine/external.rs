//! External media over audiosocket (TLV frames over TCP: kind byte, 16-bit big-endian length,
//! payload; kind 0x01 = call UUID, 0x10 = 8 kHz s16le audio, 0x00 = hangup, 0xff = error).
//! A tokio task owns the TCP stream; the worker exchanges 20 ms frames with it over bounded
//! channels without ever blocking (a full channel drops the frame, as a lossy network would).

use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::time::SystemTime;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast;

use crate::g711::{Frame, FRAME_SAMPLES};

use super::error::EngineError;
use super::event::{EngineEvent, EventKind};
use super::ids::{LegId, OpId};
use super::ops::ExternalMediaSpec;

/// Frames queued each way (half a second).
const QUEUE: usize = 25;

const KIND_HANGUP: u8 = 0x00;
const KIND_UUID: u8 = 0x01;
const KIND_AUDIO: u8 = 0x10;
const KIND_ERROR: u8 = 0xff;

/// The worker's end of an external media session.
#[derive(Debug)]
pub(crate) struct ExternalLink {
    to_server: tokio::sync::mpsc::Sender<Frame>,
    from_server: Receiver<Frame>,
}

impl ExternalLink {
    /// Hands this tick's inbound frame to the server (dropped if the queue is full).
    pub fn send(&self, frame: &Frame) -> bool {
        !matches!(
            self.to_server.try_send(*frame),
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_))
        )
    }

    /// The server's next frame into `out`; false (and silence) when none is queued. Returns
    /// `None` once the server side is gone.
    pub fn receive(&self, out: &mut Frame) -> Option<bool> {
        match self.from_server.try_recv() {
            Ok(f) => {
                *out = f;
                Some(true)
            }
            Err(TryRecvError::Empty) => {
                out.fill(0);
                Some(false)
            }
            Err(TryRecvError::Disconnected) => None,
        }
    }
}

/// Connects to the audiosocket server, sends the leg's UUID and starts the task.
pub(crate) async fn connect(
    leg: LegId,
    op: OpId,
    spec: ExternalMediaSpec,
    events: broadcast::Sender<EngineEvent>,
) -> Result<ExternalLink, EngineError> {
    let mut tcp = TcpStream::connect(spec.address)
        .await
        .map_err(|e| EngineError::Media(format!("audiosocket {}: {e}", spec.address)))?;
    let _ = tcp.set_nodelay(true);
    let mut hello = [0u8; 19];
    hello[0] = KIND_UUID;
    hello[1..3].copy_from_slice(&16u16.to_be_bytes());
    hello[3..].copy_from_slice(leg.0.as_bytes());
    tcp.write_all(&hello)
        .await
        .map_err(|e| EngineError::Media(format!("audiosocket {}: {e}", spec.address)))?;
    let (to_server, mut outgoing) = tokio::sync::mpsc::channel::<Frame>(QUEUE);
    let (incoming, from_server): (SyncSender<Frame>, Receiver<Frame>) = mpsc::sync_channel(QUEUE);
    tokio::spawn(async move {
        let reason = run(tcp, &mut outgoing, incoming).await;
        let _ = events.send(EngineEvent {
            at: SystemTime::now(),
            leg: Some(leg),
            conference: None,
            op: Some(op),
            kind: EventKind::ExternalMediaFinished { reason },
        });
    });
    Ok(ExternalLink {
        to_server,
        from_server,
    })
}

/// Pumps frames both ways until either side ends; returns why it ended.
async fn run(
    tcp: TcpStream,
    outgoing: &mut tokio::sync::mpsc::Receiver<Frame>,
    incoming: SyncSender<Frame>,
) -> String {
    let (mut rd, mut wr) = tcp.into_split();
    let mut packet = [0u8; 3 + FRAME_SAMPLES * 2];
    packet[0] = KIND_AUDIO;
    packet[1..3].copy_from_slice(&((FRAME_SAMPLES * 2) as u16).to_be_bytes());
    let mut frame: Frame = [0; FRAME_SAMPLES];
    let mut filled = 0usize;
    let mut payload = vec![0u8; u16::MAX as usize];
    loop {
        tokio::select! {
            out = outgoing.recv() => match out {
                Some(f) => {
                    for (o, s) in packet[3..].chunks_exact_mut(2).zip(f.iter()) {
                        o.copy_from_slice(&s.to_le_bytes());
                    }
                    if let Err(e) = wr.write_all(&packet).await {
                        return format!("write: {e}");
                    }
                }
                None => {
                    let _ = wr.write_all(&[KIND_HANGUP, 0, 0]).await;
                    let _ = wr.shutdown().await;
                    return "stopped".into();
                }
            },
            head = rd.read_u8() => {
                let Ok(kind) = head else { return "peer closed".into() };
                let Ok(len) = rd.read_u16().await else { return "peer closed".into() };
                let len = usize::from(len);
                if rd.read_exact(&mut payload[..len]).await.is_err() {
                    return "peer closed".into();
                }
                match kind {
                    KIND_AUDIO => {
                        for pair in payload[..len].chunks_exact(2) {
                            frame[filled] = i16::from_le_bytes([pair[0], pair[1]]);
                            filled += 1;
                            if filled == FRAME_SAMPLES {
                                filled = 0;
                                if let Err(mpsc::TrySendError::Disconnected(_)) = incoming.try_send(frame) {
                                    return "stopped".into();
                                }
                            }
                        }
                    }
                    KIND_HANGUP => return "peer hung up".into(),
                    KIND_ERROR => return "peer reported an error".into(),
                    _ => {}
                }
            }
        }
    }
}
