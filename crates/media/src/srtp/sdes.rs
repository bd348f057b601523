//! The SDES `a=crypto` attribute (RFC 4568): `<tag> <suite> inline:<base64 key||salt>[|...]`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::{Suite, MASTER_KEY_LEN, MASTER_SALT_LEN};

/// A master key and salt, as carried in one `inline:` key parameter.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    /// The 128-bit master key.
    pub key: [u8; MASTER_KEY_LEN],
    /// The 112-bit master salt.
    pub salt: [u8; MASTER_SALT_LEN],
}

impl std::fmt::Debug for MasterKey {
    // keys never reach logs
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// A fresh random master key and salt.
    pub fn random() -> MasterKey {
        let mut m = MasterKey {
            key: [0; MASTER_KEY_LEN],
            salt: [0; MASTER_SALT_LEN],
        };
        rand::fill(&mut m.key);
        rand::fill(&mut m.salt);
        m
    }

    /// The `inline:` value: base64 of key || salt.
    pub fn to_inline(&self) -> String {
        let mut raw = [0u8; MASTER_KEY_LEN + MASTER_SALT_LEN];
        raw[..MASTER_KEY_LEN].copy_from_slice(&self.key);
        raw[MASTER_KEY_LEN..].copy_from_slice(&self.salt);
        STANDARD.encode(raw)
    }
}

/// One parsed `a=crypto` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoAttribute {
    /// The tag the answer must echo.
    pub tag: u32,
    /// The suite.
    pub suite: Suite,
    /// The first key parameter's key and salt.
    pub master: MasterKey,
}

impl CryptoAttribute {
    /// Parses an `a=crypto` value. `None` for unknown suites, malformed keys, keys with an MKI
    /// (we send no MKI field) and session parameters we do not implement.
    pub fn parse(value: &str) -> Option<CryptoAttribute> {
        let mut parts = value.split_ascii_whitespace();
        let tag = parts.next()?.parse().ok()?;
        let suite = Suite::from_name(parts.next()?)?;
        let key_params = parts.next()?;
        // session parameters (KDR, UNENCRYPTED_SRTP, ...) change the packet format: refuse
        if parts.next().is_some() {
            return None;
        }
        let first = key_params.split(';').next()?;
        let inline = first.strip_prefix("inline:")?;
        let mut fields = inline.split('|');
        let b64 = fields.next()?;
        for f in fields {
            // a lifetime ("2^31" or a number) is fine; an MKI ("1:4") is not supported
            if f.contains(':') {
                return None;
            }
        }
        let raw = STANDARD.decode(b64).ok()?;
        if raw.len() != MASTER_KEY_LEN + MASTER_SALT_LEN {
            return None;
        }
        let mut master = MasterKey {
            key: [0; MASTER_KEY_LEN],
            salt: [0; MASTER_SALT_LEN],
        };
        master.key.copy_from_slice(&raw[..MASTER_KEY_LEN]);
        master.salt.copy_from_slice(&raw[MASTER_KEY_LEN..]);
        Some(CryptoAttribute { tag, suite, master })
    }

    /// The attribute value without the tag, as [`crate::sdp::LocalMedia::crypto`] holds it.
    pub fn untagged(suite: Suite, master: &MasterKey) -> String {
        format!("{} inline:{}", suite.name(), master.to_inline())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc4568_example_and_round_trips() {
        let a = CryptoAttribute::parse(
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20",
        )
        .unwrap();
        assert_eq!(a.tag, 1);
        assert_eq!(a.suite, Suite::AesCm128HmacSha1_80);
        let again = CryptoAttribute::parse(&format!(
            "7 {}",
            CryptoAttribute::untagged(a.suite, &a.master)
        ))
        .unwrap();
        assert_eq!(again.master, a.master);
        assert_eq!(again.tag, 7);
    }

    #[test]
    fn refuses_unknown_suite_bad_key_and_mki() {
        assert!(CryptoAttribute::parse(
            "1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
        )
        .is_none());
        assert!(CryptoAttribute::parse("1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=").is_none());
        assert!(CryptoAttribute::parse("1 AES_CM_128_HMAC_SHA1_80 inline:!!!").is_none());
        assert!(CryptoAttribute::parse(
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"
        )
        .is_none());
        assert!(CryptoAttribute::parse("x AES_CM_128_HMAC_SHA1_80").is_none());
        assert!(CryptoAttribute::parse("").is_none());
    }

    #[test]
    fn random_keys_differ() {
        assert_ne!(MasterKey::random(), MasterKey::random());
    }
}
