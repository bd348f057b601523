//! The calling side: the initial INVITE (with digest answers to 401/407), its provisional
//! and final responses, CANCEL, our re-INVITEs and session refreshes.

use std::time::Instant;

use bytes::Bytes;
use voxbin_sip::dialog::{new_branch, new_call_id, new_tag, Dialog};
use voxbin_sip::digest::{respond as digest_respond, Challenge};
use voxbin_sip::{HeaderName, Message, Method, NameAddr, Request, Response};

use super::leg::{Leg, OwnReinvite, Phase, Session};
use super::uas::session_wait;
use super::{Purpose, UaCore, ALLOW};
use crate::cause::{HangupCause, Party};
use crate::core::types::{CallEvent, DigestCredentials, LegId, Originate, UaError};
use crate::session_timer::{Refresher, SessionExpires};

/// Most challenges answered per request (a wrong password is not retried forever).
const MAX_AUTH: u8 = 2;

impl UaCore {
    /// Starts an outgoing call; events follow on the returned leg.
    pub fn originate(&mut self, o: Originate, now: Instant) -> Result<LegId, UaError> {
        let min_se = self.cfg.min_se;
        let mut from = NameAddr::parse(&o.from).map_err(|e| UaError::Bad(format!("from: {e}")))?;
        let tag = new_tag();
        from.params.set("tag", Some(&tag));
        let to = match &o.to {
            Some(to) => NameAddr::parse(to).map_err(|e| UaError::Bad(format!("to: {e}")))?,
            None => NameAddr::new(o.uri.clone()),
        };
        let call_id = new_call_id(&self.cfg.host.to_string());
        let mut req = Request::new(Method::Invite, o.uri.clone());
        let h = &mut req.headers;
        h.push(HeaderName::Via, self.via(&o.target).to_string());
        h.push(HeaderName::MaxForwards, "70");
        h.push(HeaderName::From, from.to_string());
        h.push(HeaderName::To, to.to_string());
        h.push(HeaderName::CallId, call_id.clone());
        h.push(HeaderName::CSeq, "1 INVITE");
        h.push(HeaderName::Contact, self.contact(&o.target));
        h.push(HeaderName::Allow, ALLOW);
        h.push(HeaderName::Supported, "timer");
        if let Some(se) = self.cfg.session_expires {
            h.push(HeaderName::SessionExpires, format!("{se};refresher=uac"));
            h.push(HeaderName::MinSe, min_se.to_string());
        }
        if let Some(pai) = &o.pai {
            h.push(HeaderName::PAssertedIdentity, pai.clone());
        }
        for (name, value) in &o.headers {
            if value.contains(['\r', '\n']) {
                return Err(UaError::Bad(format!("header {name} holds a line break")));
            }
            h.push(HeaderName::parse(name), value.clone());
        }
        if !o.offer.is_empty() {
            h.push(HeaderName::ContentType, "application/sdp");
        }
        self.stamp(&mut req.headers, true);
        req.body = o.offer.clone();
        let id = self.next_leg;
        self.next_leg += 1;
        let leg = Leg {
            id,
            outgoing: true,
            phase: Phase::Early,
            invite: req.clone(),
            invite_key: Self::key_of(&req),
            peer: o.target,
            local_tag: tag,
            dialog: None,
            local_sdp: o.offer,
            remote_sdp: Bytes::new(),
            ok_retransmit: None,
            provisional_seen: false,
            hangup_pending: None,
            ending: None,
            reinvite: None,
            deferred_reinvite: None,
            offer: None,
            session: None,
            peer_timer: false,
            credentials: o.credentials,
            auth_tries: 0,
            ack: None,
        };
        self.legs.insert(id, leg);
        self.by_call_id.insert(call_id, id);
        self.send_request(id, Purpose::Invite, req, o.target, now);
        Ok(id)
    }

