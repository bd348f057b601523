//! The user agent core, sans-IO: SIP messages and owner commands in (with the time), messages
//! to send and per-leg events out. It owns the transaction table and every leg's dialog, and
//! does what a UA does besides transactions: repeat the 2xx until the ACK, ACK 2xx answers,
//! CANCEL or BYE on hangup, answer digest challenges, and run RFC 4028 session timers.
//!
//! ```text
//! core.on_message(msg, from, now);  core.answer(leg, sdp, now)?;  core.on_tick(now);
//! while let Some(out) = core.poll() { /* Send -> socket, Incoming/Event -> owner */ }
//! ```

mod leg;
mod types;
mod uac;
mod uas;

pub use types::{
    CallEvent, CoreConfig, DigestCredentials, IncomingInfo, LegId, Originate, Output, UaError,
};

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::Instant;

use voxbin_sip::dialog::{new_branch, response_to, Dialog};
use voxbin_sip::transaction::{Input, Output as TxOutput, Transactions, TxEvent, TxKey};
use voxbin_sip::{HeaderName, Message, Method, Request, Response, Target, Via};

use crate::cause::{HangupCause, Party};
use leg::Leg;
use types::uri_transport;

/// Methods we answer, for Allow.
const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, PRACK";

/// What a client transaction of ours is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Invite,
    Reinvite,
    Bye,
    Cancel,
    Other,
}

/// The user agent's protocol state.
#[derive(Debug)]
pub struct UaCore {
    cfg: CoreConfig,
    txs: Transactions,
    legs: HashMap<LegId, Leg>,
    by_call_id: HashMap<String, LegId>,
    client: HashMap<TxKey, (LegId, Purpose)>,
    timers: BinaryHeap<Reverse<(Instant, LegId)>>,
    out: VecDeque<Output>,
    next_leg: LegId,
    draining: bool,
}

impl UaCore {
    /// A core with no legs.
    pub fn new(cfg: CoreConfig) -> UaCore {
        UaCore {
            txs: Transactions::new(cfg.timers),
            cfg,
            legs: HashMap::new(),
            by_call_id: HashMap::new(),
            client: HashMap::new(),
            timers: BinaryHeap::new(),
            out: VecDeque::new(),
            next_leg: 1,
            draining: false,
        }
    }

    /// Number of live legs.
    pub fn legs(&self) -> usize {
        self.legs.len()
    }

    /// Refuse new calls (503 with Retry-After) while legs in flight go on.
    pub fn set_draining(&mut self, draining: bool) {
        self.draining = draining;
    }

