//! The limits and checks of customer and agent fields. Bodies are read field by field with
//! `voxbin_svc_kit::body::Body`, so every 400 names the field, as these checks do too.

use voxbin_core::Result;
use voxbin_svc_kit::body::invalid;

/// Longest name, detail, address or similar free text we keep.
pub const MAX_TEXT: usize = 10_000;

/// Longest single-line value (email, phone number, username).
pub const MAX_LINE: usize = 255;

/// Checks a webhook URI: empty, or an absolute http(s) URL with a host and no spaces.
pub fn check_webhook_uri(field: &str, uri: &str) -> Result<()> {
    if uri.is_empty() {
        return Ok(());
    }
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"));
    let ok = match rest {
        Some(rest) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty()
                && !host.starts_with(':')
                && !uri.chars().any(|c| c.is_whitespace() || c.is_control())
                && uri.len() <= 2048
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be an http:// or https:// URL, or empty",
        ))
    }
}

/// Checks a webhook method against the contract's enum (`""`, POST, GET, PUT, DELETE).
pub fn check_webhook_method(field: &str, method: &str) -> Result<()> {
    if ["", "POST", "GET", "PUT", "DELETE"].contains(&method) {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be one of \"\", POST, GET, PUT, DELETE",
        ))
    }
}

/// Checks an email address loosely: empty, or `local@domain` on one line.
pub fn check_email(field: &str, email: &str) -> Result<()> {
    if email.is_empty() {
        return Ok(());
    }
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if ok && email.len() <= MAX_LINE {
        Ok(())
    } else {
        Err(invalid(field, "must be an email address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_uri_and_email_rules() {
        for good in ["", "http://a.example", "https://a.example/x?y=1"] {
            check_webhook_uri("webhook_uri", good).unwrap();
        }
        for bad in [
            "ftp://a",
            "https://",
            "a.example",
            "https://a b",
            "javascript:x",
        ] {
            assert!(check_webhook_uri("webhook_uri", bad).is_err(), "{bad}");
        }
        check_email("email", "a@b.example").unwrap();
        assert!(check_email("email", "nope").is_err());
        assert!(check_webhook_method("webhook_method", "PATCH").is_err());
    }
}
