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

    /// Says that `queue` may have work in the ledger that no message announces (jobs of a dead
    /// worker were put back): some worker should scan the ledger soon. Best effort, like publish.
    async fn wake(&self, queue: &str);

    /// Waits up to `timeout` for work on any of `queues` and returns candidate job ids, oldest
    /// first. Candidates may already be taken: the caller claims each in the ledger, then
    /// [`settle`](Dispatcher::settle)s it.
    async fn wait_for_work(&self, queues: &[&str], max: usize, timeout: Duration) -> Vec<JobId>;

    /// Says the caller is done with a candidate from `wait_for_work`: it claimed it, or the
    /// ledger said it is taken, finished or parked. A candidate that is never settled (its worker
    /// died, or the ledger could not be reached) is offered again later, to any worker.
    async fn settle(&self, _id: &JobId) {}

    /// The worker is stopping: give back candidates it took but did not settle, and forget this
    /// consumer. Called once, after the last `wait_for_work`.
    async fn leave(&self) {}

    /// Tells the worker running `id` to look at its cancel flag now instead of at its next poll.
    async fn signal_cancel(&self, id: &JobId);

    /// Resolves when a cancel was signalled for `id` (or never, if the dispatcher has no fast
    /// path); workers also poll the ledger, so this only shortens the delay.
    async fn cancel_signalled(&self, id: &JobId);
}