    /// The next thing to do.
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The earliest time `on_tick` has work.
    pub fn next_timeout(&self) -> Option<Instant> {
        let own = self.timers.peek().map(|Reverse((at, _))| *at);
        match (own, self.txs.next_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A message arrived.
    pub fn on_message(&mut self, msg: Message, from: Target, now: Instant) {
        let _ = self.txs.handle(Input::Received { msg, from }, now);
        self.drain_tx(now);
    }

    /// Time passed.
    pub fn on_tick(&mut self, now: Instant) {
        let _ = self.txs.handle(Input::Tick, now);
        self.drain_tx(now);
        while let Some(Reverse((at, leg))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let due = self
                .legs
                .get(&leg)
                .and_then(Leg::next_deadline)
                .is_some_and(|d| d <= now);
            if due {
                self.on_leg_timer(leg, now);
            }
        }
    }

    /// Sending to `target` failed.
    pub fn on_transport_error(&mut self, target: Target, now: Instant) {
        let _ = self.txs.handle(Input::TransportError { target }, now);
        self.drain_tx(now);
    }

    /// Moves the transaction layer's outputs on.
    fn drain_tx(&mut self, now: Instant) {
        while let Some(out) = self.txs.poll() {
            match out {
                TxOutput::Send { target, msg } => self.out.push_back(Output::Send { target, msg }),
                TxOutput::Timer(_) => {}
                TxOutput::Event(ev) => self.on_tx_event(ev, now),
            }
        }
    }

    /// Sends a request through a new client transaction owned by `leg`.
    fn send_request(
        &mut self,
        leg: LegId,
        purpose: Purpose,
        req: Request,
        target: Target,
        now: Instant,
    ) {
        match Self::key_of(&req) {
            Some(key) => {
                self.client.insert(key, (leg, purpose));
            }
            None => return,
        }
        let _ = self.txs.handle(Input::SendRequest { req, target }, now);
        self.drain_tx(now);
    }

    /// The client key a request will get.
    fn key_of(req: &Request) -> Option<TxKey> {
        let via = req.headers.top_via().ok()?;
        Some(TxKey {
            side: voxbin_sip::transaction::Side::Client,
            branch: via.branch()?.into(),
            method: if req.method == Method::Ack {
                Method::Invite
            } else {
                req.method.clone()
            },
            sent_by: Default::default(),
        })
    }

    /// Answers a server transaction.
    fn respond(&mut self, resp: Response, now: Instant) {
        let _ = self.txs.handle(Input::SendResponse { resp }, now);
        self.drain_tx(now);
    }

    /// Sends without a transaction (ACK for 2xx, 2xx repeats).
    fn send_stateless(&mut self, msg: Message, target: Target) {
        self.out.push_back(Output::Send { target, msg });
    }

    /// Our Via toward `target`.
    fn via(&self, target: &Target) -> Via {
        let mut via = Via::new(
            target.transport.via_name(),
            self.cfg.host.clone(),
            Some(self.cfg.port),
            &new_branch(),
        );
        via.params.set("rport", None);
        via
    }

    /// Our Contact header value for a dialog over `target`'s transport.
    fn contact(&self, target: &Target) -> String {
        let host = &self.cfg.host;
        let port = self.cfg.port;
        match target.transport {
            voxbin_sip::Transport::Udp => format!("<sip:voxbin@{host}:{port}>"),
            t => format!(
                "<sip:voxbin@{host}:{port};transport={}>",
                t.via_name().to_ascii_lowercase()
            ),
        }
    }

    /// Where in-dialog requests go: the first route or the remote target when it is an IP
    /// address, else the peer we first talked to.
    fn dialog_target(dialog: &Dialog, peer: Target) -> Target {
        let uri = dialog
            .route_set
            .first()
            .map(|r| &r.uri)
            .unwrap_or(&dialog.remote_target);
        match uri.host.ip() {
            Some(ip) => Target::new(
                uri_transport(uri, peer.transport),
                std::net::SocketAddr::new(ip, uri.port.unwrap_or(5060)),
            ),
            None => peer,
        }
    }

    /// Adds headers every message of ours carries.
    fn stamp(&self, headers: &mut voxbin_sip::Headers, request: bool) {
        let name = if request {
            HeaderName::UserAgent
        } else {
            HeaderName::Server
        };
        headers.push(name, self.cfg.user_agent.clone());
    }

    /// Queues an event for the owner.
    fn emit(&mut self, leg: LegId, event: CallEvent) {
        self.out.push_back(Output::Event { leg, event });
    }

    /// Re-arms a leg's wake-up.
    fn arm(&mut self, leg: LegId) {
        if let Some(at) = self.legs.get(&leg).and_then(Leg::next_deadline) {
            self.timers.push(Reverse((at, leg)));
        }
    }

    /// Forgets a leg and tells the owner why it ended.
    fn finish(&mut self, leg: LegId, cause: HangupCause, by: Party, status: u16) {
        if let Some(l) = self.legs.remove(&leg) {
            if let Ok(call_id) = l.invite.headers.call_id() {
                self.by_call_id.remove(call_id);
            }
            self.emit(leg, CallEvent::Terminated { cause, by, status });
        }
    }

    /// Sends BYE on an answered leg and waits for its outcome.
    fn send_bye(&mut self, leg: LegId, cause: HangupCause, by: Party, now: Instant) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let Some(dialog) = l.dialog.as_mut() else {
            return;
        };
        let target = Self::dialog_target(dialog, l.peer);
        l.phase = leg::Phase::Ending;
        l.ending = Some((cause, by));
        l.ok_retransmit = None;
        l.session = None;
        l.offer = None;
        let via = {
            let mut via = Via::new(
                target.transport.via_name(),
                self.cfg.host.clone(),
                Some(self.cfg.port),
                &new_branch(),
            );
            via.params.set("rport", None);
            via
        };
        let mut bye = dialog.request(Method::Bye, via);
        if cause != HangupCause::Normal {
            bye.headers.push(
                HeaderName::Reason,
                format!(
                    "SIP;cause={};text=\"{}\"",
                    cause.to_status().0,
                    cause.as_str()
                ),
            );
        }
        self.stamp(&mut bye.headers, true);
        self.send_request(leg, Purpose::Bye, bye, target, now);
    }

    /// A transaction event.
    fn on_tx_event(&mut self, ev: TxEvent, now: Instant) {
        match ev {
            TxEvent::Request {
                key,
                req,
                from,
                cancels,
            } => self.on_request(key, req, from, cancels.map(|k| *k), now),
            TxEvent::Ack { req, from: _ } => self.on_ack(req, now),
            TxEvent::Response { key, resp } => {
                if let Some((leg, purpose)) = self.client.get(&key).copied() {
                    self.on_response(leg, purpose, resp, now);
                }
            }
            TxEvent::StrayResponse { resp, from } => self.on_stray_response(resp, from),
            TxEvent::Timeout { key } | TxEvent::TransportFailed { key } => {
                if let Some((leg, purpose)) = self.client.get(&key).copied() {
                    let mut resp = Response::new(408, "Request Timeout");
                    resp.headers = Default::default();
                    self.on_failure(leg, purpose, resp, now);
                }
            }
            TxEvent::NoTransaction { .. } | TxEvent::Invalid { .. } => {}
            TxEvent::Terminated { key } => {
                self.client.remove(&key);
            }
        }
    }

    /// A 2xx repeated after its INVITE transaction ended: ACK it again.
    fn on_stray_response(&mut self, resp: Response, _from: Target) {
        if !resp.is_success() {
            return;
        }
        let Ok(call_id) = resp.headers.call_id() else {
            return;
        };
        if let Some(leg) = self
            .by_call_id
            .get(call_id)
            .and_then(|id| self.legs.get(id))
        {
            if let Some((ack, target)) = leg.ack.clone() {
                self.send_stateless(Message::Request(ack), target);
            }
        }
    }

    /// A leg's own timer fired.
    fn on_leg_timer(&mut self, id: LegId, now: Instant) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        // the 2xx we repeat until the ACK
        let mut give_up = false;
        let mut resend = None;
        if let Some(ok) = leg.ok_retransmit.as_mut() {
            if ok.give_up <= now {
                give_up = ok.initial;
                leg.ok_retransmit = None;
            } else if ok.next <= now {
                if !leg.peer.transport.is_reliable() {
                    resend = Some(ok.resp.clone());
                }
                ok.interval = (ok.interval * 2).min(self.cfg.timers.t2);
                ok.next = now + ok.interval;
            }
        }
        let peer = leg.peer;
        // an offer the owner did not answer in time
        let offer_expired = leg
            .offer
            .as_ref()
            .filter(|o| o.deadline <= now)
            .map(|o| o.req.clone());
        if offer_expired.is_some() {
            leg.offer = None;
        }
        let session_due = leg.session.filter(|s| s.at <= now);
        if let Some(resp) = resend {
            self.send_stateless(Message::Response(resp), peer);
        }
        if let Some(req) = offer_expired {
            let mut resp = voxbin_sip::dialog::response_to(&req, 500, "Server Internal Error");
            resp.headers.push(HeaderName::RetryAfter, "2");
            self.respond(resp, now);
        }
        if give_up {
            // RFC 3261 13.3.1.4: no ACK for our 2xx, so the session ends
            self.send_bye(id, HangupCause::Timeout, Party::Local, now);
        } else if let Some(s) = session_due {
            if s.we_refresh {
                self.refresh_session(id, now);
            } else {
                self.emit(id, CallEvent::SessionExpired);
                self.send_bye(id, HangupCause::Timeout, Party::Local, now);
            }
        }
        self.arm(id);
    }