    /// A 1xx or 2xx to our initial INVITE.
    pub(super) fn on_invite_response(&mut self, id: LegId, resp: Response, now: Instant) {
        let min_se = self.cfg.min_se;
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if resp.is_provisional() {
            if resp.status == 100 {
                return;
            }
            leg.provisional_seen = true;
            if let Some(cause) = leg.hangup_pending.take() {
                self.send_cancel(id, cause, now);
                return;
            }
            if leg.phase == Phase::Early {
                if !resp.body.is_empty() {
                    leg.remote_sdp = resp.body.clone();
                }
                self.emit(
                    id,
                    CallEvent::Provisional {
                        status: resp.status,
                        sdp: resp.body,
                    },
                );
            }
            return;
        }
        if leg.dialog.is_some() {
            // a repeated 2xx: ACK again
            if let Some((ack, target)) = leg.ack.clone() {
                self.send_stateless(Message::Request(ack), target);
            }
            return;
        }
        let dialog = match Dialog::uac(&leg.invite, &resp) {
            Ok(d) => d,
            Err(_) => {
                // a 2xx we cannot build a dialog from: ACK nothing, end the leg
                self.finish(id, HangupCause::Failed, Party::Remote, resp.status);
                return;
            }
        };
        let seq = leg.invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
        let target = Self::dialog_target(&dialog, leg.peer);
        let mut ack = dialog.ack(seq, {
            let mut via = voxbin_sip::Via::new(
                target.transport.via_name(),
                self.cfg.host.clone(),
                Some(self.cfg.port),
                &new_branch(),
            );
            via.params.set("rport", None);
            via
        });
        ack.headers
            .push(HeaderName::UserAgent, self.cfg.user_agent.clone());
        let leg = match self.legs.get_mut(&id) {
            Some(l) => l,
            None => return,
        };
        leg.peer_timer = super::uas::lists_tag(&resp.headers, HeaderName::Supported, "timer")
            || super::uas::lists_tag(&resp.headers, HeaderName::Require, "timer");
        leg.dialog = Some(dialog);
        leg.ack = Some((ack.clone(), target));
        leg.remote_sdp = resp.body.clone();
        let se = resp
            .headers
            .get(&HeaderName::SessionExpires)
            .and_then(SessionExpires::parse);
        leg.session = se.map(|se| {
            let interval = se.interval.max(min_se);
            let we_refresh = se.refresher != Some(Refresher::Uas);
            Session {
                interval,
                we_refresh,
                at: now + session_wait(interval, we_refresh),
            }
        });
        let pending = leg.ending.map(|(c, _)| c).or(leg.hangup_pending.take());
        leg.phase = Phase::Answered;
        self.send_stateless(Message::Request(ack), target);
        match pending {
            // answered while we were cancelling: ACK, then BYE
            Some(cause) => self.send_bye(id, cause, Party::Local, now),
            None => {
                self.emit(id, CallEvent::Answered { sdp: resp.body });
                self.arm(id);
            }
        }
    }

