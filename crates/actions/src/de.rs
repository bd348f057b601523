//! Serde helpers for option fields: lenient about the empty forms Go clients send (`""`, the nil
//! UUID, `null`), strict about everything else.

use crate::option::IdRef;
use serde::de::{DeserializeOwned, Error as _, IntoDeserializer};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A string value, where `null` and `""` mean absent.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// An enum given by its wire string; `null` and `""` mean absent.
pub(crate) fn opt_enum<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match opt_string(d)? {
        None => Ok(None),
        Some(s) => T::deserialize(IntoDeserializer::<D::Error>::into_deserializer(s)).map(Some),
    }
}

fn parse_uuid<E: serde::de::Error>(s: &str) -> Result<Uuid, E> {
    Uuid::parse_str(s).map_err(|_| E::custom(format!("invalid UUID {s:?}")))
}

/// An action id (jump target); `null`, `""` and the nil UUID mean absent.
pub(crate) fn opt_target<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
    match opt_string(d)? {
        None => Ok(None),
        Some(s) => Ok(Some(parse_uuid::<D::Error>(&s)?).filter(|u| !u.is_nil())),
    }
}

/// A required action id (jump target).
pub(crate) fn target<'de, D: Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
    opt_target(d)?.ok_or_else(|| D::Error::custom("must be an action id, not empty"))
}

/// A map of branch values to action ids.
pub(crate) fn target_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Uuid>, D::Error> {
    let raw = Option::<BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default();
    raw.into_iter()
        .map(|(k, v)| {
            let id = Uuid::parse_str(&v)
                .map_err(|_| D::Error::custom(format!("invalid UUID {v:?} for value {k:?}")))?;
            Ok((k, id))
        })
        .collect()
}

/// A resource id or `${variable}`; `null`, `""` and the nil UUID mean absent.
pub(crate) fn opt_ref<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IdRef>, D::Error> {
    match opt_string(d)? {
        None => Ok(None),
        Some(s) => IdRef::parse(&s)
            .map(|r| r.filter_nil())
            .map_err(D::Error::custom),
    }
}

/// A required resource id or `${variable}`.
pub(crate) fn req_ref<'de, D: Deserializer<'de>>(d: D) -> Result<IdRef, D::Error> {
    opt_ref(d)?.ok_or_else(|| D::Error::custom("must be a UUID or a ${variable}, not empty"))
}
