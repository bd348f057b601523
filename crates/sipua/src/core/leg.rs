//! One call leg's state: its dialog, SDP, the 2xx we repeat until ACKed, requests in flight
//! and the session timer.

use std::time::{Duration, Instant};

use bytes::Bytes;
use voxbin_sip::dialog::Dialog;
use voxbin_sip::transaction::TxKey;
use voxbin_sip::{Request, Response, Target};

use crate::cause::{HangupCause, Party};
use crate::core::types::{DigestCredentials, LegId};

/// Where a leg is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// INVITE sent or received, no final answer yet.
    Early,
    /// 2xx sent or received.
    Answered,
    /// We sent BYE or CANCEL (or refused): waiting for its outcome.
    Ending,
}

/// A 2xx we repeat until the ACK comes (RFC 3261 13.3.1.4).
#[derive(Debug, Clone)]
pub(crate) struct OkRetransmit {
    pub resp: Response,
    pub next: Instant,
    pub interval: Duration,
    pub give_up: Instant,
    /// True for the answer to the initial INVITE (its ACK confirms the dialog).
    pub initial: bool,
}

/// A re-INVITE we sent.
#[derive(Debug, Clone)]
pub(crate) struct OwnReinvite {
    pub req: Request,
    /// A session refresh, not an offer from the owner.
    pub refresh: bool,
    pub auth_tries: u8,
}

/// The peer's re-INVITE or UPDATE waiting for the owner's answer.
#[derive(Debug, Clone)]
pub(crate) struct PendingOffer {
    pub req: Request,
    pub deadline: Instant,
}

/// RFC 4028 state once the session is up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Session {
    pub interval: u32,
    /// We send the refreshes (else we watch for the peer's).
    pub we_refresh: bool,
    pub at: Instant,
}

/// One call leg.
#[derive(Debug)]
pub(crate) struct Leg {
    pub id: LegId,
    pub outgoing: bool,
    pub phase: Phase,
    /// The initial INVITE (received, or the last one we sent).
    pub invite: Request,
    /// Its transaction.
    pub invite_key: Option<TxKey>,
    /// First hop: where the INVITE came from or went to.
    pub peer: Target,
    pub local_tag: String,
    /// Known from the start for incoming legs, from the 2xx for outgoing ones.
    pub dialog: Option<Dialog>,
    pub local_sdp: Bytes,
    pub remote_sdp: Bytes,
    pub ok_retransmit: Option<OkRetransmit>,
    pub provisional_seen: bool,
    /// Hang up as soon as possible (CANCEL after the first provisional, BYE after the ACK).
    pub hangup_pending: Option<HangupCause>,
    /// Why we are ending, once BYE/CANCEL went out.
    pub ending: Option<(HangupCause, Party)>,
    pub reinvite: Option<OwnReinvite>,
    /// A re-INVITE asked for before the ACK of our 2xx came; sent once it does.
    pub deferred_reinvite: Option<Bytes>,
    pub offer: Option<PendingOffer>,
    pub session: Option<Session>,
    /// Peer advertised `timer` support.
    pub peer_timer: bool,
    pub credentials: Option<DigestCredentials>,
    pub auth_tries: u8,
    /// The ACK for our outgoing 2xx (sent again when the 2xx repeats).
    pub ack: Option<(Request, Target)>,
}

impl Leg {
    /// The earliest deadline this leg waits for.
    pub fn next_deadline(&self) -> Option<Instant> {
        let a = self.ok_retransmit.as_ref().map(|o| o.next.min(o.give_up));
        let b = self.offer.as_ref().map(|o| o.deadline);
        let c = self.session.as_ref().map(|s| s.at);
        [a, b, c].into_iter().flatten().min()
    }
}
