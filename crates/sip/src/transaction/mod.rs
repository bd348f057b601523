//! SIP transactions (RFC 3261 17, with the RFC 6026 Accepted state) as a sans-IO state
//! machine. The caller feeds `Input`s with the current time and drains `Output`s: messages to
//! send, the next wake-up time, and events for the transaction user. Retransmissions run only
//! for unreliable transports; the client INVITE transaction sends the ACK for non-2xx itself.
//!
//! ```text
//! txs.handle(Input::Received { msg, from }, now)?;
//! while let Some(out) = txs.poll() { /* Send -> socket, Timer -> sleep, Event -> TU */ }
//! ```

mod client;
mod config;
mod ending;
mod key;
mod key_text;
mod layer;
mod queue;
mod server;
mod timer;

pub use config::TimerConfig;
pub use key::{Side, TxKey};
pub use key_text::KeyText;
pub use layer::Transactions;

use std::fmt;
use std::time::Instant;

use crate::error::ParseError;
use crate::message::{Message, Request, Response};
use crate::target::Target;

/// Something that happened, fed to `Transactions::handle`.
#[derive(Debug, Clone)]
pub enum Input {
    /// A message arrived from the network.
    Received {
        /// The message.
        msg: Message,
        /// Where it came from.
        from: Target,
    },
    /// Start a client transaction (the top Via must carry a fresh RFC 3261 branch). An ACK
    /// is sent without a transaction.
    SendRequest {
        /// The request.
        req: Request,
        /// Where to send it.
        target: Target,
    },
    /// Answer through the server transaction matching the response's top Via and CSeq.
    SendResponse {
        /// The response.
        resp: Response,
    },
    /// Answer through server transaction `key`, the key [`TxEvent::Request`] reported for the
    /// request answered: the same as `SendResponse` without reading the key back out of the
    /// response.
    SendResponseFor {
        /// The server transaction.
        key: TxKey,
        /// The response.
        resp: Response,
    },
    /// Send without any transaction (ACK for 2xx, stateless forwarding).
    SendStateless {
        /// The message.
        msg: Message,
        /// Where to send it.
        target: Target,
    },
    /// Sending to `target` failed (connection refused or reset, ICMP error).
    TransportError {
        /// The failed destination.
        target: Target,
    },
    /// Time passed (a timer set by `Output::Timer` fired).
    Tick,
}

/// Something the caller must do.
#[derive(Debug, Clone)]
pub enum Output {
    /// Send `msg` to `target`.
    Send {
        /// Destination.
        target: Target,
        /// Message to serialise and send.
        msg: Message,
    },
    /// Call `handle(Input::Tick, ..)` at this time (replaces any earlier request).
    Timer(Instant),
    /// Tell the transaction user.
    Event(TxEvent),
}

/// What the transaction user hears about.
#[derive(Debug, Clone)]
pub enum TxEvent {
    /// A new request created a server transaction. For a CANCEL, `cancels` is the INVITE
    /// server transaction it matches (answer 200 to the CANCEL and 487 to that INVITE), or
    /// `None` (answer 481).
    Request {
        /// The new server transaction.
        key: TxKey,
        /// The request.
        req: Request,
        /// Where it came from (responses go back there).
        from: Target,
        /// INVITE transaction a CANCEL applies to (boxed: rare, and every event is moved).
        cancels: Option<Box<TxKey>>,
    },
    /// An ACK no transaction absorbed (the ACK for a 2xx): route it end to end.
    Ack {
        /// The ACK.
        req: Request,
        /// Where it came from.
        from: Target,
    },
    /// A response for one of our client transactions (provisional, final, and repeated 2xx
    /// for INVITE while Accepted).
    Response {
        /// The client transaction.
        key: TxKey,
        /// The response.
        resp: Response,
    },
    /// A response that matches no client transaction (a stateless proxy forwards it by Via).
    StrayResponse {
        /// The response.
        resp: Response,
        /// Where it came from.
        from: Target,
    },
    /// Timer B or F fired (no final response: answer 408 upstream), or Timer H fired on a
    /// server INVITE transaction (no ACK for our final response).
    Timeout {
        /// The transaction.
        key: TxKey,
    },
    /// The transport failed for this transaction.
    TransportFailed {
        /// The transaction.
        key: TxKey,
    },
    /// `SendResponse` found no server transaction (it ended already); send it statelessly if
    /// it must go out.
    NoTransaction {
        /// The response that was not sent.
        resp: Response,
    },
    /// A received message that cannot be matched (no usable Via, CSeq, From or Call-ID).
    Invalid {
        /// The message.
        msg: Message,
        /// Where it came from.
        from: Target,
        /// What is wrong (usable as a 400 reason).
        error: ParseError,
    },
    /// The transaction ended and was forgotten.
    Terminated {
        /// The transaction.
        key: TxKey,
    },
}

/// A command the transaction layer refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxError {
    /// The message lacks what a transaction needs (Via branch, CSeq ...).
    BadMessage(ParseError),
    /// A client transaction with this key exists already (reused branch).
    Duplicate(TxKey),
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxError::BadMessage(e) => write!(f, "bad message for a transaction: {e}"),
            TxError::Duplicate(k) => write!(f, "transaction {k} exists already"),
        }
    }
}

impl std::error::Error for TxError {}

impl From<ParseError> for TxError {
    fn from(e: ParseError) -> Self {
        TxError::BadMessage(e)
    }
}
