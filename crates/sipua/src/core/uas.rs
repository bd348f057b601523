//! The answering side: new INVITEs, 180/183/200 or a refusal, the peer's re-INVITE and
//! UPDATE offers, and session timers as the UAS of the initial INVITE.

use std::time::Instant;

use bytes::Bytes;
use voxbin_sip::dialog::{new_tag, response_to, response_with_tag, Dialog};
use voxbin_sip::transaction::TxKey;
use voxbin_sip::{HeaderName, Method, Request, Response, Target};

use super::leg::{Leg, OkRetransmit, PendingOffer, Phase, Session};
use super::{UaCore, ALLOW};
use crate::cause::{HangupCause, Party};
use crate::core::types::{CallEvent, IncomingInfo, LegId, Output, UaError};
use crate::session_timer::{expire_after, refresh_after, Refresher, SessionExpires};

/// True when a comma-separated option-tag header lists `tag`.
pub(crate) fn lists_tag(req_headers: &voxbin_sip::Headers, name: HeaderName, tag: &str) -> bool {
    req_headers
        .get_all(&name)
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(tag))
}

impl UaCore {
    /// A dialog-creating INVITE: check it, make a leg, tell the owner.
    pub(super) fn on_new_invite(&mut self, key: TxKey, req: Request, from: Target, now: Instant) {
        let min_se = self.cfg.min_se;
        if self.draining {
            let mut resp = response_to(&req, 503, "Service Unavailable");
            resp.headers.push(HeaderName::RetryAfter, "5");
            self.respond(resp, now);
            return;
        }
        let tag = new_tag();
        let dialog = match Dialog::uas(&req, &tag) {
            Ok(d) => d,
            Err(e) => {
                let resp = response_to(&req, 400, e.reason());
                self.respond(resp, now);
                return;
            }
        };
        let se = req
            .headers
            .get(&HeaderName::SessionExpires)
            .map(SessionExpires::parse);
        if let Some(Some(se)) = se {
            if se.interval < min_se {
                let mut resp = response_to(&req, 422, "Session Interval Too Small");
                resp.headers.push(HeaderName::MinSe, min_se.to_string());
                self.respond(resp, now);
                return;
            }
        }
        let unsupported = req
            .headers
            .get_all(&HeaderName::Require)
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .find(|t| !t.is_empty() && !t.eq_ignore_ascii_case("timer"))
            .map(str::to_string);
        if let Some(tag) = unsupported {
            let mut resp = response_to(&req, 420, "Bad Extension");
            resp.headers.push(HeaderName::Unsupported, tag);
            self.respond(resp, now);
            return;
        }
        let id = self.next_leg;
        self.next_leg += 1;
        let call_id = dialog.id.call_id.clone();
        let info = IncomingInfo {
            uri: req.uri.clone(),
            from: req.headers.get(&HeaderName::From).unwrap_or("").to_string(),
            to: req.headers.get(&HeaderName::To).unwrap_or("").to_string(),
            pai: req
                .headers
                .get(&HeaderName::PAssertedIdentity)
                .map(str::to_string),
            call_id: call_id.clone(),
            offer: req.body.clone(),
            source: from,
            request: req.clone(),
        };
        let peer_timer = lists_tag(&req.headers, HeaderName::Supported, "timer");
        let leg = Leg {
            id,
            outgoing: false,
            phase: Phase::Early,
            remote_sdp: req.body.clone(),
            invite: req,
            invite_key: Some(key),
            peer: from,
            local_tag: tag,
            dialog: Some(dialog),
            local_sdp: Bytes::new(),
            ok_retransmit: None,
            provisional_seen: false,
            hangup_pending: None,
            ending: None,
            reinvite: None,
            deferred_reinvite: None,
            offer: None,
            session: None,
            peer_timer,
            credentials: None,
            auth_tries: 0,
            ack: None,
        };
        self.legs.insert(id, leg);
        self.by_call_id.insert(call_id, id);
        self.out.push_back(Output::Incoming {
            leg: id,
            info: Box::new(info),
        });
    }

