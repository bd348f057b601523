//! Comparing Contact URIs the way a registrar must (RFC 3261 section 19.1.4, simplified).
//!
//! Two contacts name the same binding when scheme, user, host (case-insensitively), port and
//! transport agree; other URI parameters do not make a new binding.

/// The comparison key of a Contact URI given as text (`<...>` brackets allowed).
pub fn contact_key(uri: &str) -> String {
    let uri = uri.trim().trim_start_matches('<').trim_end_matches('>');
    let (scheme, rest) = uri.split_once(':').unwrap_or(("sip", uri));
    let (main, params) = match rest.split_once(';') {
        Some((m, p)) => (m, p),
        None => (rest, ""),
    };
    // URI headers (`?x=y`) never take part.
    let main = main.split('?').next().unwrap_or(main);
    let (user, hostport) = match main.rsplit_once('@') {
        Some((u, h)) => (u.split(':').next().unwrap_or(u), h),
        None => ("", main),
    };
    let transport = params
        .split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("transport"))
        .map(|(_, v)| v.split('?').next().unwrap_or(v).trim().to_ascii_lowercase())
        .unwrap_or_default();
    format!(
        "{}:{user}@{};{transport}",
        scheme.to_ascii_lowercase(),
        hostport.to_ascii_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_contacts_have_equal_keys() {
        assert_eq!(
            contact_key("<sip:1001@Phone.Example:5060;transport=UDP;ob>"),
            contact_key("SIP:1001@phone.example:5060;transport=udp")
        );
        assert_ne!(
            contact_key("sip:1001@phone.example:5060"),
            contact_key("sip:1001@phone.example:5062")
        );
        assert_ne!(
            contact_key("sip:1001@phone.example"),
            contact_key("sip:1001@phone.example;transport=tcp")
        );
        assert_ne!(
            contact_key("sip:1001@phone.example"),
            contact_key("sip:1002@phone.example")
        );
        assert_eq!(
            contact_key("sip:1001:secret@[2001:db8::1]:5060"),
            contact_key("sip:1001@[2001:DB8::1]:5060")
        );
    }
}
