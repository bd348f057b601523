//! `FromStr` and `Display` for values read from and written as header text, so each such type
//! reads through its own `parse` and prints through its own `write`, and nothing else.

/// Implements `FromStr` by `<$t>::parse` and `Display` by `<$t>::write` into a `String` with
/// room for `$room` bytes.
macro_rules! text_form {
    ($t:ty, $room:expr) => {
        impl std::str::FromStr for $t {
            type Err = crate::error::ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::parse(s)
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut s = String::with_capacity($room);
                self.write(&mut s);
                f.write_str(&s)
            }
        }
    };
}

pub(crate) use text_form;
