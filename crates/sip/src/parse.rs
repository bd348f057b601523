//! The message parser: datagram mode (UDP, one WebSocket message) and stream mode (TCP/TLS,
//! framed by Content-Length). Bounded by `Limits`; malformed input is an error value, never a
//! panic. Folded lines are joined, compact names expanded, list headers split one per line.

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::memmem::Finder;

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::ParseError;
use crate::grammar::{for_each_list_item, is_token, trim_ws};
use crate::header_name::HeaderName;
use crate::headers::{Header, Headers};
use crate::message::{Message, Request, Response};
use crate::method::Method;
use crate::uri::Uri;

/// Size bounds applied while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted message (start line + headers + body) in bytes.
    pub max_message: usize,
    /// Most header lines accepted (after list splitting).
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message: 65_535,
            max_headers: 256,
        }
    }
}

/// Result of feeding a stream buffer to the parser.
// returned and consumed at once, so the size difference costs nothing worth a Box
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A complete message that used the first `consumed` bytes of the buffer.
    Message {
        /// The message.
        msg: Message,
        /// Bytes of the buffer it used.
        consumed: usize,
    },
    /// Leading CRLFs (RFC 5626 keep-alive); drop `consumed` bytes. `ping` is true for a
    /// double CRLF, which a server answers with a single CRLF.
    KeepAlive {
        /// Bytes to drop.
        consumed: usize,
        /// True when the client sent a ping (CRLFCRLF).
        ping: bool,
    },
    /// More bytes are needed.
    Incomplete,
}

const TOO_LARGE: ParseError = ParseError::with_status(513, "Message Too Large");

/// Parses one whole datagram with default limits.
pub fn parse_datagram(buf: &[u8]) -> Result<Message, ParseError> {
    parse_datagram_with(buf, &Limits::default())
}

/// Parses one whole datagram (or WebSocket message).
pub fn parse_datagram_with(buf: &[u8], limits: &Limits) -> Result<Message, ParseError> {
    if buf.len() > limits.max_message {
        return Err(TOO_LARGE);
    }
    let start = leading_crlf(buf);
    let buf = &buf[start..];
    if buf.is_empty() {
        return Err(ParseError::bad("Empty message"));
    }
    let head_len = head_end(buf).ok_or(ParseError::bad("Missing end of headers"))?;
    // One copy of the datagram: header values and body are slices of it.
    let all = Bytes::copy_from_slice(buf);
    let (msg, content_length) = parse_head(all.slice(..head_len), limits)?;
    let rest = buf.len() - head_len;
    let body = match content_length {
        Some(n) if n > rest => return Err(ParseError::bad("Body shorter than Content-Length")),
        Some(n) => all.slice(head_len..head_len + n),
        None => all.slice(head_len..),
    };
    Ok(with_body(msg, body))
}

/// Parses the front of a stream buffer with default limits.
pub fn parse_stream(buf: &[u8]) -> Result<Parsed, ParseError> {
    parse_stream_with(buf, &Limits::default())
}

/// Parses the front of a stream buffer: a message framed by Content-Length (missing = 0),
/// a keep-alive, or a request for more bytes. An error means the stream cannot be resynced.
pub fn parse_stream_with(buf: &[u8], limits: &Limits) -> Result<Parsed, ParseError> {
    let crlf = leading_crlf(buf);
    if crlf > 0 {
        let ping = buf[..crlf].windows(4).any(|w| w == b"\r\n\r\n");
        return Ok(Parsed::KeepAlive {
            consumed: crlf,
            ping,
        });
    }
    let Some(head_len) = head_end(buf) else {
        if buf.len() > limits.max_message {
            return Err(TOO_LARGE);
        }
        return Ok(Parsed::Incomplete);
    };
    if head_len > limits.max_message {
        return Err(TOO_LARGE);
    }
    let (msg, content_length) = parse_head(Bytes::copy_from_slice(&buf[..head_len]), limits)?;
    let total = head_len + content_length.unwrap_or(0);
    if total > limits.max_message {
        return Err(TOO_LARGE);
    }
    if buf.len() < total {
        return Ok(Parsed::Incomplete);
    }
    Ok(Parsed::Message {
        msg: with_body(msg, Bytes::copy_from_slice(&buf[head_len..total])),
        consumed: total,
    })
}