    /// A final failure to our initial INVITE: answer a challenge, or end the leg.
    pub(super) fn on_invite_failure(&mut self, id: LegId, resp: Response, now: Instant) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if leg.phase == Phase::Early && matches!(resp.status, 401 | 407) {
            if let Some(req) = authorize(leg, &resp) {
                leg.invite = req.clone();
                leg.invite_key = Self::key_of(&req);
                let target = leg.peer;
                self.send_request(id, Purpose::Invite, req, target, now);
                return;
            }
        }
        if leg.phase == Phase::Answered {
            // a late failure after a 2xx (forking): the dialog stands
            return;
        }
        let (cause, by) = leg
            .ending
            .unwrap_or((HangupCause::from_status(resp.status), Party::Remote));
        self.finish(id, cause, by, resp.status);
    }

    /// Sends a re-INVITE with a new offer (hold, unhold, codec change).
    pub fn reinvite(&mut self, id: LegId, sdp: Bytes, now: Instant) -> Result<(), UaError> {
        let leg = self.legs.get(&id).ok_or(UaError::NoLeg)?;
        if leg.phase != Phase::Answered {
            return Err(UaError::State("re-INVITE needs an answered call"));
        }
        if leg.reinvite.is_some() || leg.offer.is_some() {
            return Err(UaError::State("an offer is in progress"));
        }
        if sdp.is_empty() {
            return Err(UaError::State("a re-INVITE needs SDP"));
        }
        if leg.ok_retransmit.is_some() {
            // no new INVITE before the ACK of our 2xx: it goes out when the ACK comes
            if let Some(leg) = self.legs.get_mut(&id) {
                leg.deferred_reinvite = Some(sdp);
            }
            return Ok(());
        }
        self.send_reinvite(id, sdp, false, now);
        Ok(())
    }

    /// Builds and sends a re-INVITE.
    pub(super) fn send_reinvite(&mut self, id: LegId, sdp: Bytes, refresh: bool, now: Instant) {
        let host = self.cfg.host.clone();
        let port = self.cfg.port;
        let agent = self.cfg.user_agent.clone();
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(dialog) = leg.dialog.as_mut() else {
            return;
        };
        let target = Self::dialog_target(dialog, leg.peer);
        let mut via =
            voxbin_sip::Via::new(target.transport.via_name(), host, Some(port), &new_branch());
        via.params.set("rport", None);
        let mut req = dialog.request(Method::Invite, via);
        let contact = self.contact(&target);
        let leg = match self.legs.get_mut(&id) {
            Some(l) => l,
            None => return,
        };
        let h = &mut req.headers;
        h.push(HeaderName::Contact, contact);
        h.push(HeaderName::Allow, ALLOW);
        h.push(HeaderName::Supported, "timer");
        if let Some(s) = leg.session {
            h.push(
                HeaderName::SessionExpires,
                format!("{};refresher=uac", s.interval),
            );
        }
        h.push(HeaderName::ContentType, "application/sdp");
        h.push(HeaderName::UserAgent, agent);
        req.body = sdp.clone();
        if !refresh {
            leg.local_sdp = sdp;
        }
        leg.reinvite = Some(OwnReinvite {
            req: req.clone(),
            refresh,
            auth_tries: 0,
        });
        self.send_request(id, Purpose::Reinvite, req, target, now);
    }

    /// Our session timer says refresh: a re-INVITE with the SDP we have.
    pub(super) fn refresh_session(&mut self, id: LegId, now: Instant) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let busy = leg.reinvite.is_some() || leg.offer.is_some() || leg.ok_retransmit.is_some();
        if let Some(s) = leg.session.as_mut() {
            // a transaction in flight: look again in a second
            s.at = now + std::time::Duration::from_secs(if busy { 1 } else { 32 });
        }
        if busy {
            return;
        }
        let sdp = leg.local_sdp.clone();
        self.send_reinvite(id, sdp, true, now);
    }

    /// A 2xx (or 1xx) to our re-INVITE.
    pub(super) fn on_reinvite_response(&mut self, id: LegId, resp: Response, now: Instant) {
        let min_se = self.cfg.min_se;
        if resp.is_provisional() {
            return;
        }
        let agent = self.cfg.user_agent.clone();
        let host = self.cfg.host.clone();
        let port = self.cfg.port;
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(own) = leg.reinvite.take() else {
            return;
        };
        let Some(dialog) = leg.dialog.as_ref() else {
            return;
        };
        let seq = own.req.headers.cseq().map(|c| c.seq).unwrap_or(1);
        let target = Self::dialog_target(dialog, leg.peer);
        let mut via =
            voxbin_sip::Via::new(target.transport.via_name(), host, Some(port), &new_branch());
        via.params.set("rport", None);
        let mut ack = dialog.ack(seq, via);
        ack.headers.push(HeaderName::UserAgent, agent);
        if !resp.body.is_empty() {
            leg.remote_sdp = resp.body.clone();
        }
        let se = resp
            .headers
            .get(&HeaderName::SessionExpires)
            .and_then(SessionExpires::parse);
        if let Some(s) = leg.session.as_mut() {
            if let Some(se) = se {
                s.interval = se.interval.max(min_se);
                s.we_refresh = se.refresher != Some(Refresher::Uas);
            }
            s.at = now + session_wait(s.interval, s.we_refresh);
        }
        self.send_stateless(Message::Request(ack), target);
        let event = if own.refresh {
            CallEvent::SessionRefreshed
        } else {
            CallEvent::ReinviteAnswered { sdp: resp.body }
        };
        self.emit(id, event);
        self.arm(id);
    }

    /// A failure to our re-INVITE: answer a challenge, end the call when the dialog is gone
    /// (RFC 5057: 481, 408), otherwise the session goes on.
    pub(super) fn on_reinvite_failure(&mut self, id: LegId, resp: Response, now: Instant) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(mut own) = leg.reinvite.take() else {
            return;
        };
        if matches!(resp.status, 401 | 407) && own.auth_tries < MAX_AUTH {
            if let Some(creds) = leg.credentials.clone() {
                if let Some(req) = with_credentials(&own.req, &resp, &creds) {
                    own.auth_tries += 1;
                    own.req = req.clone();
                    if let Some(d) = leg.dialog.as_mut() {
                        d.local_seq = req.headers.cseq().map(|c| c.seq).unwrap_or(d.local_seq);
                    }
                    let target = leg
                        .dialog
                        .as_ref()
                        .map(|d| Self::dialog_target(d, leg.peer))
                        .unwrap_or(leg.peer);
                    leg.reinvite = Some(own);
                    self.send_request(id, Purpose::Reinvite, req, target, now);
                    return;
                }
            }
        }
        if matches!(resp.status, 408 | 481) {
            self.send_bye(id, HangupCause::Failed, Party::Remote, now);
            return;
        }
        if !own.refresh {
            self.emit(
                id,
                CallEvent::ReinviteFailed {
                    status: resp.status,
                },
            );
        }
        self.arm(id);
    }
}

