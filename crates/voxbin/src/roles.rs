//! The roles one process can run and how they are validated.

use voxbin_services::SERVICES;

/// Roles that are not bus services of the services crate.
const EDGE_ROLES: &[(&str, &str)] = &[
    (
        "api",
        "REST API v1.0 gateway, websocket events, audiosocket",
    ),
    (
        "sip-edge",
        "SIP edge: registrar, authentication, routing to media nodes",
    ),
    (
        "media",
        "media engine: call legs, playback, recording, conferences",
    ),
    ("rtp-relay", "RTP relay for NAT traversal and codec edge"),
];

/// Every role name with a one-line description.
pub fn all() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = EDGE_ROLES
        .iter()
        .map(|(n, d)| (n.to_string(), d.to_string()))
        .collect();
    v.extend(
        SERVICES
            .iter()
            .map(|s| (s.to_string(), format!("{s} service (bus handlers)"))),
    );
    v
}

/// The roles to run: all of them when none are named; an unknown name is an error.
pub fn resolve(named: &[String]) -> Result<Vec<String>, String> {
    let known = all();
    if named.is_empty() {
        return Ok(known.into_iter().map(|(n, _)| n).collect());
    }
    let mut out: Vec<String> = Vec::new();
    for n in named {
        if !known.iter().any(|(k, _)| k == n) {
            let names: Vec<&str> = known.iter().map(|(k, _)| k.as_str()).collect();
            return Err(format!(
                "unknown role {n:?}; known roles: {}",
                names.join(", ")
            ));
        }
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    Ok(out)
}

/// Whether this role is a bus service.
pub fn is_service(role: &str) -> bool {
    SERVICES.contains(&role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_all_and_unknown_is_refused() {
        assert!(resolve(&[]).unwrap().len() > 10);
        assert_eq!(
            resolve(&["api".into(), "api".into(), "flow".into()]).unwrap(),
            vec!["api", "flow"]
        );
        assert!(resolve(&["nope".into()]).unwrap_err().contains("nope"));
    }
}
