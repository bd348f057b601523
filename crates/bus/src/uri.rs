//! Small uri helpers for the router: percent-decoding and query parsing.
//!
//! Bus uris are relative (`/v1/calls/<id>?page_size=10`), so a full URL parser is not needed.

use std::borrow::Cow;

/// Decodes `%XX` escapes (and `+` as a space when `plus_as_space`); bad escapes stay as they are.
pub fn percent_decode(text: &str, plus_as_space: bool) -> Cow<'_, str> {
    if !(text.contains('%') || plus_as_space && text.contains('+')) {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => match (
                bytes.get(i + 1).and_then(hex),
                bytes.get(i + 2).and_then(hex),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_as_space => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(byte: &u8) -> Option<u8> {
    (*byte as char).to_digit(16).map(|digit| digit as u8)
}

/// The decoded `name=value` pairs of a query string, in order; `name` alone has an empty value.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(name, true).into_owned(),
                percent_decode(value, true).into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_plus() {
        assert_eq!(percent_decode("a%20b+c", true), "a b c");
        assert_eq!(percent_decode("a%20b+c", false), "a b+c");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%zz", true), "%zz");
    }

    #[test]
    fn parses_query_pairs() {
        assert_eq!(
            parse_query("page_size=10&page_token=2024-01-01+00%3A00&flag&&x="),
            [
                ("page_size".to_owned(), "10".to_owned()),
                ("page_token".to_owned(), "2024-01-01 00:00".to_owned()),
                ("flag".to_owned(), String::new()),
                ("x".to_owned(), String::new()),
            ]
        );
    }
}
