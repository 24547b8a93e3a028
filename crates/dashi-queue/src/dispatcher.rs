//! The seam between the ledger and whatever wakes workers up.

use std::time::Duration;

use dashi_store::JobId;

/// Carries job ids from enqueuers to workers. Implementations may lose messages (Redis can be
/// flushed); they must never be the only record of a job.
#[async_trait::async_trait]
pub trait Dispatcher: Send + Sync {
    /// Announces a new job on `queue`. Best effort: failures are logged, not returned, because
    /// the job is already safe in the ledger.
    async fn publish(&self, queue: &str, id: &JobId);

    /// Waits up to `timeout` for work on any of `queues` and returns candidate job ids, oldest
    /// first. Candidates may already be taken: the caller claims each in the ledger.
    async fn wait_for_work(&self, queues: &[&str], max: usize, timeout: Duration) -> Vec<JobId>;

    /// Tells the worker running `id` to look at its cancel flag now instead of at its next poll.
    async fn signal_cancel(&self, id: &JobId);

    /// Resolves when a cancel was signalled for `id` (or never, if the dispatcher has no fast
    /// path); workers also poll the ledger, so this only shortens the delay.
    async fn cancel_signalled(&self, id: &JobId);
}
