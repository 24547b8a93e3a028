//! The `prune_events` job: the audit log's retention. Redash keeps events forever (its issue
//! #7660: 94 GB after five years); this deletes the expired ones in batches, so no statement
//! holds a long lock.

use chrono::Utc;
use dashi_core::PruneEventsPayload;
use dashi_store::Store;
use tracing::info;

/// Batches per run; what is left waits for the next run.
const MAX_BATCHES: usize = 100;

pub(crate) async fn prune_events(store: &Store, payload: &PruneEventsPayload) -> Result<(), String> {
    let before = Utc::now() - chrono::Duration::days(payload.max_age_days.max(1));
    let batch = payload.batch.max(1);
    let mut deleted = 0;
    for _ in 0..MAX_BATCHES {
        let gone = dashi_store::prune_events(store, before, batch)
            .await
            .map_err(|error| format!("Could not delete events: {error}"))?;
        deleted += gone;
        if gone < batch as u64 {
            break;
        }
    }
    info!(deleted, max_age_days = payload.max_age_days, "old events deleted");
    Ok(())
}
