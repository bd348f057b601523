//! RFC 3261 section 10.3 on a list of bindings: add, refresh, remove, wildcard unregister.
//!
//! Pure: the REGISTER has been authenticated and reduced to a [`RegisterChange`]; this decides
//! the new bindings or the error response, given the time and the configured bounds.

use crate::bindings::Binding;

/// One Contact of a REGISTER.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactSpec {
    /// The URI as sent (what is stored and returned).
    pub uri: String,
    /// The URI reduced for comparison (scheme, user, lower-case host, port, transport).
    pub key: String,
    /// The Contact's `expires` parameter.
    pub expires: Option<u32>,
    /// The Contact's `q` parameter.
    pub q: Option<f32>,
    /// The Contact's `+sip.instance` parameter.
    pub instance: Option<String>,
}

/// What a REGISTER asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactsAsked {
    /// No Contact: only a query of the current bindings.
    Query,
    /// `Contact: *` (only valid with `Expires: 0`).
    RemoveAll,
    /// These contacts.
    List(Vec<ContactSpec>),
}

/// An authenticated REGISTER, reduced to what the bindings need.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterChange {
    /// The contacts.
    pub contacts: ContactsAsked,
    /// The `Expires` header.
    pub expires_header: Option<u32>,
    /// Call-ID.
    pub call_id: String,
    /// CSeq number.
    pub cseq: u32,
    /// `<transport>:<ip>:<port>` the request came from.
    pub received: String,
    /// This edge node's `host:port`.
    pub edge: String,
    /// User-Agent.
    pub user_agent: Option<String>,
    /// The route to the phone through this edge node (see [`Binding::path`]).
    pub path: Option<String>,
}

/// Registration bounds from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Shortest registration accepted.
    pub min_expires: u32,
    /// Longest granted.
    pub max_expires: u32,
    /// Most contacts per address of record.
    pub max_contacts: usize,
}

/// Expiry when neither the Contact nor the request says (RFC 3261 suggests one hour).
const DEFAULT_EXPIRES: u32 = 3600;

/// Why a REGISTER is refused: its status, reason phrase and, for 423, the `Min-Expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// SIP status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: &'static str,
    /// `Min-Expires` value to send with a 423.
    pub min_expires: Option<u32>,
}

impl Refusal {
    fn new(status: u16, reason: &'static str) -> Refusal {
        Refusal {
            status,
            reason,
            min_expires: None,
        }
    }
}

/// Applies `change` to `bindings` at unix time `now`; on refusal `bindings` is unchanged.
pub fn apply(
    bindings: &mut Vec<Binding>,
    change: &RegisterChange,
    bounds: Bounds,
    now: u64,
) -> Result<(), Refusal> {
    bindings.retain(|b| b.expires_at > now);
    let list = match &change.contacts {
        ContactsAsked::Query => return Ok(()),
        ContactsAsked::RemoveAll => {
            if change.expires_header != Some(0) {
                return Err(Refusal::new(400, "Wildcard Contact Needs Expires 0"));
            }
            // A stale wildcard (older CSeq of the same Call-ID) must not wipe newer bindings.
            if bindings
                .iter()
                .any(|b| b.call_id == change.call_id && b.cseq >= change.cseq)
            {
                return Err(Refusal::new(400, "Out Of Order CSeq"));
            }
            bindings.clear();
            return Ok(());
        }
        ContactsAsked::List(list) => list,
    };
    let mut next = bindings.clone();
    for c in list {
        let asked = c
            .expires
            .or(change.expires_header)
            .unwrap_or(DEFAULT_EXPIRES);
        if asked != 0 && asked < bounds.min_expires {
            return Err(Refusal {
                status: 423,
                reason: "Interval Too Brief",
                min_expires: Some(bounds.min_expires),
            });
        }
        let granted = asked.min(bounds.max_expires);
        let existing = next.iter().position(|b| match (&b.instance, &c.instance) {
            (Some(a), Some(b2)) => a == b2,
            _ => contact_key_of(b) == c.key,
        });
        if let Some(i) = existing {
            let b = &next[i];
            if b.call_id == change.call_id && b.cseq >= change.cseq {
                return Err(Refusal::new(400, "Out Of Order CSeq"));
            }
            if granted == 0 {
                next.remove(i);
                continue;
            }
        } else if granted == 0 {
            continue;
        }
        let binding = Binding {
            uri: c.uri.clone(),
            expires_at: now + u64::from(granted),
            q: c.q,
            call_id: change.call_id.clone(),
            cseq: change.cseq,
            instance: c.instance.clone(),
            received: change.received.clone(),
            edge: change.edge.clone(),
            user_agent: change.user_agent.clone(),
            path: change.path.clone(),
        };
        match existing {
            Some(i) => next[i] = binding,
            None => next.push(binding),
        }
    }
    if next.len() > bounds.max_contacts {
        return Err(Refusal::new(403, "Too Many Contacts"));
    }
    *bindings = next;
    Ok(())
}

