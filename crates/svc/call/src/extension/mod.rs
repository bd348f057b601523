//! Calls to and from the customers' extensions (registered phones).
//!
//! The SIP edge keeps each registered contact in the shared cache with a path (its own route
//! with the phone's flow token). A call to an extension (`sip:<name>@<customer_id>.registrar.
//! <sip.domain>`, or any user called by an authenticated extension, whose customer the edge
//! asserted in P-Asserted-Identity) is recorded, then each contact is dialled from the
//! caller's media node along its path, all at once; the first to answer is bridged with the
//! caller ([`chain`]). An unknown extension gets 404, one without a live registration 480,
//! both kept on record as failed calls. An extension calling an E.164 number goes out through
//! the customer's dial routes with the extension as caller id, bridged the same way.
//! `POST /calls` dials an `extension` destination (its name or id) at its contacts in turn.

mod chain;
pub mod plan;
mod store;

use serde_json::Value;
use uuid::Uuid;
use voxbin_bus::Method;
use voxbin_core::{clock, Error, ErrorKind, Result};
use voxbin_svc_kit::body::invalid;
use voxbin_svc_sipedge::bindings::Binding;

use crate::driver::ended;
use crate::media::Dial;
use crate::model::{Address, Call, Direction, HangupBy, HangupReason, Status};
use crate::routing::{display_name, source_of, target_of, Target};
use crate::State;

fn str_of<'a>(data: &'a Value, key: &str) -> &'a str {
    data.get(key).and_then(Value::as_str).unwrap_or("")
}

/// An extension as the registrar service knows it: realm and live contacts.
struct Callee {
    realm: String,
    contacts: Vec<Binding>,
}

