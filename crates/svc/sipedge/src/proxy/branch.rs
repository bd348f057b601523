//! Branches of the requests the edge forwards, derived from the request itself.
//!
//! RFC 3261 16.11 lets a proxy compute its branch from the incoming request, so a
//! retransmission gets the same branch. The edge goes further: the branch depends only on the
//! upstream's top Via, and a CANCEL carries the same top Via as its INVITE, so any edge node
//! can build the CANCEL that matches an INVITE another node forwarded.

use std::hash::{Hash, Hasher};
use voxbin_sip::{HeaderName, Request, Via, BRANCH_COOKIE};

/// Prefix of the branches of the edge's own OPTIONS health checks.
pub const PROBE_PREFIX: &str = "z9hG4bKvxprobe";

/// The branch of the edge's copy of `req`, from its top Via's text when that has the common
/// shape and an RFC 3261 branch (no Via parse), else from the parsed Via.
pub fn branch_for(req: &Request) -> Option<String> {
    if let Some((sent_by, Some(b))) = req.headers.top_via_ids() {
        if b.starts_with(BRANCH_COOKIE) {
            return Some(hashed_branch(b, sent_by));
        }
    }
    let via = req.headers.top_via().ok()?;
    match via.branch() {
        Some(b) if b.starts_with(BRANCH_COOKIE) => Some(hashed_branch(b, &via.sent_by())),
        _ => Some(forwarded_branch(req, &via)),
    }
}

/// `z9hG4bKvx` and the FNV-1a hash of the upstream's branch and (lower-cased) sent-by: stable
/// across nodes and builds (the branch must be), and cheap.
fn hashed_branch(branch: &str, sent_by: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = branch
        .bytes()
        .chain([0xff])
        .chain(sent_by.bytes().map(|c| c.to_ascii_lowercase()));
    for c in bytes {
        h = (h ^ u64::from(c)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut out = String::with_capacity(BRANCH_COOKIE.len() + 18);
    out.push_str(BRANCH_COOKIE);
    out.push_str("vx");
    voxbin_sip::push_hex(&mut out, &h.to_be_bytes());
    out
}

/// The branch of the edge's copy of `req` (whose top Via is `upstream`), for upstreams
/// without an RFC 3261 branch.
pub fn forwarded_branch(req: &Request, upstream: &Via) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match upstream.branch() {
        Some(b) if b.starts_with(BRANCH_COOKIE) => b.hash(&mut h),
        // RFC 2543 peers: the transaction is what their branch-less requests have in common.
        _ => {
            req.headers.get(&HeaderName::CallId).hash(&mut h);
            req.headers.cseq().map(|c| c.seq).unwrap_or(0).hash(&mut h);
            req.headers
                .from_hdr()
                .ok()
                .and_then(|f| f.tag().map(str::to_string))
                .hash(&mut h);
            req.uri.to_string().hash(&mut h);
        }
    }
    upstream.host.to_string().hash(&mut h);
    upstream.port.hash(&mut h);
    format!("{BRANCH_COOKIE}vx{:016x}", h.finish())
}

/// The `branch` parameter of a message's top Via in its common shape, read from its text (no
/// Via parse); the edge's own health checks always have that shape.
pub fn top_branch(headers: &voxbin_sip::Headers) -> Option<&str> {
    headers.top_via_ids()?.1
}

/// The branch of a health check with `token`.
pub fn probe_branch(token: u64) -> String {
    format!("{PROBE_PREFIX}{token}")
}

/// The token of a health check's branch, if `branch` is one.
pub fn probe_token(branch: &str) -> Option<u64> {
    branch.strip_prefix(PROBE_PREFIX)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::request;

    #[test]
    fn a_cancel_gets_the_branch_of_its_invite() {
        let invite = request(
            "INVITE sip:1@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc
From: <sip:a@x>;tag=1
To: <sip:1@127.0.0.1>
Call-ID: c
CSeq: 1 INVITE
Content-Length: 0

",
        );
        let text = String::from_utf8(invite.to_bytes()).unwrap();
        let cancel = request(
            &text
                .replace("INVITE sip", "CANCEL sip")
                .replace("1 INVITE", "1 CANCEL")
                .replace("\r\n", "\n"),
        );
        let b1 = forwarded_branch(&invite, &invite.headers.top_via().unwrap());
        let b2 = forwarded_branch(&cancel, &cancel.headers.top_via().unwrap());
        assert_eq!(b1, b2);
        assert!(b1.starts_with("z9hG4bKvx"));
        let other = request(
            &text
                .replace("z9hG4bKabc", "z9hG4bKabd")
                .replace("\r\n", "\n"),
        );
        assert_ne!(
            forwarded_branch(&other, &other.headers.top_via().unwrap()),
            b1
        );
        // The common path: same branch for the CANCEL, and the FNV-1a text every node and build
        // agrees on (checked by hand: branch, 0xff, sent-by).
        assert_eq!(branch_for(&invite), branch_for(&cancel));
        assert_eq!(
            branch_for(&invite).as_deref(),
            Some("z9hG4bKvx5df60368eae321f1")
        );
        assert_ne!(branch_for(&other), branch_for(&invite));
        assert_eq!(probe_token(&probe_branch(42)), Some(42));
        assert_eq!(probe_token("z9hG4bKother"), None);
    }
}