    /// A response on an incoming leg's INVITE with our tag, Contact and optional SDP.
    fn invite_response(&self, leg: &Leg, status: u16, reason: &str, sdp: &Bytes) -> Response {
        let mut resp = response_with_tag(&leg.invite, status, reason, &leg.local_tag);
        resp.headers
            .push(HeaderName::Contact, self.contact(&leg.peer));
        if !sdp.is_empty() {
            resp.headers
                .push(HeaderName::ContentType, "application/sdp");
            resp.body = sdp.clone();
        }
        self.stamp(&mut resp.headers, false);
        resp
    }

    /// Sends 180 Ringing.
    pub fn ringing(&mut self, id: LegId, now: Instant) -> Result<(), UaError> {
        self.provisional(id, 180, "Ringing", Bytes::new(), now)
    }

    /// Sends 183 Session Progress with early media SDP.
    pub fn progress(&mut self, id: LegId, sdp: Bytes, now: Instant) -> Result<(), UaError> {
        self.provisional(id, 183, "Session Progress", sdp, now)
    }

    /// Sends a provisional response on an incoming leg.
    fn provisional(
        &mut self,
        id: LegId,
        status: u16,
        reason: &str,
        sdp: Bytes,
        now: Instant,
    ) -> Result<(), UaError> {
        let leg = self.legs.get(&id).ok_or(UaError::NoLeg)?;
        if leg.outgoing || leg.phase != Phase::Early {
            return Err(UaError::State("only an unanswered incoming call rings"));
        }
        let resp = self.invite_response(leg, status, reason, &sdp);
        if let Some(leg) = self.legs.get_mut(&id) {
            if !sdp.is_empty() {
                leg.local_sdp = sdp;
            }
        }
        self.respond(resp, now);
        Ok(())
    }

    /// Answers an incoming leg with 200 and our SDP; the 2xx repeats until the ACK.
    pub fn answer(&mut self, id: LegId, sdp: Bytes, now: Instant) -> Result<(), UaError> {
        let leg = self.legs.get(&id).ok_or(UaError::NoLeg)?;
        if leg.outgoing || leg.phase != Phase::Early {
            return Err(UaError::State(
                "only an unanswered incoming call can be answered",
            ));
        }
        if sdp.is_empty() && leg.local_sdp.is_empty() {
            return Err(UaError::State("an answer needs SDP"));
        }
        let sdp = if sdp.is_empty() {
            leg.local_sdp.clone()
        } else {
            sdp
        };
        let mut resp = self.invite_response(leg, 200, "OK", &sdp);
        resp.headers.push(HeaderName::Allow, ALLOW);
        resp.headers.push(HeaderName::Supported, "timer");
        let session = self.uas_session(leg, now);
        if let Some((se, require)) = session.1 {
            resp.headers
                .push(HeaderName::SessionExpires, se.to_header_value());
            if require {
                resp.headers.push(HeaderName::Require, "timer");
            }
        }
        let t1 = self.cfg.timers.t1;
        let give_up = now + self.cfg.timers.t64();
        if let Some(leg) = self.legs.get_mut(&id) {
            leg.phase = Phase::Answered;
            leg.local_sdp = sdp;
            leg.session = session.0;
            leg.ok_retransmit = Some(OkRetransmit {
                resp: resp.clone(),
                next: now + t1,
                interval: t1,
                give_up,
                initial: true,
            });
        }
        self.respond(resp, now);
        self.arm(id);
        Ok(())
    }

