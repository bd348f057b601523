//! The JWT signing secret: from configuration, or generated once and kept in the database so
//! every API replica and every restart signs and checks with the same key.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use rand::RngCore;
use voxbin_core::config::Config;
use voxbin_store::Db;

const SETTING: &str = "auth.jwt_secret";

/// The secret bytes to sign login tokens with.
pub async fn jwt_secret(config: &Config, db: &Db) -> Result<Vec<u8>, String> {
    if !config.auth.jwt_secret.is_empty() {
        return Ok(config.auth.jwt_secret.as_bytes().to_vec());
    }
    let read = |e: voxbin_core::Error| format!("cannot read the JWT secret: {}", e.message);
    if let Some(s) = db.get_setting(SETTING).await.map_err(read)? {
        return STANDARD_NO_PAD
            .decode(s)
            .map_err(|e| format!("stored JWT secret is corrupt: {e}"));
    }
    let mut bytes = vec![0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    db.put_setting(SETTING, &STANDARD_NO_PAD.encode(&bytes))
        .await
        .map_err(read)?;
    // Another replica may have written its own first; everyone uses the stored one.
    match db.get_setting(SETTING).await.map_err(read)? {
        Some(s) => STANDARD_NO_PAD
            .decode(s)
            .map_err(|e| format!("stored JWT secret is corrupt: {e}")),
        None => Ok(bytes),
    }
}