    /// A received request.
    fn on_request(
        &mut self,
        key: TxKey,
        req: Request,
        from: Target,
        cancels: Option<TxKey>,
        now: Instant,
    ) {
        let leg = req
            .headers
            .call_id()
            .ok()
            .and_then(|c| self.by_call_id.get(c).copied());
        let in_dialog = req
            .headers
            .to_hdr()
            .map(|t| t.tag().is_some())
            .unwrap_or(false);
        match (&req.method, leg) {
            (Method::Invite, None) if !in_dialog => self.on_new_invite(key, req, from, now),
            (Method::Invite, Some(_)) if !in_dialog => {
                // the same Call-ID again without a tag: a loop or a fork
                let resp = response_to(&req, 482, "Loop Detected");
                self.respond(resp, now);
            }
            (Method::Options, _) => {
                let (status, reason) = if self.draining {
                    (503, "Service Unavailable")
                } else {
                    (200, "OK")
                };
                let mut resp = voxbin_sip::dialog::response_with_tag(
                    &req,
                    status,
                    reason,
                    &voxbin_sip::dialog::new_tag(),
                );
                resp.headers.push(HeaderName::Allow, ALLOW);
                resp.headers.push(HeaderName::Accept, "application/sdp");
                self.stamp(&mut resp.headers, false);
                self.respond(resp, now);
            }
            (Method::Cancel, _) => self.on_cancel(req, cancels, now),
            (_, None) => {
                let resp = response_to(&req, 481, "Call/Transaction Does Not Exist");
                self.respond(resp, now);
            }
            (Method::Invite | Method::Update, Some(leg)) => self.on_remote_offer(leg, req, now),
            (Method::Bye, Some(leg)) => {
                let resp = response_to(&req, 200, "OK");
                self.respond(resp, now);
                let ending = self.legs.get(&leg).and_then(|l| l.ending);
                match ending {
                    // our BYE crossed theirs: it ended as we said
                    Some((cause, by)) => self.finish(leg, cause, by, 200),
                    None => self.finish(leg, HangupCause::Normal, Party::Remote, 200),
                }
            }
            (Method::Info, Some(leg)) => {
                let resp = response_to(&req, 200, "OK");
                self.respond(resp, now);
                let content_type = req
                    .headers
                    .get(&HeaderName::ContentType)
                    .unwrap_or("")
                    .to_string();
                self.emit(
                    leg,
                    CallEvent::Info {
                        content_type,
                        body: req.body.clone(),
                    },
                );
            }
            (Method::Prack, Some(_)) => {
                let resp = response_to(&req, 200, "OK");
                self.respond(resp, now);
            }
            (_, Some(_)) => {
                let mut resp = response_to(&req, 501, "Not Implemented");
                resp.headers.push(HeaderName::Allow, ALLOW);
                self.respond(resp, now);
            }
        }
    }

