//! The certificate for SIP over TLS (5061) and secure WebSocket, read from PEM files.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use voxbin_core::{Error, Result};

/// A TLS server configuration from a PEM certificate chain and private key.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        Error::invalid_argument("SIP_TLS", format!("{what}: {e}"))
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(&format!("cannot read {}", cert.display()), &e))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad(&format!("bad certificate in {}", cert.display()), &e))?;
    if chain.is_empty() {
        return Err(bad(
            &cert.display().to_string(),
            &"no certificate in the file",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| bad(&format!("cannot read the key {}", key.display()), &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("TLS versions", &e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| bad("certificate and key do not fit", &e))?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_empty_files_are_clear_errors() {
        let dir = std::env::temp_dir().join(format!("sipedge-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let e = server_config(&dir.join("nope.pem"), &empty).unwrap_err();
        assert!(e.message.contains("nope.pem"), "{}", e.message);
        let e = server_config(&empty, &empty).unwrap_err();
        assert!(e.message.contains("no certificate"), "{}", e.message);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
