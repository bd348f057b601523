//! SIP for Voxbin: messages, transactions, dialogs and digest authentication, as a sans-IO
//! core with a thin tokio shell (`transport`). Parsing is bounded and never panics; errors are
//! values carrying the status and reason phrase to answer with.

#![warn(missing_docs)]

mod cseq;
pub mod dialog;
pub mod digest;
mod error;
mod grammar;
mod header_name;
mod headers;
mod message;
mod method;
mod name_addr;
mod params;
mod parse;
mod target;
mod text_form;
pub mod transaction;
#[cfg(feature = "transport")]
pub mod transport;
mod uri;
mod via;

/// Header values and transaction keys: shared, immutable text (clones share the parsed buffer).
pub use bytestring::ByteString;
pub use cseq::CSeq;
pub use error::ParseError;
pub use grammar::{push_hex, push_ipv4, push_u32_str};
pub use header_name::HeaderName;
pub use headers::{Contacts, Header, Headers};
pub use message::{Message, Request, Response};
pub use method::Method;
pub use name_addr::NameAddr;
pub use params::{Param, Params};
pub use parse::{
    frame_broken, parse_datagram, parse_datagram_with, parse_stream, parse_stream_with,
    BrokenFrame, Limits, Parsed,
};
pub use target::{Target, Transport};
#[cfg(feature = "transport")]
pub use transport::{Incoming, SipTransport, TransportConfig};
pub use uri::{Host, Scheme, Uri};
pub use via::{Via, BRANCH_COOKIE};
