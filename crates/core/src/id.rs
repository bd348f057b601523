//! Resource identifiers: UUID v7, so that ids sort by creation time in indexes.

use uuid::Uuid;

/// A fresh time-ordered id for a new resource.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// The `n`-th id derived from `seed` (a delivery id): the same inputs give the same id, so a
/// redelivered create makes the same row again instead of a second one. When `seed` is itself
/// a v7 UUID its timestamp is kept, so derived ids sort like fresh ones.
pub fn derived_id(seed: &str, n: u32) -> Uuid {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(seed.as_bytes());
    hasher.update(n.to_be_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    let time = match Uuid::try_parse(seed) {
        Ok(seed) if seed.get_version_num() == 7 => seed.as_bytes()[..6].to_vec(),
        _ => Uuid::now_v7().as_bytes()[..6].to_vec(),
    };
    bytes[..6].copy_from_slice(&time);
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// Parses a textual UUID from user input; the error names the field.
pub fn parse_id(field: &str, text: &str) -> crate::Result<Uuid> {
    Uuid::parse_str(text).map_err(|_| {
        crate::Error::invalid_argument(
            "INVALID_ID",
            format!("{field} is not a valid UUID: {text:?}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_ordered() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.get_version_num(), 7);
        assert!(a < b);
    }

    #[test]
    fn derived_ids_are_stable_v7_and_keep_the_seed_time() {
        let seed = new_id().simple().to_string();
        let a = derived_id(&seed, 0);
        assert_eq!(a, derived_id(&seed, 0));
        assert_ne!(a, derived_id(&seed, 1));
        assert_eq!(a.get_version_num(), 7);
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
        let seed_uuid = Uuid::try_parse(&seed).unwrap();
        assert_eq!(a.as_bytes()[..6], seed_uuid.as_bytes()[..6]);
    }

    #[test]
    fn bad_id_is_invalid_argument() {
        let err = parse_id("flow_id", "nope").unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::InvalidArgument);
        assert!(err.message.contains("flow_id"));
    }
}
