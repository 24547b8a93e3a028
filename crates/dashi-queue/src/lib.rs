//! Jobs: putting work in the ledger and telling workers about it.
//!
//! [`JobQueue`] is what the application uses: it writes the job to the ledger (the truth, in
//! the metadata database) and then publishes its id through a [`Dispatcher`]. A dispatcher is
//! only a wake-up service: losing a message delays a job, never loses it, because workers also
//! scan the ledger. The embedded default is [`InProcessDispatcher`]; [`RedisDispatcher`] (Redis
//! Streams) serves the distributed mode through the same trait.

mod cancel;
mod dispatcher;
mod in_process;
mod redis;

pub use crate::redis::{REDELIVER_AFTER, RedisDispatcher};
pub use dispatcher::Dispatcher;
pub use in_process::InProcessDispatcher;

use std::sync::Arc;

use chrono::Utc;
use dashi_store::{Enqueued, Job, JobId, NewJob, Store};

/// The application's handle on the queue.
#[derive(Clone)]
pub struct JobQueue {
    store: Store,
    dispatcher: Arc<dyn Dispatcher>,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue").finish_non_exhaustive()
    }
}

impl JobQueue {
    pub fn new(store: Store, dispatcher: Arc<dyn Dispatcher>) -> JobQueue {
        JobQueue { store, dispatcher }
    }

    pub fn dispatcher(&self) -> &Arc<dyn Dispatcher> {
        &self.dispatcher
    }

    /// Records the job (or finds the active job doing the same work) and wakes a worker.
    pub async fn enqueue(&self, new: &NewJob) -> dashi_store::Result<Enqueued> {
        let enqueued = dashi_store::enqueue(&self.store, new, Utc::now()).await?;
        if enqueued.created {
            self.dispatcher.publish(&enqueued.job.queue, &enqueued.job.id).await;
        }
        Ok(enqueued)
    }

    /// Asks a job to stop; workers learn about it from the ledger (and a fast-path signal).
    pub async fn cancel(&self, id: &JobId) -> dashi_store::Result<Option<Job>> {
        let job = dashi_store::request_cancel(&self.store, id, Utc::now()).await?;
        if let Some(job) = &job {
            self.dispatcher.signal_cancel(&job.id).await;
        }
        Ok(job)
    }
}
