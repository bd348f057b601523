//! Binding listeners with errors that name the config key, and serving with graceful stop.

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use voxbin_core::shutdown::Token;

/// Binds `addr`; the error names the key so the operator knows what to change.
pub async fn bind(key: &str, addr: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} ({key}): {e}"))
}

/// Serves `app` until `stop` is cancelled, then lets requests in flight finish.
pub fn spawn(listener: TcpListener, app: Router, stop: Token) -> JoinHandle<()> {
    tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        if let Err(e) = axum::serve(listener, service)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
        {
            tracing::error!(error = %e, "server stopped with an error");
        }
    })
}
