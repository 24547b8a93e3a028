//! The `cleanup_results` job: deletes results no query points at once they are old enough, and
//! blobs no result row names (left by a crash between the two deletes).
//!
//! Rows go first, blobs after: a crash in between leaves an orphan blob for the sweep, never a
//! row pointing at nothing.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use dashi_core::CleanupResultsPayload;
use dashi_store::Store;
use tracing::info;

use crate::execution::Execution;

/// Blobs younger than this are never swept: their row may still be on its way.
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(24 * 3600);

pub(crate) async fn cleanup_results(store: &Store, execution: &Execution, payload: &CleanupResultsPayload) -> Result<(), String> {
    let before = Utc::now() - chrono::Duration::days(payload.max_age_days.max(0));
    let unused = dashi_store::unused_query_results(store, before, payload.batch.max(1))
        .await
        .map_err(|error| format!("Could not list unused results: {error}"))?;
    let ids: Vec<i64> = unused.iter().map(|(id, _)| *id).collect();
    dashi_store::delete_query_results(store, &ids).await.map_err(|error| format!("Could not delete results: {error}"))?;
    for location in unused.iter().filter_map(|(_, location)| location.as_deref()) {
        execution.results.delete(location).await.map_err(|error| format!("Could not delete a result blob: {error}"))?;
    }
    let referenced: HashSet<String> = dashi_store::referenced_locations(store)
        .await
        .map_err(|error| format!("Could not list referenced results: {error}"))?
        .into_iter()
        .collect();
    let sweep = execution
        .results
        .sweep_orphans(&referenced, ORPHAN_MIN_AGE)
        .await
        .map_err(|error| format!("Could not sweep orphaned result blobs: {error}"))?;
    info!(deleted = ids.len(), orphans_deleted = sweep.deleted, "results cleaned up");
    Ok(())
}
