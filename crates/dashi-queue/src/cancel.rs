//! Cancel signals for jobs running in this process: the fast path shared by every dispatcher.
//! Workers also poll the ledger's cancel flag, so a signal that never arrives only adds delay.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use dashi_store::JobId;
use tokio::sync::Notify;

/// Waiters for cancel signals, one per running job.
#[derive(Default)]
pub(crate) struct LocalCancels {
    waiters: Mutex<HashMap<JobId, Arc<Notify>>>,
}

impl LocalCancels {
    fn waiters(&self) -> MutexGuard<'_, HashMap<JobId, Arc<Notify>>> {
        self.waiters.lock().expect("the cancel map is never poisoned: nothing panics while holding it")
    }

    /// Wakes the waiter of `id`, if that job runs in this process.
    pub(crate) fn signal(&self, id: &JobId) {
        if let Some(notify) = self.waiters().get(id) {
            notify.notify_one();
        }
    }

    /// Resolves when `id` is signalled.
    pub(crate) async fn wait(&self, id: &JobId) {
        let notify = self.waiters().entry(id.clone()).or_insert_with(|| Arc::new(Notify::new())).clone();
        let _waiter = Waiter { cancels: self, id: id.clone() };
        notify.notified().await;
    }
}

/// Removes a job's waiter when the waiting future ends or is dropped (the job finished).
struct Waiter<'a> {
    cancels: &'a LocalCancels,
    id: JobId,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.cancels.waiters().remove(&self.id);
    }
}
