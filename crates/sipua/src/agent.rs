//! The tokio shell around `UaCore`: binds the SIP transports, runs one task that feeds the
//! core with messages, commands and timer wake-ups, sends what it asks, and routes each
//! leg's events to that leg's channel.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use voxbin_sip::transaction::TimerConfig;
use voxbin_sip::{Incoming, SipTransport, Target, Transport, TransportConfig, Uri};

use crate::cause::HangupCause;
use crate::core::{CallEvent, CoreConfig, IncomingInfo, LegId, Originate, Output, UaCore, UaError};

/// Where and how the user agent listens.
#[derive(Debug, Clone)]
pub struct UaConfig {
    /// UDP listen address (port 0 picks one).
    pub listen: SocketAddr,
    /// Also listen on TCP on the same address and port.
    pub tcp: bool,
    /// Address written in Via and Contact (the listen address when `None`; a wildcard
    /// listen address advertises loopback).
    pub advertise: Option<IpAddr>,
    /// User-Agent/Server header.
    pub user_agent: String,
    /// RFC 4028 session interval in seconds (`None`: no session timers).
    pub session_expires: Option<u32>,
    /// Smallest session interval accepted (RFC 4028 Min-SE).
    pub min_se: u32,
    /// Transaction timers.
    pub timers: TimerConfig,
    /// How long the owner has to answer the peer's re-INVITE offer.
    pub offer_timeout: Duration,
}

impl Default for UaConfig {
    fn default() -> Self {
        UaConfig {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5080),
            tcp: false,
            advertise: None,
            user_agent: "voxbin".into(),
            session_expires: Some(1800),
            min_se: crate::session_timer::MIN_SE,
            timers: TimerConfig::default(),
            offer_timeout: Duration::from_secs(8),
        }
    }
}

/// Something for the owner of the user agent as a whole.
#[derive(Debug)]
pub enum UaEvent {
    /// A new INVITE: answer, ring, progress or reject it through its handle.
    Incoming(IncomingCall),
}

/// A new incoming call.
#[derive(Debug)]
pub struct IncomingCall {
    /// What the INVITE said.
    pub info: IncomingInfo,
    /// Commands for the leg.
    pub call: CallHandle,
    /// The leg's events (ends after `CallEvent::Terminated`).
    pub events: mpsc::UnboundedReceiver<CallEvent>,
}

/// A command for one leg.
#[derive(Debug)]
enum LegCommand {
    Ringing,
    Progress(Bytes),
    Answer(Bytes),
    Reject(u16, String),
    Hangup(HangupCause),
    Reinvite(Bytes),
    AnswerOffer(Bytes),
    RejectOffer(u16, String),
    Info(String, Bytes),
}

/// A command for the driver task.
#[derive(Debug)]
enum Command {
    Leg(LegId, LegCommand, oneshot::Sender<Result<(), UaError>>),
    Originate(Box<Originate>, oneshot::Sender<Result<Originated, UaError>>),
    Draining(bool),
    Legs(oneshot::Sender<usize>),
}

/// An originated leg's handle and events.
type Originated = (CallHandle, mpsc::UnboundedReceiver<CallEvent>);

/// Commands for one call leg; cheap to clone.
#[derive(Debug, Clone)]
pub struct CallHandle {
    leg: LegId,
    cmd: mpsc::UnboundedSender<Command>,
}

impl CallHandle {
    /// The leg's id inside its user agent.
    pub fn id(&self) -> LegId {
        self.leg
    }

    /// Runs a leg command in the driver and waits for its result.
    async fn run(&self, c: LegCommand) -> Result<(), UaError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Command::Leg(self.leg, c, tx))
            .map_err(|_| UaError::NoLeg)?;
        rx.await.map_err(|_| UaError::NoLeg)?
    }

    /// 180 Ringing.
    pub async fn ringing(&self) -> Result<(), UaError> {
        self.run(LegCommand::Ringing).await
    }

    /// 183 Session Progress with early media SDP.
    pub async fn progress(&self, sdp: Bytes) -> Result<(), UaError> {
        self.run(LegCommand::Progress(sdp)).await
    }

    /// 200 OK with our SDP (empty: the SDP of an earlier 183).
    pub async fn answer(&self, sdp: Bytes) -> Result<(), UaError> {
        self.run(LegCommand::Answer(sdp)).await
    }

    /// Refuses an unanswered incoming call.
    pub async fn reject(&self, status: u16, reason: &str) -> Result<(), UaError> {
        self.run(LegCommand::Reject(status, reason.to_string()))
            .await
    }

    /// Ends the leg: a refusal or CANCEL before answer, BYE after.
    pub async fn hangup(&self, cause: HangupCause) -> Result<(), UaError> {
        self.run(LegCommand::Hangup(cause)).await
    }

    /// Sends a re-INVITE with a new offer; `ReinviteAnswered`/`ReinviteFailed` follows.
    pub async fn reinvite(&self, sdp: Bytes) -> Result<(), UaError> {
        self.run(LegCommand::Reinvite(sdp)).await
    }

    /// Answers the peer's pending offer (`CallEvent::RemoteOffer`).
    pub async fn answer_offer(&self, sdp: Bytes) -> Result<(), UaError> {
        self.run(LegCommand::AnswerOffer(sdp)).await
    }

    /// Refuses the peer's pending offer.
    pub async fn reject_offer(&self, status: u16, reason: &str) -> Result<(), UaError> {
        self.run(LegCommand::RejectOffer(status, reason.to_string()))
            .await
    }

    /// Sends an INFO in the dialog.
    pub async fn send_info(&self, content_type: &str, body: Bytes) -> Result<(), UaError> {
        self.run(LegCommand::Info(content_type.to_string(), body))
            .await
    }
}

