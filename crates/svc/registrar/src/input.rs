//! The registrar's own input checks (SIP user names and passwords); bodies are read with
//! `voxbin_svc_kit::body`, whose refusals these share.

use voxbin_core::Result;
use voxbin_svc_kit::body::invalid;

/// Checks a SIP password: 1 to 128 characters, no control characters (they cannot be typed
/// into a phone and would corrupt the digest input).
pub fn check_password(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if value.chars().count() > 128 {
        return Err(invalid(field, "must be at most 128 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// Checks a SIP user name: 1 to 64 characters of `A-Z a-z 0-9 . _ ~ + -` (the unreserved user
/// part of a SIP URI that needs no escaping, and no `:` that would blur the HA1 input).
pub fn check_sip_user(field: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > 64 {
        return Err(invalid(field, "must be 1 to 64 characters"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'+' | b'-'))
    {
        return Err(invalid(
            field,
            "may contain only letters, digits and . _ ~ + -",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_user_names_are_plain_uri_user_parts() {
        for good in ["1001", "alice", "a.b_c~d+e-f", "X"] {
            check_sip_user("extension", good).unwrap();
        }
        for bad in ["", "a:b", "a b", "a@b", "é", &"1".repeat(65)] {
            let err = check_sip_user("extension", bad).unwrap_err();
            assert!(err.message.starts_with("extension"), "{bad}: {err}");
        }
    }

    #[test]
    fn passwords_are_non_empty_printable() {
        check_password("password", "s3cur3P@ss word").unwrap();
        for bad in ["", "a\nb", &"x".repeat(129)] {
            assert!(check_password("password", bad).is_err(), "{bad:?}");
        }
    }
}
