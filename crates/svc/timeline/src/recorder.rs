//! The durable subscription that records every event with a subject into `timeline_events`.

use std::sync::Arc;

use async_trait::async_trait;
use voxbin_bus::{Event, EventHandler};
use voxbin_core::{clock, Result};
use voxbin_store::Db;

use crate::model::TimelineEvent;
use crate::store;

/// Most events stored in one statement: the events that waited while the last batch was
/// written (one write instead of one per event keeps the writer free under load).
const BATCH: usize = 64;

/// Stores each event once; events that name no resource or owner are skipped.
pub struct Recorder {
    /// The database.
    pub db: Arc<Db>,
}

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, event: Event) -> Result<()> {
        self.handle_batch(vec![event]).await
    }

    fn batch_size(&self) -> usize {
        BATCH
    }

    async fn handle_batch(&self, events: Vec<Event>) -> Result<()> {
        let now = clock::now();
        // events that name no resource or owner are not recorded
        let rows: Vec<TimelineEvent> = events
            .iter()
            .filter_map(|e| TimelineEvent::from_event(e, uuid::Uuid::now_v7(), now.clone()))
            .collect();
        let stored = store::insert_many(&self.db, &rows).await?;
        if stored < rows.len() as u64 {
            tracing::debug!(
                events = rows.len(),
                stored,
                "events seen before; recorded once"
            );
        }
        Ok(())
    }
}
