//! The operator endpoints every process serves: `/health`, `/ready` and `/metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use voxbin_core::shutdown::Shutdown;
use voxbin_services::Deps;

/// How long one dependency check may take before it counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_millis(1000);

/// What `/ready` looks at: dependencies once they are open, and the draining flag.
#[derive(Clone)]
pub struct Readiness {
    deps: Arc<OnceLock<Deps>>,
    shutdown: Shutdown,
}

impl Readiness {
    /// Not ready until [`Readiness::set_deps`] is called.
    pub fn new(shutdown: Shutdown) -> Self {
        Readiness {
            deps: Arc::new(OnceLock::new()),
            shutdown,
        }
    }

    /// Records the opened dependencies; from now on `/ready` checks them.
    pub fn set_deps(&self, deps: Deps) {
        let _ = self.deps.set(deps);
    }
}

/// Routes of the health listener.
pub fn health_app(readiness: Readiness) -> Router {
    Router::new()
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/ready", get(ready))
        .with_state(readiness)
}

/// Routes of the metrics listener.
pub fn metrics_app() -> Router {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        voxbin_core::telemetry::metrics().render(),
    )
}

async fn ready(State(r): State<Readiness>) -> impl IntoResponse {
    if r.shutdown.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "draining" })),
        );
    }
    let Some(deps) = r.deps.get() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "starting" })),
        );
    };
    let (db, readers_down, bus, cache) = tokio::join!(
        check(deps.db.ping_writer()),
        tokio::time::timeout(CHECK_TIMEOUT, deps.db.readers_down()),
        check(deps.bus.ping()),
        check(deps.cache.ping()),
    );
    let readers = match readers_down {
        Ok(down) if down.is_empty() => None,
        Ok(down) => Some(down.join("; ")),
        Err(_) => Some("read replicas did not answer in time".to_owned()),
    };
    // Cache and read replicas are optimisations: without them requests read the writer, so
    // their loss degrades but keeps the process in service (else one outage empties every pool).
    let ok = db.is_none() && bus.is_none();
    let status_text = match (ok, cache.is_none() && readers.is_none()) {
        (true, true) => "ready",
        (true, false) => "degraded",
        (false, _) => "unavailable",
    };
    let show = |e: Option<String>| e.unwrap_or_else(|| "ok".into());
    let body = json!({
        "status": status_text,
        "checks": {
            "database": show(db),
            "database_readers": show(readers),
            "bus": show(bus),
            "cache": show(cache),
        },
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// `None` when the check passed, else why it failed.
async fn check(f: impl std::future::Future<Output = voxbin_core::Result<()>>) -> Option<String> {
    match tokio::time::timeout(CHECK_TIMEOUT, f).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.message),
        Err(_) => Some("timed out".into()),
    }
}