    /// The session timer the 2xx to the initial INVITE sets up: our state and the
    /// Session-Expires to write (with whether to Require timer).
    fn uas_session(
        &self,
        leg: &Leg,
        now: Instant,
    ) -> (Option<Session>, Option<(SessionExpires, bool)>) {
        let min_se = self.cfg.min_se;
        let ours = self.cfg.session_expires;
        let asked = leg
            .invite
            .headers
            .get(&HeaderName::SessionExpires)
            .and_then(SessionExpires::parse);
        let (interval, refresher) = match (asked, ours) {
            (Some(se), ours) => {
                let interval = ours.map_or(se.interval, |o| se.interval.min(o.max(min_se)));
                let refresher = se.refresher.unwrap_or(if leg.peer_timer {
                    Refresher::Uac
                } else {
                    Refresher::Uas
                });
                (interval, refresher)
            }
            (None, Some(ours)) if leg.peer_timer => (ours, Refresher::Uac),
            (None, Some(ours)) => (ours, Refresher::Uas),
            (None, None) => return (None, None),
        };
        // a peer without timer support cannot be the refresher
        let refresher = if leg.peer_timer {
            refresher
        } else {
            Refresher::Uas
        };
        let we_refresh = refresher == Refresher::Uas;
        let session = Session {
            interval,
            we_refresh,
            at: now + session_wait(interval, we_refresh),
        };
        let se = SessionExpires {
            interval,
            refresher: Some(refresher),
        };
        (Some(session), Some((se, leg.peer_timer)))
    }

    /// Refuses an unanswered incoming leg.
    pub fn reject(
        &mut self,
        id: LegId,
        status: u16,
        reason: &str,
        now: Instant,
    ) -> Result<(), UaError> {
        let leg = self.legs.get(&id).ok_or(UaError::NoLeg)?;
        if leg.outgoing || leg.phase != Phase::Early {
            return Err(UaError::State(
                "only an unanswered incoming call can be rejected",
            ));
        }
        if !(300..700).contains(&status) {
            return Err(UaError::Bad(format!(
                "{status} is not a final failure status"
            )));
        }
        let mut resp = response_with_tag(&leg.invite, status, reason, &leg.local_tag);
        if status == 503 {
            resp.headers.push(HeaderName::RetryAfter, "5");
        }
        self.stamp(&mut resp.headers, false);
        self.respond(resp, now);
        self.finish(id, HangupCause::from_status(status), Party::Local, status);
        Ok(())
    }

    /// The peer's re-INVITE or UPDATE.
    pub(super) fn on_remote_offer(&mut self, id: LegId, req: Request, now: Instant) {
        let min_se = self.cfg.min_se;
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if req.method == Method::Invite && (leg.reinvite.is_some() || leg.offer.is_some()) {
            // RFC 3261 14.2: an offer crossed ours
            let resp = response_to(&req, 491, "Request Pending");
            self.respond(resp, now);
            return;
        }
        if leg.phase != Phase::Answered || leg.offer.is_some() {
            let mut resp = response_to(&req, 500, "Server Internal Error");
            resp.headers.push(HeaderName::RetryAfter, "1");
            self.respond(resp, now);
            return;
        }
        // a refresh keeps the session alive whatever the SDP says
        if let Some(se) = req
            .headers
            .get(&HeaderName::SessionExpires)
            .and_then(SessionExpires::parse)
        {
            let we_refresh = se.refresher == Some(Refresher::Uas);
            leg.session = Some(Session {
                interval: se.interval.max(min_se),
                we_refresh,
                at: now + session_wait(se.interval.max(min_se), we_refresh),
            });
        } else if let Some(s) = leg.session.as_mut() {
            s.at = now + session_wait(s.interval, s.we_refresh);
        }
        let unchanged = !req.body.is_empty() && req.body == leg.remote_sdp;
        let offerless = req.body.is_empty();
        if unchanged || (offerless && req.method == Method::Update) {
            // a session refresh: answer with what we have
            let sdp = if offerless {
                Bytes::new()
            } else {
                leg.local_sdp.clone()
            };
            self.answer_offer_now(id, req, sdp, now);
            self.emit(id, CallEvent::SessionRefreshed);
            return;
        }
        let deadline = now + self.cfg.offer_timeout;
        leg.offer = Some(PendingOffer {
            req: req.clone(),
            deadline,
        });
        self.emit(id, CallEvent::RemoteOffer { offer: req.body });
        self.arm(id);
    }