/// A running user agent; dropping every clone stops it.
#[derive(Debug, Clone)]
pub struct UserAgent {
    cmd: mpsc::UnboundedSender<Command>,
    transport: SipTransport,
    local: SocketAddr,
    advertise: SocketAddr,
}

impl UserAgent {
    /// Binds the transports and starts the driver task.
    pub async fn start(cfg: UaConfig) -> io::Result<(UserAgent, mpsc::Receiver<UaEvent>)> {
        let mut listen = cfg.listen;
        if cfg.tcp && listen.port() == 0 {
            // TCP must share UDP's port: find a free UDP port first
            listen.set_port(std::net::UdpSocket::bind(listen)?.local_addr()?.port());
        }
        let tcfg = TransportConfig {
            udp: vec![listen],
            tcp: if cfg.tcp { vec![listen] } else { Vec::new() },
            ..TransportConfig::default()
        };
        let (transport, incoming) = SipTransport::bind(tcfg).await?;
        let local = transport
            .local_addr(Transport::Udp)
            .ok_or_else(|| io::Error::other("no UDP socket bound"))?;
        let ip = match cfg.advertise {
            Some(ip) => ip,
            None if local.ip().is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            None => local.ip(),
        };
        let advertise = SocketAddr::new(ip, local.port());
        let core = UaCore::new(CoreConfig {
            host: ip.into(),
            port: local.port(),
            user_agent: cfg.user_agent.clone(),
            session_expires: cfg.session_expires,
            min_se: cfg.min_se,
            timers: cfg.timers,
            offer_timeout: cfg.offer_timeout,
        });
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::channel(1024);
        let driver = Driver {
            core,
            transport: transport.clone(),
            legs: HashMap::new(),
            events: ev_tx,
            cmd: cmd_tx.downgrade(),
        };
        tokio::spawn(driver.run(incoming, cmd_rx));
        Ok((
            UserAgent {
                cmd: cmd_tx,
                transport,
                local,
                advertise,
            },
            ev_rx,
        ))
    }

    /// The bound UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The address written in Via and Contact.
    pub fn advertised(&self) -> SocketAddr {
        self.advertise
    }

    /// Starts an outgoing call.
    pub async fn originate(
        &self,
        o: Originate,
    ) -> Result<(CallHandle, mpsc::UnboundedReceiver<CallEvent>), UaError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Command::Originate(Box::new(o), tx))
            .map_err(|_| UaError::State("user agent stopped"))?;
        rx.await.map_err(|_| UaError::State("user agent stopped"))?
    }

    /// Refuse new INVITEs (503) and answer OPTIONS with 503, or accept them again.
    pub fn set_draining(&self, draining: bool) {
        let _ = self.cmd.send(Command::Draining(draining));
    }

    /// Number of live legs.
    pub async fn legs(&self) -> usize {
        let (tx, rx) = oneshot::channel();
        if self.cmd.send(Command::Legs(tx)).is_err() {
            return 0;
        }
        rx.await.unwrap_or(0)
    }

    /// Closes the sockets (legs still up are left to the peer's timers).
    pub fn shutdown(&self) {
        self.transport.shutdown();
    }
}

/// Where to send an INVITE for `uri`: `via` when given, else the URI's host and port
/// (resolved by DNS when it is a name).
pub async fn resolve_target(uri: &Uri, via: Option<SocketAddr>) -> io::Result<Target> {
    let transport = crate::core::uri_transport_or_udp(uri);
    if let Some(addr) = via {
        return Ok(Target::new(transport, addr));
    }
    let port = uri.port.unwrap_or(5060);
    if let Some(ip) = uri.host.ip() {
        return Ok(Target::new(transport, SocketAddr::new(ip, port)));
    }
    let host = uri.host.to_string();
    let addr = tokio::net::lookup_host((host.as_str(), port))
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address")))?;
    Ok(Target::new(transport, addr))
}