    /// The ACK for a 2xx of ours.
    fn on_ack(&mut self, req: Request, now: Instant) {
        let Some(id) = req
            .headers
            .call_id()
            .ok()
            .and_then(|c| self.by_call_id.get(c).copied())
        else {
            return;
        };
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(ok) = leg.ok_retransmit.take() else {
            return;
        };
        if !req.body.is_empty() {
            // the answer to the offer our 2xx made for an offerless INVITE
            leg.remote_sdp = req.body.clone();
        }
        if ok.initial {
            self.emit(id, CallEvent::Confirmed);
            if let Some(cause) = self.legs.get_mut(&id).and_then(|l| l.hangup_pending.take()) {
                self.send_bye(id, cause, Party::Local, now);
            }
        }
        let deferred = self
            .legs
            .get_mut(&id)
            .filter(|l| l.phase == leg::Phase::Answered)
            .and_then(|l| l.deferred_reinvite.take());
        if let Some(sdp) = deferred {
            self.send_reinvite(id, sdp, false, now);
        }
        self.arm(id);
    }

    /// A CANCEL: 200 to it, 487 to the INVITE when it is still unanswered.
    fn on_cancel(&mut self, req: Request, cancels: Option<TxKey>, now: Instant) {
        let Some(invite_key) = cancels else {
            let resp = response_to(&req, 481, "Call/Transaction Does Not Exist");
            self.respond(resp, now);
            return;
        };
        self.respond(response_to(&req, 200, "OK"), now);
        let found = self.legs.values().find(|l| {
            !l.outgoing
                && l.invite_key.as_ref() == Some(&invite_key)
                && l.phase == leg::Phase::Early
        });
        if let Some(leg) = found {
            let id = leg.id;
            let resp = voxbin_sip::dialog::response_with_tag(
                &leg.invite,
                487,
                "Request Terminated",
                &leg.local_tag,
            );
            self.respond(resp, now);
            self.finish(id, HangupCause::Cancel, Party::Remote, 487);
        }
    }

