//! Resource identifiers: UUID v7, so that ids sort by creation time in indexes.

use uuid::Uuid;

/// A fresh time-ordered id for a new resource.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
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
    fn bad_id_is_invalid_argument() {
        let err = parse_id("flow_id", "nope").unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::InvalidArgument);
        assert!(err.message.contains("flow_id"));
    }
}
