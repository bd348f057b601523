//! Password hashing: argon2id PHC strings, computed off the async runtime.
//!
//! Hashes use argon2's defaults (argon2id v19, 19 MiB, 2 passes: the OWASP minimum) unless a
//! test asks for cheaper ones. Verification reads the parameters from the stored string, so a
//! change of defaults keeps old hashes valid. For an unknown username, [`Hasher::verify_dummy`]
//! spends the same time on a hash made with the same parameters, so response times do not
//! tell which usernames exist.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::OnceCell;
use voxbin_core::{Error, Result};

use voxbin_svc_kit::body::invalid;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Longest password accepted (bounds the hashing work an attacker can ask for).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Hashes and verifies passwords with fixed argon2id parameters.
pub struct Hasher {
    params: Params,
    dummy: OnceCell<String>,
}

impl Hasher {
    /// A hasher with argon2's recommended parameters.
    pub fn new() -> Hasher {
        Hasher::with_params(Params::default())
    }

    /// A hasher with explicit parameters (cheap ones keep debug-build tests fast).
    pub fn with_params(params: Params) -> Hasher {
        Hasher {
            params,
            dummy: OnceCell::new(),
        }
    }

    /// Cheap parameters for tests: 8 KiB, one pass.
    #[cfg(test)]
    pub fn for_tests() -> Hasher {
        match Params::new(Params::MIN_M_COST, 1, 1, None) {
            Ok(params) => Hasher::with_params(params),
            Err(_) => Hasher::new(),
        }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// The PHC string of `password` with a fresh random salt.
    pub async fn hash(&self, password: &str) -> Result<String> {
        let argon2 = self.argon2();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            argon2
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| Error::internal(format!("cannot hash a password: {e}")))
        })
        .await
        .map_err(|e| Error::internal(format!("password hashing task failed: {e}")))?
    }

    /// True when `password` matches the PHC string `phc`; a malformed hash never matches.
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool> {
        let argon2 = self.argon2();
        let password = password.to_owned();
        let phc = phc.to_owned();
        tokio::task::spawn_blocking(move || {
            argon2
                .verify_password(password.as_bytes(), phc.as_str())
                .is_ok()
        })
        .await
        .map_err(|e| Error::internal(format!("password check task failed: {e}")))
    }

    /// Spends the time of one verification without a real hash (unknown usernames).
    pub async fn verify_dummy(&self, password: &str) -> Result<()> {
        let dummy = self
            .dummy
            .get_or_try_init(|| self.hash("voxbin-dummy-password"))
            .await?;
        let _ = self.verify(password, dummy).await?;
        Ok(())
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::new()
    }
}

/// Checks a new password: 8 to 128 characters.
pub fn check_password(field: &str, password: &str) -> Result<()> {
    let chars = password.chars().count();
    if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
        ))
    }
}

/// Trims a username and checks it: 1 to 255 characters, no whitespace or control characters.
pub fn normalize_username(field: &str, username: &str) -> Result<String> {
    let username = username.trim();
    let chars = username.chars().count();
    if chars == 0 || chars > 255 {
        return Err(invalid(field, "must be 1 to 255 characters"));
    }
    if username
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid(field, "must not contain spaces"));
    }
    Ok(username.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_only_the_right_password() {
        let hasher = Hasher::for_tests();
        let phc = hasher.hash("correct horse").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(hasher.verify("correct horse", &phc).await.unwrap());
        assert!(!hasher.verify("wrong horse", &phc).await.unwrap());
        assert!(!hasher.verify("x", "not a hash").await.unwrap());
        hasher.verify_dummy("anything").await.unwrap();
    }

    #[test]
    fn password_and_username_rules() {
        assert!(check_password("password", "short").is_err());
        assert!(check_password("password", &"x".repeat(129)).is_err());
        check_password("password", "12345678").unwrap();
        assert_eq!(normalize_username("username", "  ann ").unwrap(), "ann");
        assert!(normalize_username("username", "a b").is_err());
        assert!(normalize_username("username", "   ").is_err());
        assert!(normalize_username("username", &"x".repeat(256)).is_err());
    }
}
