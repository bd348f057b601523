//! Versioned values: a copy that carries the version of the row it was made from, so that a
//! write of an older version never replaces a newer one, whatever order writers arrive in.
//!
//! Layout: the version as 20 ASCII digits, `|`, then the payload. Fixed-width decimal lets the
//! Redis side compare versions in a short Lua script without decoding the payload.

/// Width of the version prefix (u64::MAX has 20 digits).
const DIGITS: usize = 20;

/// `payload` stored at `version`.
pub fn encode(version: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(DIGITS + 1 + payload.len());
    out.extend_from_slice(format!("{version:020}|").as_bytes());
    out.extend_from_slice(payload);
    out
}

/// The version and payload of a stored value; `None` when it is not a versioned value.
pub fn decode(bytes: &[u8]) -> Option<(u64, &[u8])> {
    if bytes.len() <= DIGITS || bytes[DIGITS] != b'|' {
        return None;
    }
    let digits = std::str::from_utf8(&bytes[..DIGITS]).ok()?;
    let version = digits.parse::<u64>().ok()?;
    Some((version, &bytes[DIGITS + 1..]))
}

/// Whether `stored` (a versioned value, or anything else) may be replaced by `version`.
pub fn replaceable(stored: &[u8], version: u64) -> bool {
    match decode(stored) {
        Some((current, _)) => version > current,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders() {
        let v = encode(42, b"{\"a\":1}");
        assert_eq!(decode(&v), Some((42, &b"{\"a\":1}"[..])));
        assert!(replaceable(&v, 43));
        assert!(!replaceable(&v, 42));
        assert!(!replaceable(&v, 7));
        assert!(replaceable(b"plain", 0));
        assert_eq!(decode(b"12|x"), None);
        assert_eq!(decode(&encode(u64::MAX, b"")), Some((u64::MAX, &b""[..])));
        assert_eq!(decode(&encode(u64::MAX, b"x")), Some((u64::MAX, &b"x"[..])));
    }
}
