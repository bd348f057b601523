//! SDP for media: the session description model with its parser and serialiser, and offer/
//! answer negotiation of one audio stream (PCMU/PCMA, telephone-event, hold, SDES keys).

pub mod negotiate;
pub mod session;

pub use negotiate::{accept_answer, answer, offer, LocalMedia, Negotiated, NegotiationError};
pub use session::{
    parse_rtpmap, Attribute, Connection, Direction, MediaDescription, Origin, RtpMap, SdpError,
    SessionDescription,
};
