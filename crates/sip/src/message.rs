//! Requests, responses and their serialisation. A message owns its start line, its header
//! lines and its body; Content-Length is always written from the body's length, last.

use bytes::Bytes;

use crate::error::ParseError;
use crate::grammar::push_u32;
use crate::headers::Headers;
use crate::method::Method;
use crate::uri::Uri;

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method of the request line.
    pub method: Method,
    /// Request-URI.
    pub uri: Uri,
    /// Header lines (without Content-Length).
    pub headers: Headers,
    /// Body bytes.
    pub body: Bytes,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code 100..=699.
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: String,
    /// Header lines (without Content-Length).
    pub headers: Headers,
    /// Body bytes.
    pub body: Bytes,
}

/// Either kind of SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Checks the headers every request needs (RFC 3261 8.1.1): Via, From, To, Call-ID, a
    /// CSeq whose method matches the request line, and a numeric Max-Forwards if present.
    pub fn validate(&self) -> Result<(), ParseError> {
        self.headers.check_addressing()?;
        self.headers.call_id()?;
        let cseq = self.headers.cseq()?;
        if cseq.method != self.method {
            return Err(ParseError::bad("CSeq method does not match"));
        }
        self.headers.max_forwards()?;
        Ok(())
    }

    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut head = String::with_capacity(256 + self.headers.len() * 48);
        head.push_str(self.method.as_str());
        head.push(' ');
        self.uri.write(&mut head);
        head.push_str(" SIP/2.0\r\n");
        out.extend_from_slice(head.as_bytes());
        write_tail(&self.headers, &self.body, out);
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(estimate(&self.headers, &self.body));
        self.write_to(&mut out);
        out
    }
}

impl Response {
    /// A response with no headers and no body.
    pub fn new(status: u16, reason: &str) -> Response {
        Response {
            status,
            reason: reason.to_string(),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Checks the headers every response needs: Via, From, To, Call-ID and CSeq.
    pub fn validate(&self) -> Result<(), ParseError> {
        self.headers.check_addressing()?;
        self.headers.call_id()?;
        self.headers.cseq()?;
        Ok(())
    }

    /// True for 1xx.
    pub fn is_provisional(&self) -> bool {
        self.status < 200
    }

    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"SIP/2.0 ");
        push_u32(out, u32::from(self.status));
        out.push(b' ');
        out.extend_from_slice(self.reason.as_bytes());
        out.extend_from_slice(b"\r\n");
        write_tail(&self.headers, &self.body, out);
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(estimate(&self.headers, &self.body));
        self.write_to(&mut out);
        out
    }
}

impl Message {
    /// The header lines.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// The header lines, mutable.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    /// True for a request.
    pub fn is_request(&self) -> bool {
        matches!(self, Message::Request(_))
    }

    /// Checks the mandatory headers (see `Request::validate`, `Response::validate`).
    pub fn validate(&self) -> Result<(), ParseError> {
        match self {
            Message::Request(r) => r.validate(),
            Message::Response(r) => r.validate(),
        }
    }

    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Message::Request(r) => r.write_to(out),
            Message::Response(r) => r.write_to(out),
        }
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Self {
        Message::Request(r)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Self {
        Message::Response(r)
    }
}

/// Rough size of the wire form, to allocate once.
fn estimate(headers: &Headers, body: &Bytes) -> usize {
    let h: usize = headers
        .iter()
        .map(|h| h.name.as_str().len() + h.value.len() + 4)
        .sum();
    128 + h + body.len()
}

/// Writes header lines, Content-Length, the blank line and the body.
fn write_tail(headers: &Headers, body: &Bytes, out: &mut Vec<u8>) {
    for h in headers {
        if h.name == crate::HeaderName::ContentLength {
            continue;
        }
        out.extend_from_slice(h.name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Content-Length: ");
    push_u32(out, u32::try_from(body.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}
