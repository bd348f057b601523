//! Small pieces of the RFC 3261 grammar shared by the header parsers: tokens, whitespace,
//! quoted strings and the comma/semicolon splitting that must skip quotes and `<...>`.

/// True for bytes allowed in an RFC 3261 `token`.
pub(crate) const fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// `is_token_byte` as a table: names, methods, branches and parameters are checked with it.
static TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = is_token_byte(b as u8);
        b += 1;
    }
    t
};

/// True when `s` is a non-empty token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| TOKEN[usize::from(b)])
}

/// Trims SIP linear whitespace (space and tab) on both sides.
pub(crate) fn trim_ws(s: &str) -> &str {
    // By bytes: every header value passes here, and space and tab are ASCII (char boundaries).
    let b = s.as_bytes();
    let ws = |c: &u8| *c == b' ' || *c == b'\t';
    let start = b.iter().position(|c| !ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !ws(c)).map_or(start, |e| e + 1);
    &s[start..end]
}

/// Bytes that change the state of a quote/bracket scan, and the list separator.
const fn special(extra: u8) -> [bool; 256] {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[extra as usize] = true;
    t
}

/// State bytes of a scan for commas (list headers are scanned for every message).
static SPECIAL_COMMA: [bool; 256] = special(b',');

/// State bytes of a scan for parameter separators.
static SPECIAL_SEMI: [bool; 256] = special(b';');

/// Index of the next byte at or after `i` that a quote/bracket scan must look at.
fn skip_plain(bytes: &[u8], mut i: usize, table: &[bool; 256]) -> usize {
    while i < bytes.len() && !table[usize::from(bytes[i])] {
        i += 1;
    }
    i
}

/// Finds the first `sep` byte outside double quotes and angle brackets.
///
/// Brackets nest as `for_each_list_item` counts them, so the items of a balanced list are
/// balanced too.
pub(crate) fn find_top_level(s: &str, sep: u8) -> Option<usize> {
    let bytes = s.as_bytes();
    let other;
    let table = match sep {
        b',' => &SPECIAL_COMMA,
        b';' => &SPECIAL_SEMI,
        _ => {
            other = special(sep);
            &other
        }
    };
    let mut in_quotes = false;
    let mut depth = 0u32;
    let mut i = skip_plain(bytes, 0, table);
    while i < bytes.len() {
        let b = bytes[i];
        if in_quotes {
            match b {
                b'\\' => i += 1,
                b'"' => in_quotes = false,
                _ => {}
            }
        } else if b == b'"' {
            in_quotes = true;
        } else if b == b'<' {
            depth += 1;
        } else if b == b'>' {
            depth = depth.saturating_sub(1);
        } else if b == sep && depth == 0 {
            return Some(i);
        }
        i = skip_plain(bytes, i + 1, table);
    }
    None
}

/// Calls `item` with each comma-separated element of a list header (trimmed, empties skipped),
/// in one scan that also checks every quote and angle bracket is closed; stops when `item`
/// returns false. Returns false for an unclosed (or unopened) quote or bracket, in which case
/// the elements already reported mean nothing.
pub(crate) fn for_each_list_item<'a>(s: &'a str, mut item: impl FnMut(&'a str) -> bool) -> bool {
    let bytes = s.as_bytes();
    let mut in_quotes = false;
    let mut depth = 0u32;
    let mut from = 0;
    let mut i = skip_plain(bytes, 0, &SPECIAL_COMMA);
    while i < bytes.len() {
        let b = bytes[i];
        if in_quotes {
            match b {
                b'\\' => i += 1,
                b'"' => in_quotes = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_quotes = true,
                b'<' => depth += 1,
                b'>' if depth == 0 => return false,
                b'>' => depth -= 1,
                b',' if depth == 0 => {
                    // a comma is ASCII, so `i` and `i + 1` are char boundaries
                    let element = trim_ws(&s[from..i]);
                    if !element.is_empty() && !item(element) {
                        return true;
                    }
                    from = i + 1;
                }
                _ => {}
            }
        }
        i = skip_plain(bytes, i + 1, &SPECIAL_COMMA);
    }
    if in_quotes || depth != 0 {
        return false;
    }
    let element = trim_ws(&s[from..]);
    if !element.is_empty() {
        item(element);
    }
    true
}

/// The decimal digits of `n`, written at the end of `buf`.
fn decimal(buf: &mut [u8; 10], mut n: u32) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Appends a decimal number without going through `fmt`.
pub(crate) fn push_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(decimal(&mut [0; 10], n));
}

/// Appends `bytes` in lower-case hex to a string.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// Appends `n` in decimal to a string.
pub fn push_u32_str(out: &mut String, n: u32) {
    // only ASCII digits were written
    out.push_str(std::str::from_utf8(decimal(&mut [0; 10], n)).unwrap_or("0"));
}

/// Appends a dotted IPv4 address (the formatter costs more than parsing the message did).
pub fn push_ipv4(out: &mut String, a: std::net::Ipv4Addr) {
    for (i, octet) in a.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_u32_str(out, u32::from(octet));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_takes_only_spaces_and_tabs() {
        for (input, trimmed) in [
            (" \t a b \t", "a b"),
            ("", ""),
            (" \t ", ""),
            ("é ", "é"),
            ("\r\nx", "\r\nx"),
        ] {
            assert_eq!(trim_ws(input), trimmed, "{input:?}");
        }
    }

    /// The elements of a list, `None` when it is not balanced.
    fn items(s: &str) -> Option<Vec<&str>> {
        let mut out = Vec::new();
        for_each_list_item(s, |i| {
            out.push(i);
            true
        })
        .then_some(out)
    }

    #[test]
    fn list_split_respects_quotes_and_brackets() {
        assert_eq!(
            items(r#""Doe, John" <sip:a@b;x=1,2>;tag=1 , <sip:c@d>,,"#).unwrap(),
            vec![r#""Doe, John" <sip:a@b;x=1,2>;tag=1"#, "<sip:c@d>"]
        );
    }

    #[test]
    fn items_of_a_balanced_list_are_balanced_when_brackets_nest() {
        // Found by the fuzzer: a comma between a nested `>` and the outer one split the value.
        let list = items(r#"a <b <c>, d>, e"#).unwrap();
        assert_eq!(list, vec!["a <b <c>, d>", "e"]);
        assert!(list.iter().all(|i| items(i).is_some()));
    }

    #[test]
    fn escaped_quote_stays_inside_string() {
        assert_eq!(items(r#""a\",b" <sip:x@y>, <sip:z@w>"#).unwrap().len(), 2);
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        let mut out = Vec::new();
        push_u32(&mut out, 0);
        out.push(b' ');
        push_u32(&mut out, 4294967295);
        assert_eq!(out, b"0 4294967295");
    }

    #[test]
    fn balance_check_finds_unclosed_parts() {
        assert!(items(r#""x" <sip:a@b>"#).is_some());
        assert!(items("<sip:a@b").is_none());
        assert!(items("\"abc").is_none());
        assert!(items("a>").is_none());
        assert!(items("a>, <b").is_none());
    }
}