/// Where a stream message that failed to parse ends, when that can still be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenFrame {
    /// Bytes of its header block, blank line included.
    pub head: usize,
    /// Bytes of the whole message (header block and body).
    pub total: usize,
}

/// The frame of a message at the front of `buf` that [`parse_stream_with`] refused: known when
/// the header block is complete, starts with a SIP request or status line and holds at most
/// one readable Content-Length (missing = 0) within the limits. `None` means the stream cannot
/// be resynced (garbage, or a broken length).
pub fn frame_broken(buf: &[u8], limits: &Limits) -> Option<BrokenFrame> {
    let buf_start = leading_crlf(buf);
    if buf_start > 0 {
        return None;
    }
    let head = head_end(buf)?;
    if head > limits.max_message {
        return None;
    }
    let mut lines = buf[..head]
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let start = lines.next()?;
    let sip_line = start.starts_with(b"SIP/2.0 ") || start.ends_with(b" SIP/2.0");
    if !sip_line {
        return None;
    }
    let mut length: Option<usize> = None;
    for line in lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            let value = std::str::from_utf8(line[colon + 1..].trim_ascii()).ok()?;
            let n: usize = value.parse().ok()?;
            if length.is_some_and(|old| old != n) {
                return None;
            }
            length = Some(n);
        }
    }
    let total = head.checked_add(length.unwrap_or(0))?;
    (total <= limits.max_message).then_some(BrokenFrame { head, total })
}

