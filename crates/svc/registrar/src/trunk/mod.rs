//! Trunks: PBXs and carriers that send calls to `<domain_name>.trunk.<sip.domain>`,
//! authenticated by digest (`basic`), by source address (`ip`), or both.

pub mod handlers;
pub mod model;
pub mod store;
#[cfg(test)]
mod tests;
