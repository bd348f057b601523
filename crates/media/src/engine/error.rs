//! Errors of engine calls. SDP problems are values the SIP side maps to 488.

use thiserror::Error;

use crate::sdp::{NegotiationError, SdpError};

use super::ids::{ConferenceId, LegId};

/// Why an engine call failed.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The configuration is unusable (the message names the key).
    #[error("media engine config: {0}")]
    Config(String),
    /// The SDP could not be parsed (answer 488/400).
    #[error("bad sdp: {0}")]
    Sdp(#[from] SdpError),
    /// The SDP was understood but is not acceptable (answer 488).
    #[error("sdp not acceptable: {0}")]
    Negotiation(#[from] NegotiationError),
    /// An answer arrived for a leg that made no offer (or was already answered).
    #[error("leg {0} has no offer outstanding")]
    NoOfferOutstanding(LegId),
    /// No such leg.
    #[error("unknown leg {0}")]
    UnknownLeg(LegId),
    /// A leg with this id already exists.
    #[error("leg {0} already exists")]
    LegExists(LegId),
    /// No such conference.
    #[error("unknown conference {0}")]
    UnknownConference(ConferenceId),
    /// A conference with this id already exists.
    #[error("conference {0} already exists")]
    ConferenceExists(ConferenceId),
    /// The leg is busy elsewhere (bridged, in a conference) for this request.
    #[error("leg {0} is {1}")]
    Busy(LegId, &'static str),
    /// Every RTP port of the range is taken.
    #[error("no free RTP port pair in {0}..{1}")]
    NoPorts(u16, u16),
    /// A socket could not be opened.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// The operation's arguments are unusable (empty digits, bad URL, ...).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A prompt could not be loaded (file, download, WAV decoding, TTS).
    #[error("media unavailable: {0}")]
    Media(String),
    /// RFC 4733 digits were asked for but the peer did not negotiate telephone-event.
    #[error("telephone-event not negotiated with the peer")]
    DtmfNotNegotiated,
    /// The engine was shut down.
    #[error("media engine stopped")]
    Stopped,
}