/// Number of leading CR/LF bytes.
fn leading_crlf(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

/// Length of the header block including the blank line (CRLF or bare LF), if complete.
fn head_end(buf: &[u8]) -> Option<usize> {
    static CRLF: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\n\r\n"));
    static LF: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\n\n"));
    let crlf = CRLF.find(buf);
    // A bare-LF blank line counts only when it comes first.
    let before = crlf.map_or(buf.len(), |i| i + 1);
    match LF.find(&buf[..before]) {
        Some(i) => Some(i + 2),
        None => crlf.map(|i| i + 3),
    }
}

/// Whether `head` holds a control character other than tab, CR and LF (or DEL), and how many
/// CRs it holds; in 32-byte blocks with byte-wide counters so that the compiler vectorises it.
fn scan_bytes(head: &[u8]) -> (bool, usize) {
    let control = |b: u8| (b < 0x20) & (b != b'\t') & (b != b'\r') & (b != b'\n') | (b == 0x7f);
    let mut bad = 0u8;
    let mut crs = 0usize;
    let mut blocks = head.chunks_exact(32);
    for block in &mut blocks {
        let (mut b_acc, mut cr) = (0u8, 0u8);
        for &b in block {
            b_acc |= u8::from(control(b));
            cr += u8::from(b == b'\r');
        }
        bad |= b_acc;
        crs += usize::from(cr);
    }
    for &b in blocks.remainder() {
        bad |= u8::from(control(b));
        crs += usize::from(b == b'\r');
    }
    (bad != 0, crs)
}

/// Attaches the body bytes.
fn with_body(mut msg: Message, body: Bytes) -> Message {
    if !body.is_empty() {
        match &mut msg {
            Message::Request(r) => r.body = body,
            Message::Response(r) => r.body = body,
        }
    }
    msg
}

/// Parses the start line and header lines; returns the message and Content-Length if present.
/// `head` is the header block alone; the values are slices of it.
fn parse_head(head: Bytes, limits: &Limits) -> Result<(Message, Option<usize>), ParseError> {
    let (bad, crs) = scan_bytes(&head);
    if bad {
        return Err(ParseError::bad("Control character in message"));
    }
    let head =
        ByteString::try_from(head).map_err(|_| ParseError::bad("Invalid UTF-8 in headers"))?;
    let text: &str = &head;
    let mut lines = Lines::new(text);
    let start = lines.next().ok_or(ParseError::bad("Empty message"))?;
    let mut headers = Headers::with_capacity(16);
    let mut content_length: Option<usize> = None;
    // A value stays a slice of `text` unless folded lines have to be joined.
    let mut pending: Option<(HeaderName, bool, Cow<'_, str>)> = None;
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        if matches!(line.as_bytes().first(), Some(b' ' | b'\t')) {
            // folded continuation of the previous header (RFC 3261 7.3.1)
            let (_, _, value) = pending
                .as_mut()
                .ok_or(ParseError::bad("Continuation line without header"))?;
            let more = trim_ws(line);
            if !more.is_empty() {
                let value = value.to_mut();
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(more);
            }
            continue;
        }
        if let Some(p) = pending.take() {
            finish_header(p, &head, &mut headers, &mut content_length, limits)?;
        }
        let colon = line
            .bytes()
            .position(|b| b == b':')
            .ok_or(ParseError::bad("Header line without colon"))?;
        let text = trim_ws(&line[..colon]);
        let (name, is_list) = HeaderName::parse_with_list(text);
        // A known name matched a token already; only others need the check.
        if matches!(name, HeaderName::Other(_)) && !is_token(text) {
            return Err(ParseError::bad("Bad header name"));
        }
        pending = Some((name, is_list, Cow::Borrowed(trim_ws(&line[colon + 1..]))));
    }
    if let Some(p) = pending.take() {
        finish_header(p, &head, &mut headers, &mut content_length, limits)?;
    }
    if crs != lines.line_end_crs {
        return Err(ParseError::bad(if start.contains('\r') {
            "Bare CR in start line"
        } else {
            "Bare CR in header"
        }));
    }
    let msg = parse_start_line(start, headers)?;
    Ok((msg, content_length))
}

/// The lines of a header block, line ends (CRLF or bare LF) stripped.
struct Lines<'a> {
    text: &'a str,
    pos: usize,
    newlines: memchr::Memchr<'a>,
    /// CRs stripped as line ends so far: any other CR of the block is a bare one.
    line_end_crs: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            text,
            pos: 0,
            newlines: memchr::memchr_iter(b'\n', text.as_bytes()),
            line_end_crs: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        if self.pos >= bytes.len() {
            return None;
        }
        let end = self.newlines.next().unwrap_or(bytes.len());
        let mut line_end = end;
        if line_end > self.pos && bytes[line_end - 1] == b'\r' {
            line_end -= 1;
            self.line_end_crs += 1;
        }
        let line = &self.text[self.pos..line_end];
        self.pos = end + 1;
        Some(line)
    }
}

/// Stores one complete header (splitting lists, taking Content-Length out); its value becomes
/// a slice of the header block `head`, or its own text when folding rewrote it.
fn finish_header(
    (name, is_list, value): (HeaderName, bool, Cow<'_, str>),
    head: &ByteString,
    headers: &mut Headers,
    content_length: &mut Option<usize>,
    limits: &Limits,
) -> Result<(), ParseError> {
    let value = match value {
        Cow::Borrowed(v) => head.slice_ref(v),
        Cow::Owned(v) => ByteString::from(v),
    };
    if name == HeaderName::ContentLength {
        let n = parse_length(&value)?;
        if content_length.is_some_and(|old| old != n) {
            return Err(ParseError::bad("Conflicting Content-Length"));
        }
        *content_length = Some(n);
        return Ok(());
    }
    if is_list && value.contains(',') {
        let mut pushed = Ok(());
        let balanced = for_each_list_item(&value, |item| {
            pushed = push_bounded(headers, name.clone(), value.slice_ref(item), limits);
            pushed.is_ok()
        });
        if !balanced {
            return Err(ParseError::bad("Unbalanced quotes or brackets in header"));
        }
        return pushed;
    }
    push_bounded(headers, name, value, limits)
}

/// Appends a header line unless the limit is reached.
fn push_bounded(
    headers: &mut Headers,
    name: HeaderName,
    value: ByteString,
    limits: &Limits,
) -> Result<(), ParseError> {
    if headers.len() >= limits.max_headers {
        return Err(ParseError::bad("Too many headers"));
    }
    headers.0.push(Header { name, value });
    Ok(())
}

/// Parses a Content-Length value.
fn parse_length(v: &str) -> Result<usize, ParseError> {
    const BAD: ParseError = ParseError::bad("Bad Content-Length");
    if v.is_empty() || v.len() > 9 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD);
    }
    v.parse().map_err(|_| BAD)
}

