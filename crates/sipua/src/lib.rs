//! SIP user agent for call legs (B2BUA endpoints): the media role answers INVITEs handed over
//! by the sip-edge and originates calls with it. `core` is the sans-IO protocol state (over
//! voxbin-sip's transactions and dialog helpers); `agent` is the tokio shell that owns the
//! sockets and hands each leg its own event channel.
//!
//! What a leg does: 180/183 (early media)/200 or a refusal for an incoming INVITE, CANCEL
//! from the caller, an outgoing INVITE with 401/407 digest answers, re-INVITE and UPDATE both
//! ways (the owner answers the peer's offers), BYE both ways, RFC 4028 session timers
//! (refresh by re-INVITE, BYE when the peer stops refreshing), and hangup causes mapped to
//! SIP status codes both ways (`HangupCause`).

#![warn(missing_docs)]

pub mod agent;
mod cause;
pub mod core;
pub mod session_timer;

pub use agent::{resolve_target, CallHandle, IncomingCall, UaConfig, UaEvent, UserAgent};
pub use cause::{HangupCause, Party};
pub use core::{CallEvent, DigestCredentials, IncomingInfo, LegId, Originate, UaError};
