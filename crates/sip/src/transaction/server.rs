//! Server transactions (RFC 3261 17.2): INVITE (Proceeding, Completed, Confirmed, and the
//! RFC 6026 Accepted state) and non-INVITE (Trying, Proceeding, Completed).

use std::time::{Duration, Instant};

use crate::dialog::response_to;
use crate::message::{Message, Request, Response};
use crate::target::Target;
use crate::transaction::config::TimerConfig;
use crate::transaction::ending::Ending;
use crate::transaction::key::TxKey;
use crate::transaction::timer::{after, Deadlines, TimerKind};
use crate::transaction::Output;

/// Server transaction states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerState {
    /// Non-INVITE request received, nothing sent yet.
    Trying,
    /// A provisional response was sent.
    Proceeding,
    /// A final (non-2xx for INVITE) response was sent.
    Completed,
    /// INVITE: the ACK for our non-2xx arrived.
    Confirmed,
    /// INVITE: a 2xx was sent (RFC 6026).
    Accepted,
    /// Done.
    Terminated,
}

/// One server transaction.
#[derive(Debug)]
pub(crate) struct ServerTx {
    pub key: TxKey,
    pub from: Target,
    pub state: ServerState,
    pub deadlines: Deadlines,
    last: Option<Response>,
    interval: Duration,
}

impl ServerTx {
    /// A new transaction for `req`; an INVITE gets an immediate 100 Trying if configured.
    pub fn start(
        key: TxKey,
        req: &Request,
        from: Target,
        cfg: &TimerConfig,
        out: &mut Vec<Output>,
    ) -> ServerTx {
        let invite = key.method == crate::Method::Invite;
        let mut tx = ServerTx {
            key,
            from,
            state: if invite {
                ServerState::Proceeding
            } else {
                ServerState::Trying
            },
            deadlines: Deadlines::default(),
            last: None,
            interval: cfg.t1,
        };
        if invite && cfg.auto_trying {
            let trying = response_to(req, 100, "Trying");
            tx.send(trying, out);
        }
        tx
    }

    /// True for an INVITE transaction.
    fn is_invite(&self) -> bool {
        self.key.method == crate::Method::Invite
    }

    /// Sends a response to the request's source and remembers it for repeats.
    fn send(&mut self, resp: Response, out: &mut Vec<Output>) {
        out.push(Output::Send {
            target: self.from,
            msg: Message::Response(resp.clone()),
        });
        self.last = Some(resp);
    }

    /// Sends a response that is never repeated from here (a 2xx to INVITE: the TU repeats
    /// it), so no copy is kept.
    fn send_once(&mut self, resp: Response, out: &mut Vec<Output>) {
        self.last = None;
        out.push(Output::Send {
            target: self.from,
            msg: Message::Response(resp),
        });
    }

    /// The request arrived again (a retransmission).
    pub fn on_retransmission(&mut self, out: &mut Vec<Output>) {
        if matches!(self.state, ServerState::Proceeding | ServerState::Completed) {
            if let Some(last) = &self.last {
                out.push(Output::Send {
                    target: self.from,
                    msg: Message::Response(last.clone()),
                });
            }
        }
    }

    /// An ACK matched this INVITE transaction; returns it back when it is for a 2xx
    /// (Accepted state) so the TU can route it.
    pub fn on_ack(&mut self, ack: Request, now: Instant, cfg: &TimerConfig) -> Option<Request> {
        match self.state {
            ServerState::Completed => {
                self.state = ServerState::Confirmed;
                self.deadlines.clear();
                if self.from.transport.is_reliable() {
                    self.state = ServerState::Terminated;
                } else {
                    self.deadlines.linger = Some(after(now, cfg.t4));
                }
                None
            }
            ServerState::Accepted => Some(ack),
            _ => None,
        }
    }

    /// The TU answers.
    pub fn on_send_response(
        &mut self,
        resp: Response,
        now: Instant,
        cfg: &TimerConfig,
        out: &mut Vec<Output>,
    ) {
        let reliable = self.from.transport.is_reliable();
        let status = resp.status;
        match self.state {
            ServerState::Trying | ServerState::Proceeding => {
                if self.is_invite() && (200..300).contains(&status) {
                    self.send_once(resp, out);
                } else {
                    self.send(resp, out);
                }
                if status < 200 {
                    self.state = ServerState::Proceeding;
                } else if self.is_invite() && status < 300 {
                    self.state = ServerState::Accepted;
                    self.deadlines.timeout = Some(after(now, cfg.t64()));
                } else if self.is_invite() {
                    self.state = ServerState::Completed;
                    if !reliable {
                        self.interval = cfg.t1;
                        self.deadlines.retransmit = Some(after(now, cfg.t1));
                    }
                    self.deadlines.timeout = Some(after(now, cfg.t64()));
                } else if reliable {
                    self.state = ServerState::Terminated;
                } else {
                    self.state = ServerState::Completed;
                    self.deadlines.linger = Some(after(now, cfg.t64()));
                }
            }
            // the TU's own 2xx retransmissions (or forwarded ones) pass through
            ServerState::Accepted if (200..300).contains(&status) => {
                out.push(Output::Send {
                    target: self.from,
                    msg: Message::Response(resp),
                });
            }
            _ => {}
        }
    }

    /// A timer in `kind`'s slot fired.
    pub fn on_timer(
        &mut self,
        kind: TimerKind,
        now: Instant,
        cfg: &TimerConfig,
        out: &mut Vec<Output>,
    ) {
        match kind {
            TimerKind::Retransmit => {
                if self.state == ServerState::Completed {
                    if let Some(last) = &self.last {
                        out.push(Output::Send {
                            target: self.from,
                            msg: Message::Response(last.clone()),
                        });
                    }
                    self.interval = (self.interval * 2).min(cfg.t2);
                    self.deadlines.retransmit = Some(after(now, self.interval));
                }
            }
            TimerKind::Timeout | TimerKind::Linger => {
                // Timer H: the ACK never came.
                let waiting = self.state == ServerState::Completed;
                self.timer_ended(kind, waiting, out);
            }
        }
    }
}

impl Ending for ServerTx {
    fn key(&self) -> &TxKey {
        &self.key
    }

    fn is_terminated(&self) -> bool {
        self.state == ServerState::Terminated
    }

    fn terminate(&mut self) {
        self.state = ServerState::Terminated;
        self.deadlines.clear();
    }
}
