//! Caller id of outgoing calls (`POST /v1/calls`, the `call` and `connect` flow actions): which
//! source is shown, and the `anonymous` option (RFC 3323: `Privacy: id` with an anonymous
//! From, the real identity kept in P-Asserted-Identity for the carrier).
//!
//! Rules (contract `CallManagerOutboundConfig.default_outgoing_source_number_id`: the
//! customer's number is the caller id "when an outgoing tel call has no valid caller-supplied
//! source"): a `tel` source must be E.164 (else 400 naming `source.target`); one the customer
//! does not own, or none at all, is replaced by a number the customer owns; a customer without
//! numbers keeps what was given (none: `anonymous`). `anonymous` only changes calls to `tel`
//! destinations, as the contract says; `auto` follows the master call's caller (anonymous
//! when its From was), and is `no` for a call without a master.

use serde_json::Value;
use uuid::Uuid;
use voxbin_bus::Method;
use voxbin_core::{ErrorKind, Result};
use voxbin_svc_kit::body::{invalid, is_e164};

use crate::media::Dial;
use crate::model::Address;
use crate::State;

/// The user part of the From of a call without a caller id.
pub const ANONYMOUS_USER: &str = "anonymous";

/// The `anonymous` option of `POST /calls`, `call` and `connect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Anonymous {
    /// Always hide the caller id.
    Yes,
    /// Never hide it.
    No,
    /// Hide it when the master call's caller hid theirs (the default).
    #[default]
    Auto,
}

impl Anonymous {
    /// The option at `field` of `body` (absent or null: `auto`); 400 naming it otherwise.
    pub fn of(body: Option<&Value>, field: &str) -> Result<Anonymous> {
        match body.and_then(|b| b.get(field)) {
            None | Some(Value::Null) => Ok(Anonymous::Auto),
            Some(Value::String(s)) => match s.as_str() {
                "yes" => Ok(Anonymous::Yes),
                "no" => Ok(Anonymous::No),
                "auto" | "" => Ok(Anonymous::Auto),
                other => Err(invalid(field, format!("{other:?} is not yes, no or auto"))),
            },
            Some(_) => Err(invalid(field, "must be yes, no or auto")),
        }
    }

    /// Whether the caller id is hidden, given the master call's source (if any).
    pub fn hides(self, master_source: Option<&Address>) -> bool {
        match self {
            Anonymous::Yes => true,
            Anonymous::No => false,
            Anonymous::Auto => master_source.is_some_and(is_anonymous),
        }
    }

    /// The wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            Anonymous::Yes => "yes",
            Anonymous::No => "no",
            Anonymous::Auto => "auto",
        }
    }
}

/// True for a caller that withheld their identity (From user or name `anonymous`).
pub fn is_anonymous(a: &Address) -> bool {
    let user = a
        .target
        .trim_start_matches("sips:")
        .trim_start_matches("sip:");
    let user = user.split('@').next().unwrap_or("");
    user.eq_ignore_ascii_case(ANONYMOUS_USER) || a.target_name.eq_ignore_ascii_case(ANONYMOUS_USER)
}

/// The source as given: type `tel`, `sip`, `extension` or none; a `tel` target in E.164.
/// `field` names the source in errors (`source`, `option.source`).
pub fn check_source(source: &Address, field: &str) -> Result<()> {
    match source.kind.as_str() {
        "" | "sip" | "extension" => Ok(()),
        "tel" if is_e164(&source.target) => Ok(()),
        "tel" => Err(invalid(
            &format!("{field}.target"),
            format!(
                "{:?} is not an E.164 number (+ and 7 to 15 digits)",
                source.target
            ),
        )),
        other => Err(invalid(
            &format!("{field}.type"),
            format!("{other:?}: a caller id is a tel, sip or extension address"),
        )),
    }
}

/// The source a call of `customer` shows: `source` when it is a number the customer owns (or
/// not a number), else a number of the customer's, else `source` unchanged.
pub async fn effective_source(state: &State, customer: Uuid, source: &Address) -> Result<Address> {
    if !source.kind.is_empty() && source.kind != "tel" {
        return Ok(source.clone());
    }
    if source.kind == "tel" && owns(state, customer, &source.target).await? {
        return Ok(source.clone());
    }
    match a_number_of(state, customer).await? {
        Some(n) => Ok(Address {
            target_name: source.target_name.clone(),
            ..Address::new("tel", n)
        }),
        None => Ok(source.clone()),
    }
}

