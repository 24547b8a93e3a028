//! The embedded dispatcher: one process, no Redis. Workers sleep on a notification and scan
//! the ledger when woken (or every `timeout`), so nothing lives only in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use dashi_store::{JobId, Store};
use tokio::sync::Notify;

/// Wake-ups within one process; the ledger holds the jobs.
pub struct InProcessDispatcher {
    store: Store,
    work: Notify,
    cancels: Mutex<HashMap<JobId, Arc<Notify>>>,
}

impl InProcessDispatcher {
    pub fn new(store: Store) -> InProcessDispatcher {
        InProcessDispatcher { store, work: Notify::new(), cancels: Mutex::new(HashMap::new()) }
    }

    fn cancels(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, Arc<Notify>>> {
        self.cancels.lock().expect("the cancel map is never poisoned: nothing panics while holding it")
    }
}

/// Removes a job's cancel waiter when the waiting future ends or is dropped (the job finished).
struct Waiter<'a> {
    dispatcher: &'a InProcessDispatcher,
    id: JobId,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.dispatcher.cancels().remove(&self.id);
    }
}

#[async_trait::async_trait]
impl super::Dispatcher for InProcessDispatcher {
    async fn publish(&self, _queue: &str, _id: &JobId) {
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
        if let Some(notify) = self.cancels().get(id) {
            notify.notify_one();
        }
    }

    async fn cancel_signalled(&self, id: &JobId) {
        let notify = self.cancels().entry(id.clone()).or_insert_with(|| Arc::new(Notify::new())).clone();
        let _waiter = Waiter { dispatcher: self, id: id.clone() };
        notify.notified().await;
    }
}
