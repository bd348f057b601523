//! Transaction identity and matching (RFC 3261 17.1.3 and 17.2.3): branch, sent-by and
//! method, with ACK matching its INVITE and a fallback key for pre-RFC 3261 branches.

use std::fmt;

use crate::error::ParseError;
use crate::headers::Headers;
use crate::message::{Request, Response};
use crate::method::Method;
use crate::transaction::key_text::KeyText;
use crate::via::Via;

/// Which side of a transaction we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// We sent the request.
    Client,
    /// We received the request.
    Server,
}

/// Identifies one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxKey {
    /// Client or server.
    pub side: Side,
    /// Top Via branch (or a substitute built from the request for RFC 2543 peers).
    pub branch: KeyText,
    /// Method of the transaction (INVITE for its ACK; CANCEL is its own transaction).
    pub method: Method,
    /// Top Via sent-by (`host:port`) for server transactions, empty for client ones.
    pub sent_by: KeyText,
}

impl fmt::Display for TxKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = match self.side {
            Side::Client => "client",
            Side::Server => "server",
        };
        write!(f, "{side}/{}/{}", self.method, self.branch)
    }
}

/// The top Via's sent-by (lower case) and branch: read from its text in the common shape, else
/// parsed. Every message is matched through here.
fn top_via_parts(h: &Headers) -> Result<(KeyText, Option<KeyText>), ParseError> {
    let value = h
        .get(&crate::HeaderName::Via)
        .ok_or(ParseError::bad("Missing Via header"))?;
    if let Some((sent_by, branch)) = crate::via::sent_by_and_branch(value) {
        return Ok((KeyText::lowercase(sent_by), branch.map(KeyText::from)));
    }
    let via = Via::parse(value)?;
    Ok((
        KeyText::lowercase(&via.sent_by()),
        via.branch().map(KeyText::from),
    ))
}

/// The branch, or for an RFC 2543 peer (no magic cookie) a substitute made of what the
/// request, its retransmissions, its ACK and our responses to it all carry unchanged.
fn server_branch(h: &Headers, branch: Option<KeyText>) -> Result<KeyText, ParseError> {
    match branch {
        Some(b) if b.starts_with(crate::via::BRANCH_COOKIE) => Ok(b),
        other => Ok(KeyText::from(format!(
            "2543|{}|{}|{}|{}",
            h.call_id()?,
            h.from_hdr()?.tag().unwrap_or(""),
            h.cseq()?.seq,
            other.as_deref().unwrap_or("")
        ))),
    }
}

/// Key of the server transaction a received request belongs to (ACK maps to INVITE).
pub(crate) fn server_key(req: &Request) -> Result<TxKey, ParseError> {
    let (sent_by, branch) = top_via_parts(&req.headers)?;
    let method = match req.method {
        Method::Ack => Method::Invite,
        ref m => m.clone(),
    };
    Ok(TxKey {
        side: Side::Server,
        branch: server_branch(&req.headers, branch)?,
        method,
        sent_by,
    })
}

/// Key of the client transaction a request we send starts.
pub(crate) fn client_key(req: &Request) -> Result<TxKey, ParseError> {
    let (_, branch) = top_via_parts(&req.headers)?;
    let branch = branch
        .filter(|b| b.starts_with(crate::via::BRANCH_COOKIE))
        .ok_or(ParseError::bad("Top Via needs an RFC 3261 branch"))?;
    Ok(TxKey {
        side: Side::Client,
        branch,
        method: req.method.clone(),
        sent_by: KeyText::new(),
    })
}

/// Key of the client transaction a received response belongs to.
pub(crate) fn response_client_key(resp: &Response) -> Result<TxKey, ParseError> {
    let (_, branch) = top_via_parts(&resp.headers)?;
    let branch = branch.ok_or(ParseError::bad("Via without branch"))?;
    Ok(TxKey {
        side: Side::Client,
        branch,
        method: resp.headers.cseq()?.method,
        sent_by: KeyText::new(),
    })
}

/// Key of the server transaction a response we send belongs to.
pub(crate) fn response_server_key(resp: &Response) -> Result<TxKey, ParseError> {
    let (sent_by, branch) = top_via_parts(&resp.headers)?;
    Ok(TxKey {
        side: Side::Server,
        branch: server_branch(&resp.headers, branch)?,
        method: resp.headers.cseq()?.method,
        sent_by,
    })
}