/// The task that owns the core.
struct Driver {
    core: UaCore,
    transport: SipTransport,
    legs: HashMap<LegId, mpsc::UnboundedSender<CallEvent>>,
    events: mpsc::Sender<UaEvent>,
    /// Handed to new legs' handles without keeping the driver alive.
    cmd: mpsc::WeakUnboundedSender<Command>,
}

impl Driver {
    /// Runs until every `UserAgent` and `CallHandle` is dropped or the transports close.
    async fn run(
        mut self,
        mut incoming: mpsc::Receiver<Incoming>,
        mut cmds: mpsc::UnboundedReceiver<Command>,
    ) {
        loop {
            let wake = self.core.next_timeout().map(Instant::from_std);
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = incoming.recv() => match msg {
                    Some(Incoming::Message { msg, from, .. }) => {
                        self.core.on_message(msg, from, std::time::Instant::now())
                    }
                    Some(Incoming::Malformed { .. }) => {}
                    None => break,
                },
                cmd = cmds.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd),
                    None => break,
                },
                _ = sleep => self.core.on_tick(std::time::Instant::now()),
            }
            self.flush().await;
        }
    }

    /// Runs one command.
    fn on_command(&mut self, cmd: Command) {
        let now = std::time::Instant::now();
        match cmd {
            Command::Leg(leg, c, reply) => {
                let core = &mut self.core;
                let result = match c {
                    LegCommand::Ringing => core.ringing(leg, now),
                    LegCommand::Progress(sdp) => core.progress(leg, sdp, now),
                    LegCommand::Answer(sdp) => core.answer(leg, sdp, now),
                    LegCommand::Reject(status, reason) => core.reject(leg, status, &reason, now),
                    LegCommand::Hangup(cause) => core.hangup(leg, cause, now),
                    LegCommand::Reinvite(sdp) => core.reinvite(leg, sdp, now),
                    LegCommand::AnswerOffer(sdp) => core.answer_offer(leg, sdp, now),
                    LegCommand::RejectOffer(status, reason) => {
                        core.reject_offer(leg, status, &reason, now)
                    }
                    LegCommand::Info(ct, body) => core.send_info(leg, &ct, body, now),
                };
                let _ = reply.send(result);
            }
            Command::Originate(o, reply) => {
                let result = self.core.originate(*o, now).and_then(|leg| {
                    let handle = self.handle(leg)?;
                    let (tx, rx) = mpsc::unbounded_channel();
                    self.legs.insert(leg, tx);
                    Ok((handle, rx))
                });
                let _ = reply.send(result);
            }
            Command::Draining(d) => self.core.set_draining(d),
            Command::Legs(reply) => {
                let _ = reply.send(self.core.legs());
            }
        }
    }

    /// A handle for `leg`.
    fn handle(&self, leg: LegId) -> Result<CallHandle, UaError> {
        let cmd = self
            .cmd
            .upgrade()
            .ok_or(UaError::State("user agent stopped"))?;
        Ok(CallHandle { leg, cmd })
    }

    /// Carries out what the core asked.
    async fn flush(&mut self) {
        while let Some(out) = self.core.poll() {
            match out {
                Output::Send { target, msg } => {
                    if let Err(e) = self.transport.send(target, &msg).await {
                        tracing::debug!(%e, ?target, "SIP send failed");
                        self.core
                            .on_transport_error(target, std::time::Instant::now());
                    }
                }
                Output::Incoming { leg, info } => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    let call = match self.handle(leg) {
                        Ok(c) => c,
                        Err(_) => continue,
                    };
                    let incoming = IncomingCall {
                        info: *info,
                        call,
                        events: rx,
                    };
                    if self.events.try_send(UaEvent::Incoming(incoming)).is_err() {
                        // nobody takes calls (or too many wait): refuse
                        let _ = self.core.reject(
                            leg,
                            503,
                            "Service Unavailable",
                            std::time::Instant::now(),
                        );
                    } else {
                        self.legs.insert(leg, tx);
                    }
                }
                Output::Event { leg, event } => {
                    let last = matches!(event, CallEvent::Terminated { .. });
                    if let Some(tx) = self.legs.get(&leg) {
                        let _ = tx.send(event);
                    }
                    if last {
                        self.legs.remove(&leg);
                    }
                }
            }
        }
    }
}