    /// Hangs a leg up: refuse or CANCEL before answer, BYE after.
    pub fn hangup(&mut self, id: LegId, cause: HangupCause, now: Instant) -> Result<(), UaError> {
        let leg = self.legs.get_mut(&id).ok_or(UaError::NoLeg)?;
        match (leg.phase, leg.outgoing) {
            (leg::Phase::Ending, _) => Ok(()),
            (leg::Phase::Early, false) => {
                let (status, reason) = cause.to_status();
                self.reject(id, status, reason, now)
            }
            (leg::Phase::Early, true) => {
                if leg.provisional_seen {
                    self.send_cancel(id, cause, now);
                } else {
                    // RFC 3261 9.1: no CANCEL before a provisional response
                    leg.hangup_pending = Some(cause);
                }
                Ok(())
            }
            (leg::Phase::Answered, _) => {
                let initial_unacked = leg.ok_retransmit.as_ref().is_some_and(|o| o.initial);
                if initial_unacked {
                    // RFC 3261 15: wait for the ACK before BYE
                    leg.hangup_pending = Some(cause);
                } else {
                    self.send_bye(id, cause, Party::Local, now);
                }
                Ok(())
            }
        }
    }

    /// Sends CANCEL for our pending INVITE.
    fn send_cancel(&mut self, id: LegId, cause: HangupCause, now: Instant) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        leg.phase = leg::Phase::Ending;
        leg.ending = Some((cause, Party::Local));
        leg.hangup_pending = None;
        let cancel = voxbin_sip::dialog::cancel_for(&leg.invite);
        let peer = leg.peer;
        self.send_request(id, Purpose::Cancel, cancel, peer, now);
    }

    /// Sends an in-dialog INFO.
    pub fn send_info(
        &mut self,
        id: LegId,
        content_type: &str,
        body: bytes::Bytes,
        now: Instant,
    ) -> Result<(), UaError> {
        let leg = self.legs.get_mut(&id).ok_or(UaError::NoLeg)?;
        if leg.phase != leg::Phase::Answered {
            return Err(UaError::State("INFO needs an answered call"));
        }
        let dialog = leg.dialog.as_mut().ok_or(UaError::State("no dialog"))?;
        let target = Self::dialog_target(dialog, leg.peer);
        let mut via = Via::new(
            target.transport.via_name(),
            self.cfg.host.clone(),
            Some(self.cfg.port),
            &new_branch(),
        );
        via.params.set("rport", None);
        let mut req = dialog.request(Method::Info, via);
        req.headers.push(HeaderName::ContentType, content_type);
        req.body = body;
        self.stamp(&mut req.headers, true);
        self.send_request(id, Purpose::Other, req, target, now);
        Ok(())
    }

    /// The final failure of one of our requests.
    fn on_failure(&mut self, leg: LegId, purpose: Purpose, resp: Response, now: Instant) {
        match purpose {
            Purpose::Invite => self.on_invite_failure(leg, resp, now),
            Purpose::Reinvite => self.on_reinvite_failure(leg, resp, now),
            Purpose::Bye => {
                let (cause, by) = self
                    .legs
                    .get(&leg)
                    .and_then(|l| l.ending)
                    .unwrap_or((HangupCause::Normal, Party::Local));
                self.finish(leg, cause, by, resp.status);
            }
            Purpose::Cancel | Purpose::Other => {}
        }
    }

    /// A response to one of our requests.
    fn on_response(&mut self, leg: LegId, purpose: Purpose, resp: Response, now: Instant) {
        if resp.status >= 300 {
            return self.on_failure(leg, purpose, resp, now);
        }
        match purpose {
            Purpose::Invite => self.on_invite_response(leg, resp, now),
            Purpose::Reinvite => self.on_reinvite_response(leg, resp, now),
            Purpose::Bye if resp.status >= 200 => {
                let (cause, by) = self
                    .legs
                    .get(&leg)
                    .and_then(|l| l.ending)
                    .unwrap_or((HangupCause::Normal, Party::Local));
                self.finish(leg, cause, by, resp.status);
            }
            _ => {}
        }
    }
}

/// The transport a URI names, UDP when it names none.
pub fn uri_transport_or_udp(uri: &voxbin_sip::Uri) -> voxbin_sip::Transport {
    uri_transport(uri, voxbin_sip::Transport::Udp)
}

#[cfg(test)]
mod tests;