/// The INVITE sent again with credentials for the challenge in `resp`, when we have some
/// and have not answered too often.
fn authorize(leg: &mut Leg, resp: &Response) -> Option<Request> {
    if leg.auth_tries >= MAX_AUTH {
        return None;
    }
    let creds = leg.credentials.clone()?;
    let req = with_credentials(&leg.invite, resp, &creds)?;
    leg.auth_tries += 1;
    Some(req)
}

/// `req` with a fresh branch, the next CSeq and an (Proxy-)Authorization for `resp`.
fn with_credentials(req: &Request, resp: &Response, creds: &DigestCredentials) -> Option<Request> {
    let (challenge_name, answer_name) = if resp.status == 407 {
        (
            HeaderName::ProxyAuthenticate,
            HeaderName::ProxyAuthorization,
        )
    } else {
        (HeaderName::WwwAuthenticate, HeaderName::Authorization)
    };
    let challenge = Challenge::parse(resp.headers.get(&challenge_name)?).ok()?;
    let mut next = req.clone();
    let mut via = next.headers.top_via().ok()?;
    via.params.set("branch", Some(&new_branch()));
    next.headers.set(HeaderName::Via, via.to_string());
    let cseq = next.headers.cseq().ok()?;
    next.headers.set(
        HeaderName::CSeq,
        format!("{} {}", cseq.seq.wrapping_add(1), cseq.method),
    );
    let cnonce = new_tag();
    let answer = digest_respond(
        &challenge,
        next.method.as_str(),
        &next.uri.to_string(),
        &creds.username,
        &creds.password,
        &cnonce,
        1,
    );
    next.headers.set(answer_name, answer.to_header_value());
    Some(next)
}
