//! The handle of a running consumer (an RPC server or a subscription).
//!
//! Holding it keeps the consumer alive; dropping it or calling [`Consumer::stop`] stops taking
//! new messages while messages already taken finish. [`Consumer::shutdown`] also waits for them,
//! which is what a draining service wants.

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A running consumer; stops consuming when stopped or dropped.
#[derive(Debug, Default)]
pub struct Consumer {
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl Consumer {
    /// A fresh consumer handle, for bus adapters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancelled when the consumer is stopped; adapters stop taking messages then.
    pub fn token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Tracks the consumer's in-flight work; adapters spawn handler tasks on it.
    pub fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    /// Stops taking new messages; in-flight ones still complete.
    pub fn stop(&self) {
        self.cancel.cancel();
        self.tracker.close();
    }

    /// Whether the consumer was stopped.
    pub fn is_stopped(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Stops taking new messages and waits until in-flight ones have completed.
    pub async fn shutdown(self) {
        self.stop();
        self.tracker.wait().await;
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.stop();
    }
}