    /// Answers the peer's pending offer (an offerless re-INVITE: `sdp` is our offer).
    pub fn answer_offer(&mut self, id: LegId, sdp: Bytes, now: Instant) -> Result<(), UaError> {
        let leg = self.legs.get_mut(&id).ok_or(UaError::NoLeg)?;
        let pending = leg
            .offer
            .take()
            .ok_or(UaError::State("no offer waits for an answer"))?;
        if sdp.is_empty() {
            return Err(UaError::State("an answer needs SDP"));
        }
        if !pending.req.body.is_empty() {
            leg.remote_sdp = pending.req.body.clone();
        }
        leg.local_sdp = sdp.clone();
        self.answer_offer_now(id, pending.req, sdp, now);
        Ok(())
    }

    /// Refuses the peer's pending offer (488 Not Acceptable Here, for example).
    pub fn reject_offer(
        &mut self,
        id: LegId,
        status: u16,
        reason: &str,
        now: Instant,
    ) -> Result<(), UaError> {
        let leg = self.legs.get_mut(&id).ok_or(UaError::NoLeg)?;
        let pending = leg
            .offer
            .take()
            .ok_or(UaError::State("no offer waits for an answer"))?;
        if !(300..700).contains(&status) {
            return Err(UaError::Bad(format!(
                "{status} is not a final failure status"
            )));
        }
        let resp = response_to(&pending.req, status, reason);
        self.respond(resp, now);
        Ok(())
    }

    /// Sends the 2xx to a re-INVITE or UPDATE (repeating a re-INVITE's until the ACK).
    fn answer_offer_now(&mut self, id: LegId, req: Request, sdp: Bytes, now: Instant) {
        let Some(leg) = self.legs.get(&id) else {
            return;
        };
        let mut resp = response_to(&req, 200, "OK");
        resp.headers
            .push(HeaderName::Contact, self.contact(&leg.peer));
        resp.headers.push(HeaderName::Allow, ALLOW);
        resp.headers.push(HeaderName::Supported, "timer");
        if let Some(s) = leg.session {
            let refresher = if s.we_refresh {
                Refresher::Uas
            } else {
                Refresher::Uac
            };
            let se = SessionExpires {
                interval: s.interval,
                refresher: Some(refresher),
            };
            resp.headers
                .push(HeaderName::SessionExpires, se.to_header_value());
        }
        if !sdp.is_empty() {
            resp.headers
                .push(HeaderName::ContentType, "application/sdp");
            resp.body = sdp;
        }
        self.stamp(&mut resp.headers, false);
        if req.method == Method::Invite {
            let t1 = self.cfg.timers.t1;
            let give_up = now + self.cfg.timers.t64();
            if let Some(leg) = self.legs.get_mut(&id) {
                leg.ok_retransmit = Some(OkRetransmit {
                    resp: resp.clone(),
                    next: now + t1,
                    interval: t1,
                    give_up,
                    initial: false,
                });
            }
        }
        self.respond(resp, now);
        self.arm(id);
    }

    /// Ends every leg (shutdown past its grace period).
    pub fn hangup_all(&mut self, cause: HangupCause, now: Instant) {
        let ids: Vec<LegId> = self.legs.keys().copied().collect();
        for id in ids {
            let _ = self.hangup(id, cause, now);
        }
    }

    /// Gives up on a leg without telling the peer (the peer vanished).
    pub fn forget(&mut self, id: LegId, cause: HangupCause) {
        self.finish(id, cause, Party::Local, 0);
    }
}

/// How long until the session timer acts: refresh at half the interval, or give up a
/// little before the interval ends.
pub(super) fn session_wait(interval: u32, we_refresh: bool) -> std::time::Duration {
    if we_refresh {
        refresh_after(interval)
    } else {
        expire_after(interval)
    }
}