/// The comparison key of a stored binding, computed like [`ContactSpec::key`].
fn contact_key_of(b: &Binding) -> String {
    crate::registrar::contact_key(&b.uri)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registrar::contact_key;

    const BOUNDS: Bounds = Bounds {
        min_expires: 60,
        max_expires: 3600,
        max_contacts: 2,
    };

    fn contact(uri: &str, expires: Option<u32>) -> ContactSpec {
        ContactSpec {
            uri: uri.into(),
            key: contact_key(uri),
            expires,
            q: None,
            instance: None,
        }
    }

    fn change(contacts: ContactsAsked, expires: Option<u32>, cseq: u32) -> RegisterChange {
        RegisterChange {
            contacts,
            expires_header: expires,
            call_id: "reg-1".into(),
            cseq,
            received: "udp:192.0.2.1:5060".into(),
            edge: "127.0.0.1:5060".into(),
            user_agent: Some("test".into()),
            path: Some("<sip:127.0.0.1:5060;lr;ftok=u~192.0.2.1~5060~00>".into()),
        }
    }

    #[test]
    fn register_refresh_and_unregister_one_contact() {
        let mut b = Vec::new();
        let c = contact("sip:1001@192.0.2.1:5060", None);
        apply(
            &mut b,
            &change(ContactsAsked::List(vec![c.clone()]), Some(300), 1),
            BOUNDS,
            1000,
        )
        .unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].expires_at, 1300);
        assert!(b[0].path.as_deref().is_some_and(|p| p.contains(";ftok=")));
        // Refresh: same contact, higher CSeq, longer than allowed: shortened to the maximum.
        apply(
            &mut b,
            &change(ContactsAsked::List(vec![c.clone()]), Some(7200), 2),
            BOUNDS,
            1100,
        )
        .unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].expires_at, 1100 + 3600);
        // A replayed older REGISTER is refused.
        let stale = apply(
            &mut b,
            &change(ContactsAsked::List(vec![c.clone()]), Some(300), 2),
            BOUNDS,
            1100,
        );
        assert_eq!(stale.unwrap_err().status, 400);
        // Expires 0 on the Contact removes it.
        let gone = contact("sip:1001@192.0.2.1:5060", Some(0));
        apply(
            &mut b,
            &change(ContactsAsked::List(vec![gone]), None, 3),
            BOUNDS,
            1200,
        )
        .unwrap();
        assert!(b.is_empty());
    }

    #[test]
    fn multiple_contacts_up_to_the_bound() {
        let mut b = Vec::new();
        let two = vec![
            contact("sip:1001@192.0.2.1:5060", None),
            contact("sip:1001@192.0.2.2:5060;transport=tcp", Some(120)),
        ];
        apply(
            &mut b,
            &change(ContactsAsked::List(two), Some(600), 1),
            BOUNDS,
            0,
        )
        .unwrap();
        assert_eq!(
            b.iter().map(|x| x.expires_at).collect::<Vec<_>>(),
            vec![600, 120]
        );
        let third = vec![contact("sip:1001@192.0.2.3:5060", None)];
        let e = apply(
            &mut b,
            &change(ContactsAsked::List(third), None, 2),
            BOUNDS,
            1,
        )
        .unwrap_err();
        assert_eq!(e.status, 403);
        assert_eq!(b.len(), 2, "a refused REGISTER changes nothing");
        // A query returns the bindings untouched.
        apply(&mut b, &change(ContactsAsked::Query, None, 3), BOUNDS, 1).unwrap();
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn too_brief_is_423_with_min_expires() {
        let mut b = Vec::new();
        let e = apply(
            &mut b,
            &change(
                ContactsAsked::List(vec![contact("sip:a@192.0.2.1", None)]),
                Some(10),
                1,
            ),
            BOUNDS,
            0,
        )
        .unwrap_err();
        assert_eq!((e.status, e.min_expires), (423, Some(60)));
    }

    #[test]
    fn wildcard_removes_everything_only_with_expires_zero() {
        let mut b = Vec::new();
        let c = vec![contact("sip:a@192.0.2.1", None)];
        apply(&mut b, &change(ContactsAsked::List(c), None, 1), BOUNDS, 0).unwrap();
        let e = apply(
            &mut b,
            &change(ContactsAsked::RemoveAll, Some(60), 2),
            BOUNDS,
            0,
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        apply(
            &mut b,
            &change(ContactsAsked::RemoveAll, Some(0), 2),
            BOUNDS,
            0,
        )
        .unwrap();
        assert!(b.is_empty());
    }

    #[test]
    fn an_instance_id_matches_a_device_across_addresses() {
        let mut b = Vec::new();
        let mut c = contact("sip:a@192.0.2.1:5060", None);
        c.instance = Some("<urn:uuid:00000000-0000-0000-0000-000000000001>".into());
        apply(
            &mut b,
            &change(ContactsAsked::List(vec![c.clone()]), None, 1),
            BOUNDS,
            0,
        )
        .unwrap();
        // The phone moved networks: new address, same instance, replaces the old binding.
        c.uri = "sip:a@198.51.100.7:5060".into();
        c.key = contact_key(&c.uri);
        apply(
            &mut b,
            &change(ContactsAsked::List(vec![c]), None, 2),
            BOUNDS,
            0,
        )
        .unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].uri, "sip:a@198.51.100.7:5060");
    }
}
