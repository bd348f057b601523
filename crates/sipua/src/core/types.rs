//! What goes in and out of the user agent core: leg ids, settings, the description of a
//! new incoming call, an outgoing call's parameters and the per-leg events.

use std::time::Duration;

use bytes::Bytes;
use voxbin_sip::transaction::TimerConfig;
use voxbin_sip::{Host, Message, Request, Target, Transport, Uri};

use crate::cause::{HangupCause, Party};

/// Identifies a call leg inside one user agent.
pub type LegId = u64;

/// Settings of the core.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Host written in Via and Contact (the advertised address).
    pub host: Host,
    /// Port written in Via and Contact.
    pub port: u16,
    /// `User-Agent`/`Server` header value.
    pub user_agent: String,
    /// Session interval we ask for and accept at most (RFC 4028), `None` for no timers.
    pub session_expires: Option<u32>,
    /// Smallest session interval we accept (RFC 4028 Min-SE, 90 s unless testing).
    pub min_se: u32,
    /// Transaction timers.
    pub timers: TimerConfig,
    /// How long the owner has to answer a re-INVITE's offer before we refuse it with 500.
    pub offer_timeout: Duration,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            host: Host::V4(std::net::Ipv4Addr::LOCALHOST),
            port: 5080,
            user_agent: "voxbin".into(),
            session_expires: Some(1800),
            min_se: crate::session_timer::MIN_SE,
            timers: TimerConfig::default(),
            offer_timeout: Duration::from_secs(8),
        }
    }
}

/// A new INVITE, as the owner sees it.
#[derive(Debug, Clone)]
pub struct IncomingInfo {
    /// Request-URI.
    pub uri: Uri,
    /// From header value.
    pub from: String,
    /// To header value.
    pub to: String,
    /// P-Asserted-Identity value, if any.
    pub pai: Option<String>,
    /// Call-ID.
    pub call_id: String,
    /// The SDP offer (empty for an offerless INVITE).
    pub offer: Bytes,
    /// Who sent it.
    pub source: Target,
    /// The whole request (every header).
    pub request: Request,
}

/// Digest credentials for challenges (401/407) to our requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// An outgoing call.
#[derive(Debug, Clone)]
pub struct Originate {
    /// Request-URI (sip URI of the callee, an extension at the edge, a number at a trunk).
    pub uri: Uri,
    /// Where to send the INVITE (the edge, a trunk, or the URI's own host).
    pub target: Target,
    /// From header value without tag (`"Name" <sip:user@host>`).
    pub from: String,
    /// To header value; the Request-URI when `None`.
    pub to: Option<String>,
    /// P-Asserted-Identity value.
    pub pai: Option<String>,
    /// Extra headers (name, value).
    pub headers: Vec<(String, String)>,
    /// SDP offer.
    pub offer: Bytes,
    /// Credentials for a digest challenge.
    pub credentials: Option<DigestCredentials>,
}

/// Something that happened to a leg.
#[derive(Debug, Clone, PartialEq)]
pub enum CallEvent {
    /// A provisional response to our INVITE (180, 183 with early media SDP).
    Provisional {
        /// Status code.
        status: u16,
        /// SDP, empty when none.
        sdp: Bytes,
    },
    /// Our INVITE was answered (the ACK went out).
    Answered {
        /// The answer SDP.
        sdp: Bytes,
    },
    /// The ACK for our 2xx arrived: the dialog is confirmed.
    Confirmed,
    /// The peer sent a new offer (re-INVITE or UPDATE): answer with `answer_offer` or
    /// refuse with `reject_offer`; an offerless re-INVITE carries the empty offer.
    RemoteOffer {
        /// The offer.
        offer: Bytes,
    },
    /// Our re-INVITE was answered.
    ReinviteAnswered {
        /// The answer SDP.
        sdp: Bytes,
    },
    /// Our re-INVITE was refused (the session goes on as before).
    ReinviteFailed {
        /// Status code (491 means both sides offered at once: retry later).
        status: u16,
    },
    /// An INFO arrived (SIP INFO DTMF, for example).
    Info {
        /// Content-Type.
        content_type: String,
        /// Body.
        body: Bytes,
    },
    /// A session refresh went through (either side).
    SessionRefreshed,
    /// The peer stopped refreshing the session; a BYE follows.
    SessionExpired,
    /// The leg is over.
    Terminated {
        /// Why.
        cause: HangupCause,
        /// Who ended it.
        by: Party,
        /// The SIP status behind it (final response, or 200 for BYE).
        status: u16,
    },
}

/// What the shell must do.
#[derive(Debug, Clone)]
pub enum Output {
    /// Send a message.
    Send {
        /// Destination.
        target: Target,
        /// The message.
        msg: Message,
    },
    /// A new incoming call.
    Incoming {
        /// Its leg.
        leg: LegId,
        /// What it is.
        info: Box<IncomingInfo>,
    },
    /// Something happened to a leg.
    Event {
        /// The leg.
        leg: LegId,
        /// What happened.
        event: CallEvent,
    },
}

/// A command the core refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UaError {
    /// No such leg (it ended).
    #[error("no such call leg")]
    NoLeg,
    /// The command does not fit the leg's state (answering an answered call ...).
    #[error("not possible in this state: {0}")]
    State(&'static str),
    /// A message could not be built (bad URI, header).
    #[error("bad request: {0}")]
    Bad(String),
}

/// The transport named by a URI's `transport` parameter, or `default`.
pub(crate) fn uri_transport(uri: &Uri, default: Transport) -> Transport {
    uri.transport()
        .and_then(|t| Transport::parse(t).ok())
        .unwrap_or(default)
}
