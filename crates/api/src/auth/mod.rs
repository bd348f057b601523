//! Who is calling: credentials are looked up where VoIPBIN looks for them (cookie `token`,
//! query `token`, `Authorization: Bearer`, then `accesskey` cookie or query) and turned into
//! an [`Identity`]. Login tokens are checked against the agent's current record on every
//! request (through the cache), so a password change or logout takes effect at once.

mod extract;
pub mod identity;
pub mod jwt;
mod lookup;
mod verify;

pub use identity::{Identity, Permission, Via};
pub use lookup::{find_credential, Credential};
pub use verify::{accesskey_cache_key, agent_cache_key, Authenticator};
