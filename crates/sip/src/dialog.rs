//! Dialog helpers (RFC 3261 12, 8.2.6, 9.1, 17.1.1.3): identifiers, branches and tags,
//! responses built from a request, the ACK for a non-2xx, CANCEL, and in-dialog requests
//! with the route set learnt from Record-Route.

use rand::distr::{Alphanumeric, SampleString};

use crate::error::ParseError;
use crate::header_name::HeaderName;
use crate::headers::{Contacts, Headers};
use crate::message::{Request, Response};
use crate::method::Method;
use crate::name_addr::NameAddr;
use crate::uri::{Scheme, Uri};
use crate::via::{Via, BRANCH_COOKIE};

/// A fresh RFC 3261 branch (`z9hG4bK` + random).
pub fn new_branch() -> String {
    let mut b = String::with_capacity(BRANCH_COOKIE.len() + 16);
    b.push_str(BRANCH_COOKIE);
    b.push_str(&Alphanumeric.sample_string(&mut rand::rng(), 16));
    b
}

/// A fresh From/To tag.
pub fn new_tag() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 12)
}

/// A fresh Call-ID (`random@host`).
pub fn new_call_id(host: &str) -> String {
    format!(
        "{}@{host}",
        Alphanumeric.sample_string(&mut rand::rng(), 20)
    )
}

/// Copies the lines a response must echo (all Via, From, To, Call-ID, CSeq), raw, so a
/// response can be built even when some of them would not parse.
fn echo_headers(req: &Request) -> Headers {
    let mut h = Headers::with_capacity(8);
    for line in &req.headers {
        if matches!(
            line.name,
            HeaderName::Via
                | HeaderName::From
                | HeaderName::To
                | HeaderName::CallId
                | HeaderName::CSeq
        ) {
            h.0.push(line.clone());
        }
    }
    h
}

/// A response to `req` (RFC 3261 8.2.6): Via, From, To, Call-ID and CSeq copied; no To tag
/// is added (use `response_with_tag` for anything that may create a dialog or is final).
pub fn response_to(req: &Request, status: u16, reason: &str) -> Response {
    let mut resp = Response::new(status, reason);
    resp.headers = echo_headers(req);
    if status == 100 {
        if let Some(ts) = req.headers.get(&HeaderName::Timestamp) {
            resp.headers.push(HeaderName::Timestamp, ts);
        }
    }
    resp
}

/// A response carrying `to_tag` on To (unless To already has a tag) and, for 101-299
/// answers to INVITE or SUBSCRIBE, the request's Record-Route lines (RFC 3261 12.1.1).
pub fn response_with_tag(req: &Request, status: u16, reason: &str, to_tag: &str) -> Response {
    let mut resp = response_to(req, status, reason);
    for line in resp.headers.0.iter_mut() {
        if line.name == HeaderName::To {
            let has_tag = NameAddr::parse(&line.value)
                .map(|a| a.tag().is_some())
                .unwrap_or(true);
            if !has_tag {
                line.value = format!("{};tag={to_tag}", line.value).into();
            }
        }
    }
    if (101..300).contains(&status) && matches!(req.method, Method::Invite | Method::Subscribe) {
        for rr in req.headers.get_all(&HeaderName::RecordRoute) {
            resp.headers.push(HeaderName::RecordRoute, rr);
        }
    }
    resp
}

/// The ACK a client INVITE transaction sends for a 300-699 (RFC 3261 17.1.1.3).
pub fn ack_for_non_2xx(invite: &Request, resp: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    let h = &mut ack.headers;
    if let Some(via) = invite.headers.get(&HeaderName::Via) {
        h.push(HeaderName::Via, via);
    }
    for name in [HeaderName::From, HeaderName::CallId] {
        if let Some(v) = invite.headers.get(&name) {
            h.push(name, v);
        }
    }
    if let Some(to) = resp.headers.get(&HeaderName::To) {
        h.push(HeaderName::To, to);
    }
    let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(0);
    h.push(HeaderName::CSeq, format!("{seq} ACK"));
    h.push(HeaderName::MaxForwards, "70");
    for r in invite.headers.get_all(&HeaderName::Route) {
        h.push(HeaderName::Route, r);
    }
    ack
}

