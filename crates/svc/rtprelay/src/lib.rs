//! The rtp-relay role: RTP relay for NAT traversal, controlled over the bus and rtpengine's ng
//! protocol.
//!
//! A session is a call (Call-ID) between an offerer (side A, its from-tag) and an answerer
//! (side B, its to-tag), with one relayed stream per `m=` line. Each stream has two local port
//! pairs (RTP and RTCP = RTP+1): the one side A sends to and the one side B sends to. Offer and
//! answer SDP are rewritten to point at those ports; each side latches onto the address its
//! first packet comes from (symmetric RTP behind NAT). Sessions without media for
//! `rtp_relay.timeout_secs` are deleted.
//!
//! Layers: [`session`] is the sans-IO control core (sessions, offer/answer/delete, timeouts),
//! [`forward`] the data plane (epoll worker threads with `recvmmsg`/`sendmmsg`, deciding with
//! `voxbin_media::relay`), [`control`] joins them for the two control protocols, [`bus`]
//! (queue `bin-manager.rtp-relay-manager.request`, events `rtpsession_created/deleted`) and
//! [`ng`] (rtpengine's bencode-over-UDP protocol), and [`role`] runs it all.

pub mod bus;
pub mod control;
pub mod forward;
pub mod ng;
pub mod role;
pub mod sdp;
pub mod session;

pub use role::{RtpRelay, Settings};