/// Parses a request line or a status line.
fn parse_start_line(line: &str, headers: Headers) -> Result<Message, ParseError> {
    if let Some(rest) = line.strip_prefix("SIP/") {
        let (version, rest) = rest
            .split_once(' ')
            .ok_or(ParseError::bad("Bad status line"))?;
        if version != "2.0" {
            return Err(ParseError::with_status(505, "Version Not Supported"));
        }
        let (code, reason) = match rest.split_once(' ') {
            Some((c, r)) => (c, r),
            None => (rest, ""),
        };
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::bad("Bad status code"));
        }
        let status: u16 = code
            .parse()
            .map_err(|_| ParseError::bad("Bad status code"))?;
        if !(100..=699).contains(&status) {
            return Err(ParseError::bad("Bad status code"));
        }
        return Ok(Message::Response(Response {
            status,
            reason: reason.to_string(),
            headers,
            body: Bytes::new(),
        }));
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::bad("Bad request line"));
    };
    let method = Method::parse(method)?;
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return Err(ParseError::with_status(505, "Version Not Supported"));
    }
    let uri = Uri::parse(uri).map_err(|e| {
        if e.status() == 416 {
            e
        } else {
            ParseError::bad("Bad Request-URI")
        }
    })?;
    Ok(Message::Request(Request {
        method,
        uri,
        headers,
        body: Bytes::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &str = "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n";

    #[test]
    fn a_control_byte_anywhere_in_the_head_is_refused() {
        // Every offset, so both the 32-byte blocks and the tail of the scan are covered.
        let head_len = OPTIONS.len() - 4;
        for at in 0..head_len {
            for bad in [0u8, 0x01, 0x1f, 0x7f] {
                let mut raw = OPTIONS.as_bytes().to_vec();
                if matches!(raw[at], b'\r' | b'\n') {
                    continue;
                }
                raw[at] = bad;
                let err = parse_datagram(&raw).unwrap_err();
                assert!(
                    err.reason() == "Control character in message"
                        || err.reason() == "Missing end of headers",
                    "{at}: {}",
                    err.reason()
                );
            }
        }
        assert!(parse_datagram(OPTIONS.as_bytes()).is_ok());
    }

    #[test]
    fn the_head_ends_at_the_first_blank_line_of_either_kind() {
        assert_eq!(head_end(b"A\r\nB\r\n\r\nbody"), Some(8));
        assert_eq!(head_end(b"A\nB\n\nbody\r\n\r\n"), Some(5));
        assert_eq!(head_end(b"A\r\nB\n\r\nbody\n\n"), Some(7));
        assert_eq!(head_end(b"A\nB\r\n\nC\r\n\r\n"), Some(6));
        assert_eq!(head_end(b"A\r\nB\r\n"), None);
        assert_eq!(head_end(b"A\r\r\nB"), None);
    }

    #[test]
    fn bare_crs_are_told_from_line_ends() {
        let bare = OPTIONS.replace("Call-ID: c1", "Call-ID: c\r1");
        assert_eq!(
            parse_datagram(bare.as_bytes()).unwrap_err().reason(),
            "Bare CR in header"
        );
        let lf_only = OPTIONS.replace("\r\n", "\n");
        assert!(parse_datagram(lf_only.as_bytes()).is_ok());
    }
}