/// Whether `number` is one of `customer`'s numbers.
async fn owns(state: &State, customer: Uuid, number: &str) -> Result<bool> {
    let uri = format!("/v1/numbers/by_number/{}", number.replace('+', "%2B"));
    match state.bus.call("number", Method::Get, &uri, None).await {
        Ok(n) => Ok(n.get("customer_id").and_then(Value::as_str) == Some(&customer.to_string())),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// One of `customer`'s numbers (the first listed), if they have any.
async fn a_number_of(state: &State, customer: Uuid) -> Result<Option<String>> {
    let uri = format!("/v1/numbers?customer_id={customer}&page_size=1");
    let page = state.bus.call("number", Method::Get, &uri, None).await?;
    Ok(page["result"]
        .as_array()
        .and_then(|r| r.first())
        .and_then(|n| n.get("number"))
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// Puts the caller id of `source` on `dial` (its From, and for a hidden id on a call to a
/// number: an anonymous From, `Privacy: id` and the real identity in P-Asserted-Identity).
pub fn apply(dial: &mut Dial, source: &Address, hide: bool, to_tel: bool) {
    let user = source
        .target
        .trim_start_matches("sips:")
        .trim_start_matches("sip:");
    let user = user.split('@').next().unwrap_or("").trim();
    let user = if user.is_empty() {
        ANONYMOUS_USER
    } else {
        user
    };
    let name = source.target_name.replace(['"', '\\', '\r', '\n'], "");
    dial.headers.retain(|(k, _)| {
        !k.eq_ignore_ascii_case("privacy") && !k.eq_ignore_ascii_case("p-asserted-identity")
    });
    if hide && to_tel {
        dial.from = format!("\"Anonymous\" <sip:{ANONYMOUS_USER}@anonymous.invalid>");
        dial.headers.push(("Privacy".into(), "id".into()));
        if user != ANONYMOUS_USER {
            dial.headers.push((
                "P-Asserted-Identity".into(),
                format!("<sip:{user}@voxbin.invalid>"),
            ));
        }
        return;
    }
    dial.from = if name.is_empty() {
        format!("<sip:{user}@voxbin.invalid>")
    } else {
        format!("\"{name}\" <sip:{user}@voxbin.invalid>")
    };
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    fn dial() -> Dial {
        Dial {
            id: Uuid::nil(),
            uri: "sip:+15557654321@carrier.example".into(),
            proxy: None,
            from: String::new(),
            headers: vec![("X-Tech".into(), "1".into())],
            auth: None,
        }
    }

    #[test]
    fn the_option_reads_yes_no_auto_and_refuses_the_rest() {
        assert_eq!(Anonymous::of(None, "anonymous").unwrap(), Anonymous::Auto);
        let b = json!({"anonymous": "yes"});
        assert_eq!(
            Anonymous::of(Some(&b), "anonymous").unwrap(),
            Anonymous::Yes
        );
        let b = json!({"anonymous": "no"});
        assert_eq!(Anonymous::of(Some(&b), "anonymous").unwrap(), Anonymous::No);
        let b = json!({"anonymous": "maybe"});
        let e = Anonymous::of(Some(&b), "anonymous").unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert!(e.message.starts_with("anonymous "), "{}", e.message);
        let b = json!({"anonymous": true});
        assert!(Anonymous::of(Some(&b), "anonymous").is_err());
    }

    #[test]
    fn auto_follows_the_master_callers_privacy() {
        let hidden = Address::new("sip", "sip:anonymous@anonymous.invalid");
        let shown = Address::new("tel", "+15550199");
        assert!(Anonymous::Auto.hides(Some(&hidden)));
        assert!(!Anonymous::Auto.hides(Some(&shown)));
        assert!(!Anonymous::Auto.hides(None));
        assert!(Anonymous::Yes.hides(None));
        assert!(!Anonymous::No.hides(Some(&hidden)));
        let named = Address {
            target_name: "Anonymous".into(),
            ..Address::new("tel", "+15550199")
        };
        assert!(is_anonymous(&named));
    }

    #[test]
    fn a_tel_source_must_be_e164_and_odd_types_are_refused() {
        check_source(&Address::new("tel", "+15550100"), "source").unwrap();
        check_source(&Address::default(), "source").unwrap();
        check_source(&Address::new("sip", "sip:alice@example.com"), "source").unwrap();
        let e = check_source(&Address::new("tel", "5550100"), "source").unwrap_err();
        assert!(e.message.starts_with("source.target "), "{}", e.message);
        let e = check_source(&Address::new("email", "a@b.c"), "source").unwrap_err();
        assert!(e.message.starts_with("source.type "), "{}", e.message);
    }

    #[test]
    fn a_hidden_caller_id_to_a_number_is_anonymous_with_privacy_id() {
        let mut d = dial();
        apply(&mut d, &Address::new("tel", "+15550100"), true, true);
        assert_eq!(d.from, "\"Anonymous\" <sip:anonymous@anonymous.invalid>");
        assert!(d.headers.contains(&("Privacy".into(), "id".into())));
        assert!(d.headers.contains(&(
            "P-Asserted-Identity".into(),
            "<sip:+15550100@voxbin.invalid>".into()
        )));
        assert!(d.headers.contains(&("X-Tech".into(), "1".into())));
    }

    #[test]
    fn a_shown_caller_id_or_a_sip_destination_keeps_the_number() {
        let mut d = dial();
        let src = Address {
            target_name: "Ac\"me".into(),
            ..Address::new("tel", "+15550100")
        };
        apply(&mut d, &src, false, true);
        assert_eq!(d.from, "\"Acme\" <sip:+15550100@voxbin.invalid>");
        assert!(!d.headers.iter().any(|(k, _)| k == "Privacy"));
        let mut d = dial();
        apply(&mut d, &Address::new("tel", "+15550100"), true, false);
        assert_eq!(d.from, "<sip:+15550100@voxbin.invalid>");
        let mut d = dial();
        apply(&mut d, &Address::default(), false, true);
        assert_eq!(d.from, "<sip:anonymous@voxbin.invalid>");
        let mut d = dial();
        apply(
            &mut d,
            &Address::new("sip", "sip:alice@example.com"),
            false,
            false,
        );
        assert_eq!(d.from, "<sip:alice@voxbin.invalid>");
    }
}
