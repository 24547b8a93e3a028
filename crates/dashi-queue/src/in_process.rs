//! The embedded dispatcher: one process, no Redis. Workers sleep on a notification and scan
//! the ledger when woken (or every `timeout`), so nothing lives only in memory.

use std::time::Duration;

use chrono::Utc;
use dashi_store::{JobId, Store};
use tokio::sync::Notify;

use crate::cancel::LocalCancels;

/// Wake-ups within one process; the ledger holds the jobs.
pub struct InProcessDispatcher {
    store: Store,
    work: Notify,
    cancels: LocalCancels,
}

impl InProcessDispatcher {
    pub fn new(store: Store) -> InProcessDispatcher {
        InProcessDispatcher { store, work: Notify::new(), cancels: LocalCancels::default() }
    }
}

#[async_trait::async_trait]
impl super::Dispatcher for InProcessDispatcher {
    async fn publish(&self, _queue: &str, _id: &JobId) {
        self.work.notify_waiters();
    }

    async fn wake(&self, _queue: &str) {
        self.work.notify_waiters();
    }

    async fn wait_for_work(&self, queues: &[&str], max: usize, timeout: Duration) -> Vec<JobId> {
        let woken = self.work.notified();
        match dashi_store::due_job_ids(&self.store, queues, Utc::now(), max as i64).await {
            Ok(ids) if !ids.is_empty() => return ids,
            Ok(_) => {}
            Err(error) => tracing::warn!(error = &error as &dyn std::error::Error, "could not scan the job ledger"),
        }
        let _ = tokio::time::timeout(timeout, woken).await;
        dashi_store::due_job_ids(&self.store, queues, Utc::now(), max as i64).await.unwrap_or_default()
    }

    async fn signal_cancel(&self, id: &JobId) {
        // Only a job that is running here has a waiter; anything else learns from the ledger.
        self.cancels.signal(id);
    }

    async fn cancel_signalled(&self, id: &JobId) {
        self.cancels.wait(id).await;
    }
}
