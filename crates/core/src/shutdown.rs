//! Coordinated graceful shutdown.
//!
//! One [`Shutdown`] per process. On SIGTERM or Ctrl-C it flips to draining at once (so
//! `/ready` answers 503 and new work is refused), then waits for tracked work in flight to
//! finish, up to the grace period. Servers stop accepting through [`Shutdown::draining_token`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A cancellation token, re-exported so servers need no direct tokio-util dependency.
pub type Token = CancellationToken;

/// Process-wide shutdown state, cheap to clone.
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    draining: AtomicBool,
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Shutdown {
    /// A new, running (not draining) state.
    pub fn new() -> Self {
        Self::default()
    }

    /// True once shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::Acquire)
    }

    /// Begins draining; idempotent.
    pub fn begin(&self) {
        if !self.inner.draining.swap(true, Ordering::AcqRel) {
            tracing::info!("shutdown: draining, refusing new work");
        }
        self.inner.token.cancel();
    }

    /// Cancelled when draining begins; servers use it to stop accepting.
    pub fn draining_token(&self) -> CancellationToken {
        self.inner.token.clone()
    }

    /// Tracks work that must finish before exit.
    pub fn tracker(&self) -> &TaskTracker {
        &self.inner.tracker
    }

    /// Waits for tracked work to finish; false when the grace period ran out first.
    pub async fn drain(&self, grace: Duration) -> bool {
        self.inner.tracker.close();
        tokio::time::timeout(grace, self.inner.tracker.wait())
            .await
            .is_ok()
    }

    /// Resolves on the first SIGTERM or Ctrl-C, then begins draining.
    pub async fn wait_for_signal(&self) {
        wait_signal().await;
        self.begin();
    }
}

#[cfg(unix)]
async fn wait_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("shutdown: SIGTERM received"),
                _ = tokio::signal::ctrl_c() => tracing::info!("shutdown: interrupt received"),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn drain_waits_for_tracked_work() {
        let s = Shutdown::new();
        let token = s.draining_token();
        s.tracker()
            .spawn(async { tokio::time::sleep(Duration::from_secs(2)).await });
        assert!(!s.is_draining());
        s.begin();
        assert!(s.is_draining());
        assert!(token.is_cancelled());
        assert!(s.drain(Duration::from_secs(5)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn drain_gives_up_after_grace() {
        let s = Shutdown::new();
        s.tracker()
            .spawn(async { tokio::time::sleep(Duration::from_secs(60)).await });
        s.begin();
        assert!(!s.drain(Duration::from_secs(1)).await);
    }
}