/// A CANCEL for a pending INVITE (RFC 3261 9.1): same Request-URI, top Via, From, To,
/// Call-ID, CSeq number and Route set.
pub fn cancel_for(invite: &Request) -> Request {
    let mut cancel = Request::new(Method::Cancel, invite.uri.clone());
    let h = &mut cancel.headers;
    if let Some(via) = invite.headers.get(&HeaderName::Via) {
        h.push(HeaderName::Via, via);
    }
    for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
        if let Some(v) = invite.headers.get(&name) {
            h.push(name, v);
        }
    }
    let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(0);
    h.push(HeaderName::CSeq, format!("{seq} CANCEL"));
    h.push(HeaderName::MaxForwards, "70");
    for r in invite.headers.get_all(&HeaderName::Route) {
        h.push(HeaderName::Route, r);
    }
    cancel
}

/// Call-ID plus local and remote tags.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

impl DialogId {
    /// The id as seen by the UAS of `req` (local = To tag, remote = From tag).
    pub fn uas(req: &Request) -> Option<DialogId> {
        Some(DialogId {
            call_id: req.headers.call_id().ok()?.to_string(),
            local_tag: req.headers.to_hdr().ok()?.tag()?.to_string(),
            remote_tag: req.headers.from_hdr().ok()?.tag()?.to_string(),
        })
    }

    /// The id as seen by the UAC of a request whose headers are `h` (local = From tag,
    /// remote = To tag); works on responses and on in-dialog requests we sent.
    pub fn uac(h: &Headers) -> Option<DialogId> {
        Some(DialogId {
            call_id: h.call_id().ok()?.to_string(),
            local_tag: h.from_hdr().ok()?.tag()?.to_string(),
            remote_tag: h.to_hdr().ok()?.tag()?.to_string(),
        })
    }
}

/// Dialog state needed to send in-dialog requests (RFC 3261 12.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// Identifier.
    pub id: DialogId,
    /// Our address (with our tag), used as From.
    pub local: NameAddr,
    /// The peer's address (with its tag), used as To.
    pub remote: NameAddr,
    /// The peer's Contact, the Request-URI of in-dialog requests.
    pub remote_target: Uri,
    /// Route set, in the order Route headers are written.
    pub route_set: Vec<NameAddr>,
    /// Our last CSeq number.
    pub local_seq: u32,
    /// True when the dialog was made over sips.
    pub secure: bool,
}

impl Dialog {
    /// The UAC's dialog from the INVITE it sent and a 101-299 response with a To tag.
    pub fn uac(invite: &Request, resp: &Response) -> Result<Dialog, ParseError> {
        let id =
            DialogId::uac(&resp.headers).ok_or(ParseError::bad("Response has no dialog id"))?;
        let mut route_set = resp.headers.record_routes()?;
        route_set.reverse();
        Ok(Dialog {
            id,
            local: invite.headers.from_hdr()?,
            remote: resp.headers.to_hdr()?,
            remote_target: contact_uri(&resp.headers)?,
            route_set,
            local_seq: invite.headers.cseq()?.seq,
            secure: invite.uri.scheme == Scheme::Sips,
        })
    }

    /// The UAS's dialog from a received INVITE, once it answers with `local_tag`.
    pub fn uas(invite: &Request, local_tag: &str) -> Result<Dialog, ParseError> {
        let mut local = invite.headers.to_hdr()?;
        if local.tag().is_none() {
            local.params.set("tag", Some(local_tag));
        }
        let remote = invite.headers.from_hdr()?;
        let id = DialogId {
            call_id: invite.headers.call_id()?.to_string(),
            local_tag: local.tag().unwrap_or(local_tag).to_string(),
            remote_tag: remote
                .tag()
                .ok_or(ParseError::bad("From has no tag"))?
                .to_string(),
        };
        Ok(Dialog {
            id,
            local,
            remote,
            remote_target: contact_uri(&invite.headers)?,
            route_set: invite.headers.record_routes()?,
            local_seq: 0,
            secure: invite.uri.scheme == Scheme::Sips,
        })
    }

