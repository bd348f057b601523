//! Client transactions (RFC 3261 17.1): INVITE (Calling, Proceeding, Completed, and the
//! RFC 6026 Accepted state) and non-INVITE (Trying, Proceeding, Completed).

use std::time::{Duration, Instant};

use crate::dialog::ack_for_non_2xx;
use crate::message::{Message, Request, Response};
use crate::target::Target;
use crate::transaction::config::TimerConfig;
use crate::transaction::ending::Ending;
use crate::transaction::key::TxKey;
use crate::transaction::timer::{after, Deadlines, TimerKind};
use crate::transaction::{Output, TxEvent};

/// Client transaction states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientState {
    /// INVITE sent, nothing heard (Trying for non-INVITE).
    Calling,
    /// A provisional response arrived.
    Proceeding,
    /// A final (non-2xx for INVITE) response arrived; absorbing repeats.
    Completed,
    /// INVITE got a 2xx; further 2xx go to the TU (RFC 6026).
    Accepted,
    /// Done.
    Terminated,
}

/// One client transaction.
#[derive(Debug)]
pub(crate) struct ClientTx {
    pub key: TxKey,
    pub target: Target,
    pub state: ClientState,
    pub deadlines: Deadlines,
    /// Kept for retransmissions and the ACK of a non-2xx; dropped once a final answer came.
    request: Option<Request>,
    interval: Duration,
    ack: Option<Request>,
}

impl ClientTx {
    /// Sends the request and arms timers A/B or E/F.
    pub fn start(
        key: TxKey,
        request: Request,
        target: Target,
        now: Instant,
        cfg: &TimerConfig,
        out: &mut Vec<Output>,
    ) -> ClientTx {
        out.push(Output::Send {
            target,
            msg: Message::Request(request.clone()),
        });
        let mut deadlines = Deadlines {
            timeout: Some(after(now, cfg.t64())),
            ..Deadlines::default()
        };
        if !target.transport.is_reliable() {
            deadlines.retransmit = Some(after(now, cfg.t1));
        }
        ClientTx {
            key,
            target,
            state: ClientState::Calling,
            deadlines,
            request: Some(request),
            interval: cfg.t1,
            ack: None,
        }
    }

    /// True for an INVITE transaction.
    fn is_invite(&self) -> bool {
        self.key.method == crate::Method::Invite
    }

    /// A response matched this transaction.
    pub fn on_response(
        &mut self,
        resp: Response,
        now: Instant,
        cfg: &TimerConfig,
        out: &mut Vec<Output>,
    ) {
        let reliable = self.target.transport.is_reliable();
        match (self.state, resp.status) {
            (ClientState::Calling | ClientState::Proceeding, 100..=199) => {
                self.state = ClientState::Proceeding;
                if self.is_invite() {
                    // the TU cancels if nobody answers; Timer B only covers Calling
                    self.deadlines.retransmit = None;
                    self.deadlines.timeout = None;
                } else if !reliable {
                    self.interval = cfg.t2;
                }
                self.to_tu(resp, out);
            }
            (ClientState::Calling | ClientState::Proceeding, 200..=299) if self.is_invite() => {
                self.state = ClientState::Accepted;
                // 32 s of absorbing 2xx repeats need no copy of the INVITE
                self.request = None;
                self.deadlines.clear();
                self.deadlines.timeout = Some(after(now, cfg.t64()));
                self.to_tu(resp, out);
            }
            (ClientState::Calling | ClientState::Proceeding, _) => {
                self.state = ClientState::Completed;
                self.deadlines.clear();
                let request = self.request.take();
                if let (true, Some(request)) = (self.is_invite(), request) {
                    let ack = ack_for_non_2xx(&request, &resp);
                    out.push(Output::Send {
                        target: self.target,
                        msg: Message::Request(ack.clone()),
                    });
                    self.ack = Some(ack);
                    if reliable {
                        self.state = ClientState::Terminated;
                    } else {
                        self.deadlines.linger = Some(after(now, cfg.timer_d));
                    }
                } else if reliable {
                    self.state = ClientState::Terminated;
                } else {
                    self.deadlines.linger = Some(after(now, cfg.t4));
                }
                self.to_tu(resp, out);
            }
            (ClientState::Accepted, 200..=299) => self.to_tu(resp, out),
            (ClientState::Completed, 300..) => {
                // repeated final response: our ACK got lost
                if let Some(ack) = &self.ack {
                    out.push(Output::Send {
                        target: self.target,
                        msg: Message::Request(ack.clone()),
                    });
                }
            }
            _ => {}
        }
    }

    /// Passes a response to the transaction user.
    fn to_tu(&self, resp: Response, out: &mut Vec<Output>) {
        out.push(Output::Event(TxEvent::Response {
            key: self.key.clone(),
            resp,
        }));
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
                if let Some(request) = &self.request {
                    out.push(Output::Send {
                        target: self.target,
                        msg: Message::Request(request.clone()),
                    });
                }
                self.interval = if self.is_invite() {
                    self.interval * 2
                } else if self.state == ClientState::Proceeding {
                    cfg.t2
                } else {
                    (self.interval * 2).min(cfg.t2)
                };
                self.deadlines.retransmit = Some(after(now, self.interval));
            }
            TimerKind::Timeout | TimerKind::Linger => {
                // Timer B/F: no final answer came.
                let waiting = matches!(self.state, ClientState::Calling | ClientState::Proceeding);
                self.timer_ended(kind, waiting, out);
            }
        }
    }
}

impl Ending for ClientTx {
    fn key(&self) -> &TxKey {
        &self.key
    }

    fn is_terminated(&self) -> bool {
        self.state == ClientState::Terminated
    }

    fn terminate(&mut self) {
        self.state = ClientState::Terminated;
        self.deadlines.clear();
    }
}