/// The extension `name` of `customer` with its registered contacts, preferred first
/// (`Ok(None)` when there is no such extension).
async fn find(state: &State, customer: Uuid, name: &str) -> Result<Option<Callee>> {
    let escaped: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let uri = format!("/v1/extensions/by_username/{customer}/{escaped}/contacts");
    let answer = match state.bus.call("registrar", Method::Get, &uri, None).await {
        Ok(v) => v,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let contacts: Vec<Binding> = serde_json::from_value(answer["contacts"].clone())
        .map_err(|e| Error::internal(format!("contacts of extension {name}: {e}")))?;
    Ok(Some(Callee {
        realm: str_of(&answer, "realm").to_ascii_lowercase(),
        contacts: plan::by_preference(contacts),
    }))
}

/// Handles an incoming leg when it is a call to an extension, or from an extension to a
/// number; false when it is neither (the number routing takes it).
pub async fn inbound(state: &State, leg: Uuid, data: &Value) -> Result<bool> {
    let uri = str_of(data, "uri");
    let caller = plan::asserted(str_of(data, "pai"));
    let target = target_of(uri);
    if !matches!(
        (&target, &caller),
        (Target::Extension(_), _) | (Target::Number(_), Some(_))
    ) {
        return Ok(false);
    }
    let called = plan::customer_of(uri);
    let customer = match (caller.as_ref().map(|c| c.0), called) {
        (Some(from), Some(to)) if from != to => None,
        (Some(from), _) => Some(from),
        (None, Some(to)) => Some(to),
        (None, None) => return Ok(false),
    };
    let from = str_of(data, "from");
    let source = match &caller {
        Some((_, name)) => {
            let mut a = Address::new("extension", name.clone());
            a.target_name = display_name(from);
            a
        }
        None => source_of(from),
    };
    let destination = match &target {
        Target::Number(n) => Address::new("tel", n.clone()),
        Target::Extension(e) => Address::new("extension", e.clone()),
        Target::Unknown => Address::new("sip", uri),
    };
    let mut call = Call::new(
        leg,
        customer.unwrap_or(Uuid::nil()),
        Direction::Incoming,
        Status::Ringing,
        source,
        destination,
        str_of(data, "node_id").to_owned(),
        clock::now(),
    );
    let Some(customer) = customer else {
        // an extension of one customer calling into another's realm
        return refuse(state, call, 403, "Forbidden").await;
    };
    // the caller's realm, as the edge asserted it
    let realm = plan::host_of(str_of(data, "pai"));
    let (from_value, pai) = match &caller {
        Some((_, name)) => {
            let display = display_name(from).replace('"', "");
            let me = format!("<sip:{name}@{realm}>");
            let from_value = if display.is_empty() {
                me.clone()
            } else {
                format!("\"{display}\" {me}")
            };
            (from_value, Some(me))
        }
        None => (without_tag(from), None),
    };
    let forks = match &target {
        Target::Extension(name) => {
            let found = match find(state, customer, name).await {
                Ok(f) => f,
                Err(e) => return unavailable(state, call, e).await,
            };
            // a realm named in the request must be the extension's own
            let Some(callee) = found.filter(|c| called.is_none() || plan::host_of(uri) == c.realm)
            else {
                return refuse(state, call, 404, "Not Found").await;
            };
            if callee.contacts.is_empty() {
                return refuse(state, call, 480, "Temporarily Unavailable").await;
            }
            callee
                .contacts
                .iter()
                .map(|b| {
                    let d = plan::dial_contact(Uuid::nil(), b, &from_value, pai.as_deref());
                    vec![d]
                })
                .collect::<Vec<_>>()
        }
        Target::Number(_) => {
            let dest = call.destination.clone();
            match crate::outbound::dials_for(state, customer, &call.source, &dest, 0).await {
                Ok(attempts) if !attempts.is_empty() => vec![attempts],
                Ok(_) => return refuse(state, call, 404, "Not Found").await,
                Err(e) if e.kind == ErrorKind::InvalidArgument => {
                    tracing::info!(call = %leg, error = %e, "extension's call to a number not routed");
                    return refuse(state, call, 404, "Not Found").await;
                }
                Err(e) => return unavailable(state, call, e).await,
            }
        }
        Target::Unknown => return Ok(false),
    };
    let forks: Vec<(Call, Vec<Dial>)> = forks
        .into_iter()
        .map(|attempts| {
            let mut fork = Call::new(
                voxbin_core::id::new_id(),
                customer,
                Direction::Outgoing,
                Status::Dialing,
                call.source.clone(),
                call.destination.clone(),
                String::new(),
                clock::now(),
            );
            fork.master_call_id = leg;
            (fork, attempts)
        })
        .collect();
    call.chained_call_ids = forks.iter().map(|(f, _)| f.id).collect();
    // the caller waits for the first answer: that is its pending operation
    call.op_id = voxbin_core::id::new_id();
    chain::insert(state, &call).await?;
    chain::start(state, &call, forks).await?;
    Ok(true)
}

/// A From value without its tag (the callee leg gets a tag of its own).
fn without_tag(from: &str) -> String {
    from.split(';')
        .filter(|p| !p.trim_start().to_ascii_lowercase().starts_with("tag="))
        .collect::<Vec<_>>()
        .join(";")
}

/// Records `call` and refuses its leg with `code`: a failed call on record.
async fn refuse(state: &State, call: Call, code: u16, phrase: &str) -> Result<bool> {
    chain::insert(state, &call).await?;
    chain::reject(state, &call, code, phrase).await;
    ended(state, call.id, HangupBy::Local, HangupReason::Failed).await?;
    Ok(true)
}

/// Records `call`, refused with 503 because a dependency failed (`e`).
async fn unavailable(state: &State, call: Call, e: Error) -> Result<bool> {
    tracing::warn!(call = %call.id, error = %e, "extension call not routed");
    refuse(state, call, 503, "Service Unavailable").await
}

/// After `leg_answered` of call `call`: a chained call's answer joins it to its caller.
pub async fn answered(state: &State, call: &Call) -> Result<()> {
    match master_of(state, call).await? {
        Some(master) => chain::answered(state, call, master).await,
        None => Ok(()),
    }
}

/// The caller of chained call `call`, when this module chained them.
async fn master_of(state: &State, call: &Call) -> Result<Option<Call>> {
    if call.master_call_id.is_nil() || call.direction != Direction::Outgoing {
        return Ok(None);
    }
    let master = crate::store::get_any(state.db.writer(), call.master_call_id).await?;
    Ok(master.filter(chain::ours))
}

/// After `leg_hangup` (`data`) of call `id` was recorded: a callee's caller ends too, or is
/// refused once all its callees failed.
pub async fn hung_up(state: &State, id: Uuid, data: &Value) -> Result<()> {
    let Some(call) = crate::store::get_any(state.db.writer(), id).await? else {
        return Ok(());
    };
    if let Some(master) = master_of(state, &call).await? {
        let status = data.get("sip_status").and_then(Value::as_u64).unwrap_or(0);
        let cause = str_of(data, "hangup_reason");
        chain::fork_ended(state, &call, master, status, cause).await?;
    }
    Ok(())
}

/// The dial attempts of `POST /calls` destination `dest` of type `extension` (`field` names it
/// in errors): its contacts, preferred first. An unknown extension is a 400; one that is not
/// registered has no attempts (the call is placed and fails).
pub async fn dials(
    state: &State,
    customer: Uuid,
    source: &Address,
    dest: &Address,
    field: &str,
) -> Result<Vec<Dial>> {
    let name = match Uuid::parse_str(&dest.target) {
        Ok(id) => {
            let uri = format!("/v1/extensions/{id}?customer_id={customer}");
            match state.bus.call("registrar", Method::Get, &uri, None).await {
                Ok(ext) => str_of(&ext, "extension").to_owned(),
                Err(e) if e.kind == ErrorKind::NotFound => {
                    return Err(invalid(field, format!("no extension {id}")))
                }
                Err(e) => return Err(e),
            }
        }
        Err(_) => dest.target.clone(),
    };
    let found = match name.as_str() {
        "" => None,
        name => find(state, customer, name).await?,
    };
    let Some(callee) = found else {
        return Err(invalid(
            field,
            format!("no extension {:?} of this customer", dest.target),
        ));
    };
    let user = source.target.trim_start_matches("sip:");
    let user = user.split('@').next().filter(|u| !u.is_empty());
    let from = format!("<sip:{}@{}>", user.unwrap_or("anonymous"), callee.realm);
    Ok(callee
        .contacts
        .iter()
        .map(|b| plan::dial_contact(Uuid::nil(), b, &from, None))
        .collect())
}