    /// A new in-dialog request (RFC 3261 12.2.1.1); bumps the local CSeq. `via` is our Via.
    pub fn request(&mut self, method: Method, via: Via) -> Request {
        self.local_seq = self.local_seq.wrapping_add(1);
        self.build(method, self.local_seq, via)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_seq` (same CSeq number).
    pub fn ack(&self, invite_seq: u32, via: Via) -> Request {
        self.build(Method::Ack, invite_seq, via)
    }

    /// Builds a request with the dialog's addressing.
    fn build(&self, method: Method, seq: u32, via: Via) -> Request {
        let strict = self
            .route_set
            .first()
            .is_some_and(|r| !r.uri.is_loose_route());
        let (uri, routes): (Uri, Vec<String>) = if strict {
            // strict router first: it goes in the Request-URI, the target at the end
            let mut first = self.route_set[0].uri.clone();
            first.params.remove("method");
            first.headers.clear();
            let mut routes: Vec<String> =
                self.route_set[1..].iter().map(|r| r.to_string()).collect();
            routes.push(NameAddr::new(self.remote_target.clone()).to_string());
            (first, routes)
        } else {
            (
                self.remote_target.clone(),
                self.route_set.iter().map(|r| r.to_string()).collect(),
            )
        };
        let mut req = Request::new(method.clone(), uri);
        let h = &mut req.headers;
        h.push(HeaderName::Via, via.to_string());
        h.push(HeaderName::MaxForwards, "70");
        h.push(HeaderName::From, self.local.to_string());
        h.push(HeaderName::To, self.remote.to_string());
        h.push(HeaderName::CallId, self.id.call_id.clone());
        h.push(HeaderName::CSeq, format!("{seq} {method}"));
        for r in routes {
            h.push(HeaderName::Route, r);
        }
        req
    }
}

/// The single Contact URI of a dialog-creating message.
fn contact_uri(h: &Headers) -> Result<Uri, ParseError> {
    match h.contacts()? {
        Contacts::List(list) if !list.is_empty() => Ok(list[0].uri.clone()),
        _ => Err(ParseError::bad("Missing Contact header")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_datagram;
    use crate::Message;

    const INVITE: &str = "INVITE sip:bob@b.example SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKinv1\r\n\
Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKorig\r\n\
Record-Route: <sip:edge1.example;lr>\r\n\
Record-Route: <sip:edge2.example;lr>\r\n\
Route: <sip:media1.example;lr>\r\n\
From: <sip:alice@a.example>;tag=a1\r\n\
To: <sip:bob@b.example>\r\n\
Call-ID: call1\r\n\
CSeq: 5 INVITE\r\n\
Contact: <sip:alice@10.0.0.9>\r\n\
Max-Forwards: 69\r\n\r\n";

    fn invite() -> Request {
        match parse_datagram(INVITE.as_bytes()).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!("fixture is a request"),
        }
    }

    #[test]
    fn branches_and_tags_are_fresh() {
        assert!(new_branch().starts_with("z9hG4bK"));
        assert_ne!(new_branch(), new_branch());
        assert_ne!(new_tag(), new_tag());
        assert!(new_call_id("h").ends_with("@h"));
    }

    #[test]
    fn responses_echo_the_request() {
        let req = invite();
        let trying = response_to(&req, 100, "Trying");
        assert_eq!(trying.headers.vias().unwrap().len(), 2);
        assert_eq!(trying.headers.to_hdr().unwrap().tag(), None);
        assert!(!trying.headers.contains(&HeaderName::RecordRoute));
        let ringing = response_with_tag(&req, 180, "Ringing", "b1");
        assert_eq!(ringing.headers.to_hdr().unwrap().tag(), Some("b1"));
        assert_eq!(ringing.headers.record_routes().unwrap().len(), 2);
        let busy = response_with_tag(&req, 486, "Busy Here", "b1");
        assert!(!busy.headers.contains(&HeaderName::RecordRoute));
        busy.validate().unwrap();
    }

    #[test]
    fn ack_and_cancel_follow_rfc3261() {
        let req = invite();
        let busy = response_with_tag(&req, 486, "Busy Here", "b1");
        let ack = ack_for_non_2xx(&req, &busy);
        assert_eq!(ack.uri, req.uri);
        assert_eq!(ack.headers.vias().unwrap().len(), 1);
        assert_eq!(ack.headers.top_via().unwrap().branch(), Some("z9hG4bKinv1"));
        assert_eq!(ack.headers.to_hdr().unwrap().tag(), Some("b1"));
        assert_eq!(ack.headers.cseq().unwrap().to_string(), "5 ACK");
        assert_eq!(ack.headers.routes().unwrap().len(), 1);
        ack.validate().unwrap();
        let cancel = cancel_for(&req);
        assert_eq!(
            cancel.headers.top_via().unwrap().branch(),
            Some("z9hG4bKinv1")
        );
        assert_eq!(cancel.headers.cseq().unwrap().to_string(), "5 CANCEL");
        assert_eq!(cancel.headers.to_hdr().unwrap().tag(), None);
        cancel.validate().unwrap();
    }

    #[test]
    fn uas_and_uac_dialogs_address_each_other() {
        let req = invite();
        let mut ok = response_with_tag(&req, 200, "OK", "b1");
        ok.headers
            .push(HeaderName::Contact, "<sip:bob@10.0.0.20:5080>");
        let mut uas = Dialog::uas(&req, "b1").unwrap();
        assert_eq!(
            uas.id,
            DialogId::uas(&{
                let mut r = req.clone();
                r.headers.set(HeaderName::To, "<sip:bob@b.example>;tag=b1");
                r
            })
            .unwrap()
        );
        let bye = uas.request(
            Method::Bye,
            Via::new(
                "UDP",
                crate::Host::Domain("bob.host".into()),
                None,
                &new_branch(),
            ),
        );
        assert_eq!(bye.uri.to_string(), "sip:alice@10.0.0.9");
        assert_eq!(bye.headers.from_hdr().unwrap().tag(), Some("b1"));
        assert_eq!(bye.headers.to_hdr().unwrap().tag(), Some("a1"));
        let routes = bye.headers.routes().unwrap();
        assert_eq!(routes[0].uri.to_string(), "sip:edge1.example;lr");
        bye.validate().unwrap();

        let mut uac = Dialog::uac(&req, &ok).unwrap();
        assert_eq!(uac.id, DialogId::uac(&ok.headers).unwrap());
        let via = Via::new(
            "UDP",
            crate::Host::Domain("alice.host".into()),
            None,
            &new_branch(),
        );
        let ack = uac.ack(5, via.clone());
        assert_eq!(ack.headers.cseq().unwrap().to_string(), "5 ACK");
        assert_eq!(ack.uri.to_string(), "sip:bob@10.0.0.20:5080");
        // UAC route set is the Record-Route list reversed
        assert_eq!(
            ack.headers.routes().unwrap()[0].uri.to_string(),
            "sip:edge2.example;lr"
        );
        let reinvite = uac.request(Method::Invite, via);
        assert_eq!(reinvite.headers.cseq().unwrap().seq, 6);
    }

    #[test]
    fn strict_router_goes_into_request_uri() {
        let req = invite();
        let mut d = Dialog::uas(&req, "b1").unwrap();
        d.route_set = vec![NameAddr::parse("<sip:strict.example>").unwrap()];
        let bye = d.request(
            Method::Bye,
            Via::new("UDP", crate::Host::Domain("h".into()), None, "z9hG4bKx"),
        );
        assert_eq!(bye.uri.to_string(), "sip:strict.example");
        let routes = bye.headers.routes().unwrap();
        assert_eq!(routes.last().unwrap().uri.to_string(), "sip:alice@10.0.0.9");
    }
}
