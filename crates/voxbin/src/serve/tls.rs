//! HTTPS for the API role: the configured certificate, or a self-signed one generated once
//! under `<data_dir>/tls/` for the embedded default (kept, so clients can pin it).

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::task::JoinHandle;
use voxbin_core::config::Config;
use voxbin_core::shutdown::Token;

/// Where the certificate and key come from, for the banner.
pub struct TlsFiles {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// True when Voxbin generated them.
    pub self_signed: bool,
}

/// The certificate files to use, generating a self-signed pair when none is configured.
pub fn files(config: &Config) -> Result<TlsFiles, String> {
    if !config.api.tls_cert.is_empty() {
        return Ok(TlsFiles {
            cert: config.api.tls_cert.clone().into(),
            key: config.api.tls_key.clone().into(),
            self_signed: false,
        });
    }
    let dir = Path::new(&config.data_dir).join("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if !cert.exists() || !key.exists() {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        let generated = rcgen::generate_simple_self_signed(names)
            .map_err(|e| format!("cannot generate a self-signed certificate: {e}"))?;
        std::fs::write(&cert, generated.cert.pem())
            .map_err(|e| format!("cannot write {}: {e}", cert.display()))?;
        write_private(&key, &generated.signing_key.serialize_pem())?;
    }
    Ok(TlsFiles {
        cert,
        key,
        self_signed: true,
    })
}

#[cfg(unix)]
fn write_private(path: &Path, pem: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(pem.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(not(unix))]
fn write_private(path: &Path, pem: &str) -> Result<(), String> {
    std::fs::write(path, pem).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Binds `addr` and serves `app` over TLS until `stop`, then drains for up to `grace`.
pub async fn spawn(
    addr: &str,
    files: &TlsFiles,
    app: Router,
    stop: Token,
    grace: Duration,
) -> Result<JoinHandle<()>, String> {
    // One process-wide crypto provider; a second install is a harmless no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .map_err(|e| {
            format!(
                "api.tls_cert/api.tls_key: cannot load {}: {e}",
                files.cert.display()
            )
        })?;
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| format!("cannot listen on {addr} (api.tls_listen): {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        h.graceful_shutdown(Some(grace));
    });
    let server = axum_server::from_tcp_rustls(listener, tls).handle(handle);
    Ok(tokio::spawn(async move {
        if let Err(e) = server
            .serve(app.into_make_service_with_connect_info::<SocketAddr>())
            .await
        {
            tracing::error!(error = %e, "HTTPS server stopped with an error");
        }
    }))
}
